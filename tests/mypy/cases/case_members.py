# ruff: noqa  (mypy test data: lines carry their expected reports; NT axes strings are not Python)
# mypy: check-untyped-defs=False, disallow-untyped-defs=False, disallow-incomplete-defs=False, disallow-untyped-calls=False
"""Attributes assigned in an unannotated __init__ (a body mypy does not check: each is Any) get the class they
are built from; nn containers keep their items. mypy's defaults for untyped code, as most model code has it."""

from collections import OrderedDict

from torch import Tensor, nn

from neuraltypes import reveal_neural_type
from neuraltypes.core import NT, EncodedRepresentation, LogitsType

Features = NT[Tensor, "B T C", EncodedRepresentation]
Transposed = NT[Tensor, "B C T", EncodedRepresentation]
Logits = NT[Tensor, "B T vocab", LogitsType]


class Block(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.proj = nn.Linear(width, width)

    def forward(self, x: Features) -> Features: ...


class Head(nn.Module):
    def forward(self, x: Features) -> Logits: ...


class Plain:
    def __init__(self, width): ...


def helper(width): ...


class Model(nn.Module):
    annotated: nn.Module

    def __init__(self, width, deep=False):
        super().__init__()
        self.block = Block(width)
        self.proj = nn.Linear(width, width)
        self.head = Head()
        self.annotated = Block(width)
        self.plain = Plain(width)
        self.made = helper(width)
        self.either = Block(width) if deep else Head()
        if deep:
            self.act = nn.ReLU()
        else:
            self.act = nn.GELU()
        self.norm = None
        if deep:
            self.norm = nn.LayerNorm(width)
        self.first, self.second = Block(width), Head()
        self.tied = nn.Linear(width, width)
        self.tied.weight = self.proj.weight

    def forward(self, x: Features, t: Transposed) -> None:
        reveal_type(self.block)  # N: Revealed type is "case_members.Block"
        self.block(t)  # E: Argument "x" to "forward" of "Block" has incompatible neural type NT[Tensor, "B C T", EncodedRepresentation]; expected NT[Tensor, "B T C", EncodedRepresentation] (axes transposed)  [neural-type-argument]
        self.block(x)
        reveal_neural_type(self.proj(x))  # N: Neural type is NT[Tensor, "B T ?:C"]
        reveal_type(self.head(self.block(x)))  # N: Revealed type is "torch._tensor.Tensor[Any, Any]"
        self.head(t)  # E: Argument "x" to "forward" of "Head" has incompatible neural type NT[Tensor, "B C T", EncodedRepresentation]; expected NT[Tensor, "B T C", EncodedRepresentation] (axes transposed)  [neural-type-argument]
        self.first(t)  # E: Argument "x" to "forward" of "Block" has incompatible neural type NT[Tensor, "B C T", EncodedRepresentation]; expected NT[Tensor, "B T C", EncodedRepresentation] (axes transposed)  [neural-type-argument]
        reveal_type(self.second)  # N: Revealed type is "case_members.Head"
        reveal_type(self.tied)  # N: Revealed type is "torch.nn.modules.linear.Linear"
        # An attribute of a module built here is read the same way; what torch declares reads as before (Any).
        reveal_type(self.block.proj)  # N: Revealed type is "torch.nn.modules.linear.Linear"
        reveal_type(self.proj.bias)  # N: Revealed type is "Any"
        reveal_type(self.block.undeclared)  # N: Revealed type is "Any"
        reveal_type(self.proj.extra_repr())  # N: Revealed type is "str"

    def stays_as_mypy_has_it(self, t: Transposed) -> None:
        reveal_type(self.annotated)  # N: Revealed type is "torch.nn.modules.module.Module"
        reveal_type(self.plain)  # N: Revealed type is "Any"
        reveal_type(self.made)  # N: Revealed type is "Any"
        reveal_type(self.either)  # N: Revealed type is "Any"
        reveal_type(self.act)  # N: Revealed type is "Any"
        reveal_type(self.norm)  # N: Revealed type is "Any"
        self.annotated(t)
        self.either(t)


class Child(Model):
    """Inherits the attributes of Model's __init__."""

    def forward(self, x: Features, t: Transposed) -> None:
        self.block(t)  # E: Argument "x" to "forward" of "Block" has incompatible neural type NT[Tensor, "B C T", EncodedRepresentation]; expected NT[Tensor, "B T C", EncodedRepresentation] (axes transposed)  [neural-type-argument]


class Replacing(Model):
    """Assigns Model's attribute anew, with another class: unknown."""

    def __init__(self, width):
        super().__init__(width)
        self.block = Head()

    def forward(self, x: Features, t: Transposed) -> None:
        reveal_type(self.block)  # N: Revealed type is "Any"
        reveal_type(self.head)  # N: Revealed type is "case_members.Head"


def from_outside(model: Model, t: Transposed) -> None:
    model.block(t)  # E: Argument "x" to "forward" of "Block" has incompatible neural type NT[Tensor, "B C T", EncodedRepresentation]; expected NT[Tensor, "B T C", EncodedRepresentation] (axes transposed)  [neural-type-argument]


class Stack(nn.Module):
    def __init__(self, width, depth):
        super().__init__()
        self.blocks = nn.ModuleList([Block(width) for _ in range(depth)])
        self.pair = nn.ModuleList([Block(width), Head()])
        self.layers = nn.ModuleList([nn.ModuleList([Block(width), Head()]) for _ in range(depth)])
        self.net = nn.Sequential(nn.Linear(width, width), Block(width), nn.ReLU())
        self.to_logits = nn.Sequential(Block(width), Head())
        self.named = nn.Sequential(OrderedDict([("fc", nn.Linear(width, width)), ("act", nn.ReLU())]))
        self.spread = nn.Sequential(*[Block(width) for _ in range(depth)])
        self.grown = nn.ModuleList()
        for _ in range(depth):
            self.grown.append(Block(width))
        self.changed = nn.ModuleList([Block(width)])
        self.changed[0] = Head()
        self.heads = nn.ModuleDict({"logits": Head(), "block": Block(width)})
        self.nested = nn.ModuleDict(dict(blocks=nn.ModuleList([Block(width) for _ in range(depth)]), head=Head()))

    def forward(self, x: Features, t: Transposed) -> None:
        for block in self.blocks:
            reveal_type(block)  # N: Revealed type is "case_members.Block"
            block(t)  # E: Argument "x" to "forward" of "Block" has incompatible neural type NT[Tensor, "B C T", EncodedRepresentation]; expected NT[Tensor, "B T C", EncodedRepresentation] (axes transposed)  [neural-type-argument]
        reveal_type(self.blocks[0])  # N: Revealed type is "case_members.Block"
        reveal_type(self.blocks[1:])  # N: Revealed type is "torch.nn.modules.container.ModuleList"
        for block in self.blocks[1:]:
            reveal_type(block)  # N: Revealed type is "case_members.Block"
        for first, second in zip(self.blocks, self.blocks[1:]):
            reveal_type(second)  # N: Revealed type is "case_members.Block"
        for index, block in enumerate(self.blocks):
            reveal_type(block)  # N: Revealed type is "case_members.Block"
        reveal_type(self.pair[1])  # N: Revealed type is "case_members.Head"
        reveal_type(self.pair[-2])  # N: Revealed type is "case_members.Block"
        for module in self.pair:
            reveal_type(module)  # N: Revealed type is "Any"
        for block, head in self.layers:
            reveal_type(head)  # N: Revealed type is "case_members.Head"
            head(t)  # E: Argument "x" to "forward" of "Head" has incompatible neural type NT[Tensor, "B C T", EncodedRepresentation]; expected NT[Tensor, "B T C", EncodedRepresentation] (axes transposed)  [neural-type-argument]
        for layer in self.layers:
            layer.parameters()
            reveal_type(layer[0])  # N: Revealed type is "case_members.Block"
        for block in self.grown:
            reveal_type(block)  # N: Revealed type is "case_members.Block"
        for module in self.changed:
            reveal_type(module)  # N: Revealed type is "Any"

    def sequential(self, x: Features, t: Transposed) -> None:
        reveal_neural_type(self.net(x))  # N: Neural type is NT[Tensor, "B T C", EncodedRepresentation]
        self.net(t)  # E: Argument "x" to "forward" of "Block" (item 1 of "net") has incompatible neural type NT[Tensor, "B C ?:C"]; expected NT[Tensor, "B T C", EncodedRepresentation] (axes differ)  [neural-type-argument]
        reveal_type(self.to_logits(x))  # N: Revealed type is "torch._tensor.Tensor[Any, Any]"
        self.to_logits(t)  # E: Argument "x" to "forward" of "Block" (item 0 of "to_logits") has incompatible neural type NT[Tensor, "B C T", EncodedRepresentation]; expected NT[Tensor, "B T C", EncodedRepresentation] (axes transposed)  [neural-type-argument]
        reveal_type(self.net[0])  # N: Revealed type is "torch.nn.modules.linear.Linear"
        reveal_type(self.named.fc)  # N: Revealed type is "torch.nn.modules.linear.Linear"
        reveal_type(self.spread)  # N: Revealed type is "Any"
        reveal_type(self.spread(t))  # N: Revealed type is "Any"

    def dicts(self, x: Features, t: Transposed) -> None:
        reveal_type(self.heads.logits)  # N: Revealed type is "case_members.Head"
        reveal_type(self.heads["block"])  # N: Revealed type is "case_members.Block"
        self.heads.logits(t)  # E: Argument "x" to "forward" of "Head" has incompatible neural type NT[Tensor, "B C T", EncodedRepresentation]; expected NT[Tensor, "B T C", EncodedRepresentation] (axes transposed)  [neural-type-argument]
        reveal_type(self.heads.unknown)  # N: Revealed type is "Any"
        for block in self.nested.blocks:
            block(t)  # E: Argument "x" to "forward" of "Block" has incompatible neural type NT[Tensor, "B C T", EncodedRepresentation]; expected NT[Tensor, "B T C", EncodedRepresentation] (axes transposed)  [neural-type-argument]
        reveal_type(self.nested["head"](x))  # N: Revealed type is "torch._tensor.Tensor[Any, Any]"
