# ruff: noqa  (mypy test data: lines carry their expected reports; NT axes strings are not Python)
"""Names are NeMo kinds: where axes are compared, a name whose kind is not the obvious one shows it."""

import torch
from torch import Tensor

from neuraltypes.core import NT, EncodedRepresentation


def blocks(x: NT[Tensor, "B T D", EncodedRepresentation]) -> None: ...
def image(x: NT[Tensor, "B C H W"]) -> None: ...


def vit(
    tokens: NT[Tensor, "b n d", EncodedRepresentation],
    hidden: NT[Tensor, "B T H"],
    w: NT[Tensor, "D V"],
    mask: NT[Tensor, "B S"],
    x: NT[Tensor, "B T D"],
    pixels: NT[Tensor, "B C H W"],
) -> None:
    blocks(tokens)  # E: Argument "x" to "blocks" has incompatible neural type NT[Tensor, "b n d", EncodedRepresentation]; expected NT[Tensor, "B T D", EncodedRepresentation] (axes differ; axis kinds: n (Batch))  [neural-type-argument]
    blocks(hidden)  # E: Argument "x" to "blocks" has incompatible neural type NT[Tensor, "B T H"]; expected NT[Tensor, "B T D", EncodedRepresentation] (axes differ; axis kinds: H (Height))  [neural-type-argument]
    hidden @ w  # E: Matrix product contracts axis "H" of "B T H" with axis "D" of "D V": their kinds differ; axis kinds: H (Height)  [neural-type-operation]
    x * mask  # E: Broadcasting "B T D" with "B S" lines up axis "D" with axis "S": their kinds differ; axis kinds: S (Singleton) (add the missing axis with [..., None] or .unsqueeze(), or move the axes first)  [neural-type-operation]
    image(pixels.transpose(2, 3))  # E: Argument "x" to "image" has incompatible neural type NT[Tensor, "B C W H"]; expected NT[Tensor, "B C H W"] (axes transposed; axis kinds: W (Width), H (Height))  [neural-type-argument]
