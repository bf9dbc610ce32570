"""The mypy plugin's matcher and the run-time explainer give the same verdict on the same call.

Both apply the core's rules (``AxisLayout`` for where declared axes lie, ``SizeBindings`` for size variables,
``NeuralType.compare`` for kinds); this test holds them to it. Every pair of declarations from a small pool is
fed every pair of arguments of rank 0 to 2 whose axes are each of kind B, T or D and of size 1 or 2: to the
plugin as the spelling mypy would have inferred (``B:2 D:1``, dtype ``float32``), to the run time as a tensor of
that shape tagged with those kinds. Where the plugin knows every size, the two must agree; where it knows none,
a call it rejects must be one the run time rejects (it may only miss errors, never invent them), with one
exception by design: an axis whose size nothing fixed facing a declared fixed size (``D`` where ``D:2`` is
declared) is a static error, as ``int`` is where ``Literal[2]`` is declared, though the run time may find 2.

Size expressions (``T-1``) are left out: the plugin does not evaluate them at call sites (the run time does).
"""

from __future__ import annotations

import itertools
from typing import Any, cast

import pytest
import torch
from torch import Tensor

from neuraltypes import NT, NeuralType
from neuraltypes.runtime import set_tag
from neuraltypes.runtime._beartype_bridge import DEFAULT_CONF
from neuraltypes.runtime._explain import Explainer, Mismatch
from neuraltypes.runtime._specs import build_spec
from neuraltypes_mypy_plugin._carrier import TensorView
from neuraltypes_mypy_plugin._matching import CallBindings, check_argument

DECLARED: list[tuple[str, str | None]] = [
    ("B D", None),
    ("#b D", None),
    ("*batch D", None),
    ("B ... D", None),
    ("T", "float"),
    ("D:2 B", None),
    ("B T", "int64"),
    ("T B", None),
]
KINDS = ("B", "T", "D")
ARGUMENTS: list[tuple[tuple[str, ...], tuple[int, ...]]] = [
    (kinds, sizes)
    for rank in range(3)
    for kinds in itertools.product(KINDS, repeat=rank)
    for sizes in itertools.product((1, 2), repeat=rank)
]


def _plugin_rejects(declared: list[tuple[str, str | None]], found: list[tuple[str, str]]) -> bool:
    bindings = CallBindings()
    info = cast(Any, None)  # the matcher reads no class information for axes and dtypes
    for index, ((axes, dtype), (spelling, found_dtype)) in enumerate(zip(declared, found, strict=True)):
        want = TensorView(info, axes, None, dtype)
        have = TensorView(info, spelling, None, found_dtype)
        if check_argument(f"a{index}", want, have, bindings) is not None:
            return True
    return False


def _runtime_rejects(declared: list[tuple[str, str | None]], values: list[torch.Tensor]) -> bool:
    explainer = Explainer(DEFAULT_CONF)
    try:
        for index, ((axes, dtype), value) in enumerate(zip(declared, values, strict=True)):
            hint = NT[Tensor, axes] if dtype is None else NT[Tensor, axes, dtype]
            explainer.check(build_spec(hint), value, f"parameter 'a{index}'")
        explainer.finish()
    except Mismatch:
        return True
    return False


def _tensor(kinds: tuple[str, ...], sizes: tuple[int, ...]) -> torch.Tensor:
    value = torch.zeros(sizes)
    set_tag(value, NeuralType(kinds))
    return value


def _spelling(kinds: tuple[str, ...], sizes: tuple[int, ...] | None) -> str:
    if sizes is None:
        return " ".join(kinds)
    return " ".join(f"{kind}:{size}" for kind, size in zip(kinds, sizes, strict=True))


@pytest.mark.parametrize("first", DECLARED, ids=[axes for axes, _ in DECLARED])
def test_the_plugin_and_the_run_time_agree_where_the_plugin_knows_every_size(first: tuple[str, str | None]) -> None:
    disagreements: list[str] = []
    for second in DECLARED:
        declared = [first, second]
        for (kinds_a, sizes_a), (kinds_b, sizes_b) in itertools.product(ARGUMENTS, repeat=2):
            plugin = _plugin_rejects(
                declared, [(_spelling(kinds_a, sizes_a), "float32"), (_spelling(kinds_b, sizes_b), "float32")]
            )
            runtime = _runtime_rejects(declared, [_tensor(kinds_a, sizes_a), _tensor(kinds_b, sizes_b)])
            if plugin != runtime:
                disagreements.append(
                    f"{declared} with {_spelling(kinds_a, sizes_a)!r}, {_spelling(kinds_b, sizes_b)!r}: "
                    f"plugin {'rejects' if plugin else 'accepts'}, run time {'rejects' if runtime else 'accepts'}"
                )
    assert disagreements == [], "\n".join(disagreements[:20])


@pytest.mark.parametrize("first", DECLARED, ids=[axes for axes, _ in DECLARED])
def test_what_the_plugin_rejects_without_sizes_the_run_time_rejects(first: tuple[str, str | None]) -> None:
    invented: list[str] = []
    for second in DECLARED:
        declared = [first, second]
        if any(":" in axes for axes, _ in declared):
            continue  # a fixed size declared: unsized arguments are refused by design (see the module's note)
        for (kinds_a, sizes_a), (kinds_b, sizes_b) in itertools.product(ARGUMENTS, repeat=2):
            found = [(_spelling(kinds_a, None), "float32"), (_spelling(kinds_b, None), "float32")]
            if _plugin_rejects(declared, found) and not _runtime_rejects(
                declared, [_tensor(kinds_a, sizes_a), _tensor(kinds_b, sizes_b)]
            ):
                invented.append(f"{declared} with {found}: shapes {sizes_a}, {sizes_b}")
    assert invented == [], "\n".join(invented[:20])


def test_an_unsized_axis_where_a_size_is_fixed_is_a_static_error_only() -> None:
    declared = [("D:2 B", None)]
    assert _plugin_rejects(declared, [("D B", "float32")])
    assert not _runtime_rejects(declared, [_tensor(("D", "B"), (2, 1))])


def test_the_pool_reaches_every_verdict() -> None:
    """The comparison is not vacuous: both verdicts occur, and for each reason (kinds, rank, fixed size, size
    clash, broadcast, dtype) there is a call the two reject together."""
    cases = {
        "kinds": ([("B D", None)], [(("T", "D"), (2, 2))]),
        "rank": ([("B D", None)], [(("B",), (2,))]),
        "fixed size": ([("D:2 B", None)], [(("D", "B"), (1, 2))]),
        "size clash": ([("B D", None), ("B T", "int64")], [(("B", "D"), (2, 1)), (("B", "T"), (1, 1))]),
        "broadcast clash": ([("B D", None), ("#b D", None)], [(("B", "D"), (2, 1)), (("B", "D"), (2, 2))]),
        "dtype": ([("B T", "int64")], [(("B", "T"), (1, 1))]),
    }
    for reason, (declared, arguments) in cases.items():
        found = [(_spelling(kinds, sizes), "float32") for kinds, sizes in arguments]
        values = [_tensor(kinds, sizes) for kinds, sizes in arguments]
        assert _plugin_rejects(declared, found), reason
        assert _runtime_rejects(declared, values), reason
    broadcast = [("#b D", None), ("#b D", None)]
    arguments = [(("B", "D"), (1, 2)), (("B", "D"), (2, 2))]
    assert not _plugin_rejects(broadcast, [(_spelling(k, s), "float32") for k, s in arguments])
    assert not _runtime_rejects(broadcast, [_tensor(k, s) for k, s in arguments])
