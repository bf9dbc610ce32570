"""Where the run-time check's cost goes in case (b), one kind of check at a time, measured interleaved.

    python benchmarks/runtime_breakdown.py              # about 40 s
    python benchmarks/runtime_breakdown.py --compiled   # also a C++ check built with torch's extension tools

Case (b) of ``runtime_overhead.py``: a ``Linear(32,32)+ReLU`` forward on 8x16x32. Each "+" variant is a
hand-written forward that adds one kind of check to the one before, written the way ``@typecheck`` writes
them; the last equals what ``@typecheck`` generates for the benchmark's annotations (the "neuraltypes" row is
the real thing, for comparison). ``--compiled`` adds a forward whose argument checks (class, rank, size, dtype)
and result shape check are one C++ call each, reading the tensor's metadata without the Python getters; it
needs a C++ compiler and builds in about half a minute.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Callable
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch
from runtime_overhead import BlockChecked, BlockPlain, _against, _measure

from neuraltypes.runtime._switches import current_level

_FLOATS = (torch.float32, torch.float16, torch.bfloat16, torch.float64)


def _lines(*lines: str) -> str:
    """Check lines at the depth of the template's ``if on:`` blocks."""
    return "".join(f"        {line}\n" for line in lines)


def _tag_read(v: str) -> str:
    return _lines(
        "if on is True:", f"    g = getattr({v}, 'neural_type', None)", "    if g is not None: raise TypeError"
    )


# (name, lines added to the argument checks, lines added to the result checks); the last row is the full check.
_STEPS: list[tuple[str, str, str]] = [
    ("switch read", "", ""),
    (
        "+ argument shape, rank, size",
        _lines("s = x.shape", "if len(s) != 3: raise TypeError", "if s[2] != 32: raise TypeError"),
        "",
    ),
    ("+ result shape", "", _lines("if r.shape != s: raise TypeError")),
    (
        "+ isinstance, both",
        _lines("if not isinstance(x, Tensor): raise TypeError"),
        _lines("if not isinstance(r, Tensor): raise TypeError"),
    ),
    ("+ dtype", _lines("if x.dtype not in FLOATS: raise TypeError"), ""),
    ("+ tag reads, both (full check)", _tag_read("x"), _tag_read("r")),
]

_TEMPLATE = """
def forward(self, x):
    on = level()
    if on:
{arguments}        pass
    r = torch.relu(self.linear(x))
    if on:
{result}        pass
    return r
"""

_COMPILED_SOURCE = r"""
#include <Python.h>
#include <torch/csrc/Dtype.h>
#include <torch/csrc/autograd/python_variable.h>

// arguments_ok(x, rank, dim, size, dtypes): class, rank, one fixed size and the dtype family, in one call.
static PyObject* arguments_ok(PyObject*, PyObject* const* args, Py_ssize_t) {
  if (!THPVariable_Check(args[0])) Py_RETURN_FALSE;
  const at::Tensor& t = THPVariable_Unpack(args[0]);
  if (t.dim() != PyLong_AsLong(args[1]) || t.sizes()[PyLong_AsLong(args[2])] != PyLong_AsLong(args[3])) Py_RETURN_FALSE;
  PyObject* dtype = (PyObject*)torch::getTHPDtype(t.scalar_type());
  for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(args[4]); i++) if (PyTuple_GET_ITEM(args[4], i) == dtype) Py_RETURN_TRUE;
  Py_RETURN_FALSE;
}
// same_shape(r, x): r is a tensor of x's shape.
static PyObject* same_shape(PyObject*, PyObject* const* args, Py_ssize_t) {
  if (!THPVariable_Check(args[0])) Py_RETURN_FALSE;
  if (THPVariable_Unpack(args[0]).sizes() == THPVariable_Unpack(args[1]).sizes()) Py_RETURN_TRUE;
  Py_RETURN_FALSE;
}
static PyMethodDef methods[] = {
    {"arguments_ok", (PyCFunction)(void (*)(void))arguments_ok, METH_FASTCALL, nullptr},
    {"same_shape", (PyCFunction)(void (*)(void))same_shape, METH_FASTCALL, nullptr},
    {nullptr, nullptr, 0, nullptr}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "neuraltypes_breakdown_check", nullptr, -1, methods};
PyMODINIT_FUNC PyInit_neuraltypes_breakdown_check(void) { return PyModule_Create(&module); }
"""

_COMPILED_FORWARD = """
def forward(self, x):
    on = level()
    if on:
        if not arguments_ok(x, 3, 2, 32, FLOATS): raise TypeError
        if on is True:
            g = getattr(x, 'neural_type', None)
            if g is not None: raise TypeError
    r = torch.relu(self.linear(x))
    if on:
        if not same_shape(r, x): raise TypeError
        if on is True:
            g = getattr(r, 'neural_type', None)
            if g is not None: raise TypeError
    return r
"""


def _module(name: str, source: str, names: dict[str, Any]) -> BlockPlain:
    namespace: dict[str, Any] = {"torch": torch, "Tensor": torch.Tensor, "FLOATS": _FLOATS, "level": current_level}
    namespace.update(names)
    exec(compile(source, f"<breakdown: {name}>", "exec"), namespace)
    module: BlockPlain = type(name, (BlockPlain,), {"forward": namespace["forward"]})()
    return module


def _variants(compiled: bool) -> dict[str, Callable[[], Any]]:
    features = torch.randn(8, 16, 32)
    plain, checked = BlockPlain(), BlockChecked()
    modules: dict[str, BlockPlain] = {"neuraltypes": checked}
    arguments, result = "", ""
    for name, more_arguments, more_result in _STEPS:
        arguments, result = arguments + more_arguments, result + more_result
        modules[name] = _module(name, _TEMPLATE.format(arguments=arguments, result=result), {})
    if compiled:
        modules["compiled class, rank, size, dtype, shape"] = _module("compiled", _COMPILED_FORWARD, _build())
    variants: dict[str, Callable[[], Any]] = {"plain": lambda: plain(features)}
    for name, module in modules.items():
        module.linear = plain.linear  # one Linear: the weights' place in memory alone moves the forward
        variants[name] = (lambda m: lambda: m(features))(module)
    return variants


def _build() -> dict[str, Any]:
    from torch.utils.cpp_extension import load

    directory = tempfile.mkdtemp(prefix="neuraltypes-breakdown-")
    source = os.path.join(directory, "check.cpp")
    with open(source, "w") as file:
        file.write(_COMPILED_SOURCE)
    extension = load("neuraltypes_breakdown_check", [source], build_directory=directory, verbose=False)
    return {"arguments_ok": extension.arguments_ok, "same_shape": extension.same_shape}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--compiled", action="store_true", help="add a C++ check (needs a compiler)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    variants = _variants(args.compiled)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"torch {torch.__version__}, 1 thread, {args.rounds} interleaved rounds, load average {load:.2f}")
    print("case (b), Linear(32,32)+ReLU forward, 8x16x32; each '+' row adds to the row above it")
    print(f"  {'variant':42} {'ratio':>7} {'[95% interval]':>16} {'added':>9}")
    for name, r in _against(_measure(variants, args.rounds, 50), "plain").items():
        print(f"  {name:42} {r.ratio:6.3f}x [{r.low:6.3f}, {r.high:6.3f}] {r.added * 1e6:+7.2f}us")


if __name__ == "__main__":
    main()
