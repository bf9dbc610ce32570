#!/usr/bin/env bash
# The README's two commands: `./quickstart.sh demo` and `./quickstart.sh test`.
# Each sets up .venv on first use (and again when pyproject.toml changes), then runs.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
# The CPU build of torch 2.13 is what CI uses; set TORCH_SPEC to install another build or version.
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}

setup() {
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || { echo "neuraltypes needs Python 3.11 or newer ($PYTHON is $("$PYTHON" --version))" >&2; exit 2; }
    [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
    local stamp=.venv/.neuraltypes-installed want
    want=$(sha256sum pyproject.toml | cut -d' ' -f1)
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        local started=$SECONDS torch=""
        .venv/bin/python -c 'import torch' 2>/dev/null || torch="$TORCH_SPEC and "
        if [ -e "$stamp" ]; then
            echo "Updating .venv (pyproject.toml changed): installing ${torch}neuraltypes[dev], usually under a minute."
        else
            echo "Setting up .venv, once: installing ${torch}neuraltypes[dev] (mypy, Lightning, pytest, ruff, basedpyright)."
            echo "About 1-2 minutes on 2 cores (more if pip must download torch); pip prints nothing meanwhile."
        fi
        echo "  - pip (upgrade)"
        .venv/bin/python -m pip install -q --upgrade pip
        if [ -n "$torch" ]; then
            echo "  - $TORCH_SPEC"
            .venv/bin/python -m pip install -q "$TORCH_SPEC"
        fi
        echo "  - neuraltypes[dev], editable: pip install -e \".[dev]\""
        .venv/bin/python -m pip install -q -e ".[dev]"
        echo "$want" > "$stamp"
        echo ".venv ready ($((SECONDS - started)) s)."
    fi
}

case "${1:-}" in
    demo)
        setup
        shift
        .venv/bin/python -m neuraltypes_modules.demo "$@"
        echo
        exec .venv/bin/python -m neuraltypes_modules.check_wiring
        ;;
    test)
        setup
        shift
        export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
        echo "== ruff"; .venv/bin/ruff check . && .venv/bin/ruff format --check .
        echo "== mypy (strict, with the neuraltypes plugin)"; .venv/bin/mypy
        echo "== pytest (the whole suite: about 5-10 minutes on 2 cores)"
        # pytest exits 5 when no test ran; that is a failure here too.
        .venv/bin/python -m pytest "$@"
        ;;
    *)
        echo "usage: ./quickstart.sh demo | test [pytest args]" >&2
        exit 2
        ;;
esac
