"""The plugin's error codes: ``neural-type`` and one sub-code per kind of diagnostic.

``# type: ignore[neural-type]`` and ``disable_error_code = neural-type`` cover every kind;
``# type: ignore[neural-type-size]`` and ``disable_error_code = neural-type-size`` one. Imported when the plugin
loads (it imports mypy only): mypy validates the codes named in its configuration right after loading plugins,
before any hook brings in the checker.
"""

from __future__ import annotations

from mypy.errorcodes import ErrorCode

NEURAL_TYPE = ErrorCode("neural-type", "Check neural types of tensors (axes, element types, sizes)", "General")

ANNOTATION = ErrorCode(
    "neural-type-annotation", "An NT[...] annotation the plugin cannot read", "General", sub_code_of=NEURAL_TYPE
)
ARGUMENT = ErrorCode(
    "neural-type-argument",
    "An argument whose neural type (axes, element type, dtype) does not fit its parameter",
    "General",
    sub_code_of=NEURAL_TYPE,
)
SIZE = ErrorCode(
    "neural-type-size",
    "Arguments of one call that give one size variable different sizes",
    "General",
    sub_code_of=NEURAL_TYPE,
)
OVERRIDE = ErrorCode(
    "neural-type-override",
    "A forward that accepts less, or returns more, than the forward it overrides",
    "General",
    sub_code_of=NEURAL_TYPE,
)
OPERATION = ErrorCode(
    "neural-type-operation",
    "A tensor operation that is wrong for every size, or whose result contradicts the declared return type",
    "General",
    sub_code_of=NEURAL_TYPE,
)

SUB_CODES = (ANNOTATION, ARGUMENT, SIZE, OVERRIDE, OPERATION)
