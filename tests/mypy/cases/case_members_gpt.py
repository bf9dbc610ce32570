# ruff: noqa  (mypy test data: lines carry their expected reports; NT axes strings are not Python)
# mypy: check-untyped-defs=False, disallow-untyped-defs=False, disallow-incomplete-defs=False, disallow-untyped-calls=False
"""nanoGPT as it is written (unannotated __init__s, an nn.ModuleDict of the layers) with typed forwards: the
neural types flow through self.transformer.wte, the blocks of self.transformer.h and self.lm_head."""

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuraltypes import reveal_neural_type
from neuraltypes.core import NT, EncodedRepresentation, LabelsType, LogitsType

Tokens = NT[Tensor, "B T", LabelsType, "int64"]
Hidden = NT[Tensor, "B T C", EncodedRepresentation]
Logits = NT[Tensor, "B T vocab", LogitsType]


@dataclass
class GPTConfig:
    block_size: int = 64
    vocab_size: int = 128
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 32
    dropout: float = 0.1


class CausalSelfAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd)
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head = config.n_head
        self.n_embd = config.n_embd

    def forward(self, x: Hidden) -> Hidden:
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = self.attn_dropout(F.softmax(att, dim=-1))
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: Hidden) -> Hidden:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd)
        self.mlp = MLP(config)

    def forward(self, x: Hidden) -> Hidden:
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlp(self.ln_2(x))
        return x


class GPT(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.transformer = nn.ModuleDict(
            dict(
                wte=nn.Embedding(config.vocab_size, config.n_embd),
                wpe=nn.Embedding(config.block_size, config.n_embd),
                drop=nn.Dropout(config.dropout),
                h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
                ln_f=nn.LayerNorm(config.n_embd),
            )
        )
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight  # weight tying: the ModuleDict's entries stay known
        self.apply(self._init_weights)

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx: Tokens) -> Logits:
        reveal_type(self.transformer.wte)  # N: Revealed type is "torch.nn.modules.sparse.Embedding"
        tok_emb = self.transformer.wte(idx)
        reveal_neural_type(tok_emb)  # N: Neural type is NT[Tensor, "B T ?"]
        x: Hidden = self.transformer.drop(tok_emb)
        for block in self.transformer.h:
            reveal_type(block)  # N: Revealed type is "case_members_gpt.Block"
            x = block(x)
        reveal_neural_type(x)  # N: Neural type is NT[Tensor, "B T C", EncodedRepresentation]
        x = self.transformer.ln_f(x)
        reveal_neural_type(self.lm_head(x))  # N: Neural type is NT[Tensor, "B T ?:vocab_size"]
        return self.lm_head(x)

    def planted_mistakes(self, idx: Tokens, x: Hidden) -> None:
        for block in self.transformer.h:
            block(idx)  # E: Argument "x" to "forward" of "Block" has incompatible neural type NT[Tensor, "B T", LabelsType, "int64"]; expected NT[Tensor, "B T C", EncodedRepresentation] (elements are LabelsType, not EncodedRepresentation)  [neural-type-argument]
        self.transformer.h[0](x.transpose(1, 2))  # E: Argument "x" to "forward" of "Block" has incompatible neural type NT[Tensor, "B C T", EncodedRepresentation]; expected NT[Tensor, "B T C", EncodedRepresentation] (axes transposed)  [neural-type-argument]
        self.transformer["h"][-1].attn(x.transpose(1, 2))  # E: Argument "x" to "forward" of "CausalSelfAttention" has incompatible neural type NT[Tensor, "B C T", EncodedRepresentation]; expected NT[Tensor, "B T C", EncodedRepresentation] (axes transposed)  [neural-type-argument]
