"""Text encoding: token indices to contextual encodings (embedding, then Transformer layers)."""

from typing import NamedTuple

from torch import Tensor, nn

from neuraltypes import NT, EncodedRepresentation, LengthsType, TokenIndex
from neuraltypes.nn import NeuralModule

from .encoders import padding_mask

__all__ = ["TextEncoder", "TextEncoding"]


class TextEncoding(NamedTuple):
    """Contextual token encodings and the sequences' lengths."""

    encoded: NT[Tensor, "B D T", EncodedRepresentation, "float"]
    encoded_length: NT[Tensor, "B", LengthsType, "int"]


class TextEncoder(NeuralModule):
    """Token embeddings with learned positions, then Transformer layers; padded steps masked and zeroed.

    Args:
        vocab_size: number of tokens (index 0 is padding).
        hidden: model width (the ``D`` axis); divisible by ``num_heads``.
        num_layers: Transformer layers.
        num_heads: attention heads.
        max_length: longest sequence the position table covers.
        dropout: inside the layers.
    """

    def __init__(
        self,
        vocab_size: int,
        hidden: int = 64,
        num_layers: int = 1,
        num_heads: int = 4,
        max_length: int = 128,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.tokens = nn.Embedding(vocab_size, hidden, padding_idx=0)
        self.positions = nn.Embedding(max_length, hidden)
        layer = nn.TransformerEncoderLayer(
            hidden, num_heads, dim_feedforward=2 * hidden, dropout=dropout, batch_first=True, norm_first=True
        )
        self.layers = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)

    def forward(
        self, tokens: NT[Tensor, "B T", TokenIndex, "int"], length: NT[Tensor, "B", LengthsType, "int"]
    ) -> TextEncoding:
        padded = padding_mask(length, tokens.shape[1])
        steps = self.positions.weight[: tokens.shape[1]]
        hidden = self.layers(self.tokens(tokens) + steps[None], src_key_padding_mask=padded)
        return TextEncoding(hidden.masked_fill(padded[:, :, None], 0.0).transpose(1, 2), length)
