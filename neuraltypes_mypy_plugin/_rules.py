"""Operation rules: read from ``.pyi`` files that declare, per operation, how it transforms a neural type.

A rule file mirrors a module (``torch/nn/functional.pyi`` holds the rules of ``torch.nn.functional``).
A function, a method of a class, or an annotated class attribute declares an operation; its return
annotation (or the attribute's annotation) is a transform of a small fixed vocabulary, written like a
subscripted type: ``Swap["dim0", "dim1"]``, ``Keep[ProbsType]``, ``Drop["dim", LabelsType, "int64"]``.
The files are parsed with ``ast``, never imported or executed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from neuraltypes.core import normalize_dtype

TRANSFORMS = frozenset(
    {
        # axes and meaning (_transforms)
        "Keep", "KeepAxes", "Normalize", "Swap", "Permute", "Reverse", "Drop", "Resize", "Append", "Concat", "Stack",
        "Rearrange",
        # sizes and reshapes (_reshapes)
        "Sizes", "View", "Flatten", "Unflatten", "Split", "Chunk", "Unsqueeze", "Squeeze", "Expand", "Repeat", "Index",
        # einops (_einops)
        "EinopsRepeat", "EinopsReduce",
        # contractions, losses, sampling (_contractions)
        "Matmul", "RMatmul", "Attention", "MultiheadAttention", "Einsum", "CrossEntropy", "NllLoss", "TopK",
        "Sample", "Sort", "CtcLoss", "Glu", "MaskedFill",
        # layers and factories (_contractions)
        "Convolution", "Linear", "Embedding", "Arange", "Factory",
        # element-wise (_contractions)
        "Broadcast", "RBroadcast", "Compare",
    }
)  # fmt: skip


class RuleSyntaxError(ValueError):
    """A rule file that does not follow the rule grammar: names the file, the line and what is wrong."""

    def __init__(self, path: Path, line: int, what: str) -> None:
        super().__init__(f"{path}:{line}: {what}")


class Rule(NamedTuple):
    """How one operation transforms its source tensor.

    Attributes:
        target: the operation's public dotted name: ``torch.softmax``, ``torch.Tensor.transpose``.
        parameters: the rule's parameter names, without ``self`` (for methods and attributes, the receiver is
            the source; for functions and ``__call__``, the first parameter is).
        transform: a name from ``TRANSFORMS``.
        arguments: the transform's arguments: parameter names (str) or axis positions (int).
        element: the fully qualified name of the result's element type, if the rule sets one.
        dtype: the result's dtype, if the rule sets one.
        is_method: whether the source is the receiver (a method or an attribute of a class).
        is_attribute: whether the operation is an attribute (``Tensor.T``) rather than a call.
    """

    target: str
    parameters: tuple[str, ...]
    transform: str
    arguments: tuple[str | int, ...]
    element: str | None
    dtype: str | None
    is_method: bool
    is_attribute: bool = False


def load_rules(directories: Iterable[Path]) -> dict[str, Rule]:
    """Every rule in the directories, by target; a later directory overrides an earlier one's rule.

    Raises:
        RuleSyntaxError: a declaration whose annotation is no transform of the vocabulary.
    """
    rules: dict[str, Rule] = {}
    for directory in directories:
        for path in sorted(directory.rglob("*.pyi")):
            module = ".".join(path.relative_to(directory).with_suffix("").parts).removesuffix(".__init__")
            for rule in _rules_of_file(path, module):
                rules[rule.target] = rule
    return rules


def _rules_of_file(path: Path, module: str) -> Iterator[Rule]:
    tree = ast.parse(path.read_text(), filename=str(path))
    imports = _imported_names(tree)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            yield _function_rule(path, f"{module}.{node.name}", node, imports, is_method=False)
        elif isinstance(node, ast.ClassDef):
            for member in node.body:
                target = f"{module}.{node.name}"
                if isinstance(member, ast.FunctionDef):
                    is_method = member.name != "__call__"
                    yield _function_rule(path, f"{target}.{member.name}", member, imports, is_method=is_method)
                elif isinstance(member, ast.AnnAssign) and isinstance(member.target, ast.Name):
                    yield _rule(path, f"{target}.{member.target.id}", (), member.annotation, imports, True, True)


def _imported_names(tree: ast.Module) -> dict[str, str]:
    names: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module is not None:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _function_rule(path: Path, target: str, node: ast.FunctionDef, imports: dict[str, str], is_method: bool) -> Rule:
    if node.returns is None:
        raise RuleSyntaxError(path, node.lineno, f"{target} has no return annotation (a transform)")
    names = [arg.arg for arg in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs)]
    if names and names[0] == "self":
        names = names[1:]
    return _rule(path, target, tuple(names), node.returns, imports, is_method)


def _rule(
    path: Path,
    target: str,
    parameters: tuple[str, ...],
    annotation: ast.expr,
    imports: dict[str, str],
    is_method: bool,
    is_attribute: bool = False,
) -> Rule:
    head, items = (
        (annotation.value, _items(annotation.slice)) if isinstance(annotation, ast.Subscript) else (annotation, [])
    )
    if not isinstance(head, ast.Name) or head.id not in TRANSFORMS:
        raise RuleSyntaxError(
            path, annotation.lineno, f"{target}: expected a transform ({', '.join(sorted(TRANSFORMS))})"
        )
    arguments: list[str | int] = []
    element: str | None = None
    dtype: str | None = None
    for item in items:
        value = _constant(item)
        if isinstance(value, int) or (isinstance(value, str) and (value in parameters or head.id == "Append")):
            arguments.append(value)
        elif isinstance(value, str):
            try:
                dtype = normalize_dtype(value)
            except ValueError:
                raise RuleSyntaxError(
                    path, item.lineno, f"{target}: {value!r} is neither a parameter nor a dtype"
                ) from None
        elif isinstance(item, ast.Name) and item.id in imports:
            element = imports[item.id]
        else:
            raise RuleSyntaxError(
                path, item.lineno, f"{target}: arguments are parameter names, axis positions, imported element types"
            )
    return Rule(target, parameters, head.id, tuple(arguments), element, dtype, is_method, is_attribute)


def _items(node: ast.expr) -> list[ast.expr]:
    return list(node.elts) if isinstance(node, ast.Tuple) else [node]


def _constant(node: ast.expr) -> object:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        value = node.operand.value
        return -value if isinstance(value, int) else None
    return None
