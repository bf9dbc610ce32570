# ruff: noqa  (mypy test data: lines carry their expected reports; NT axes strings are not Python)
# mypy: disallow-untyped-defs=False, disallow-incomplete-defs=False, disallow-untyped-calls=False
"""Where mypy checks __init__ (annotated, or --check-untyped-defs) it infers the attributes itself, and the
plugin keeps its types; an nn container it infers gets its items."""

from torch import Tensor, nn

from neuraltypes.core import NT, EncodedRepresentation, LogitsType

Features = NT[Tensor, "B T C", EncodedRepresentation]
Transposed = NT[Tensor, "B C T", EncodedRepresentation]
Logits = NT[Tensor, "B T vocab", LogitsType]


class Block(nn.Module):
    def forward(self, x: Features) -> Features: ...


class Head(nn.Module):
    def forward(self, x: Features) -> Logits: ...


class Untyped(nn.Module):
    declared: nn.ModuleList

    def __init__(self, depth):
        super().__init__()
        self.block = Block()
        self.blocks = nn.ModuleList([Block() for _ in range(depth)])
        self.net = nn.Sequential(Block(), Head())
        self.heads = nn.ModuleDict({"logits": Head()})
        self.annotated: nn.ModuleList = nn.ModuleList([Block() for _ in range(depth)])
        self.declared = nn.ModuleList([Block() for _ in range(depth)])

    def forward(self, x: Features, t: Transposed) -> None:
        reveal_type(self.block)  # N: Revealed type is "case_members_checked.Block"
        reveal_type(self.block.training)  # N: Revealed type is "bool"
        for block in self.blocks:
            block(t)  # E: Argument "x" to "forward" of "Block" has incompatible neural type NT[Tensor, "B C T", EncodedRepresentation]; expected NT[Tensor, "B T C", EncodedRepresentation] (axes transposed)  [neural-type-argument]
        reveal_type(self.net(x))  # N: Revealed type is "torch._tensor.Tensor[Any, Any]"
        reveal_type(self.heads["logits"])  # N: Revealed type is "case_members_checked.Head"
        for module in self.annotated:
            reveal_type(module)  # N: Revealed type is "torch.nn.modules.module.Module"
        for module in self.declared:
            reveal_type(module)  # N: Revealed type is "torch.nn.modules.module.Module"


class Typed(nn.Module):
    def __init__(self, depth: int) -> None:
        super().__init__()
        self.blocks = nn.ModuleList([Block() for _ in range(depth)])
        self.blocks_too = self.blocks

    def forward(self, x: Features, t: Transposed) -> None:
        for block in self.blocks:
            block(t)  # E: Argument "x" to "forward" of "Block" has incompatible neural type NT[Tensor, "B C T", EncodedRepresentation]; expected NT[Tensor, "B T C", EncodedRepresentation] (axes transposed)  [neural-type-argument]
        reveal_type(self.blocks_too)  # N: Revealed type is "torch.nn.modules.container.ModuleList"
        for block in self.blocks_too:  # mypy inferred blocks_too from self.blocks, items included
            reveal_type(block)  # N: Revealed type is "case_members_checked.Block"
