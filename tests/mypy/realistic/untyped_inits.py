# mypy: check-untyped-defs=False
"""Model code as it is mostly written: unannotated ``__init__``s (bodies mypy does not check, so every attribute
is ``Any`` to it), typed ``forward``s and helpers that use the attributes, and nn containers.

The plugin types the attributes and containers' items (tests/test_mypy_plugin.py checks that it reports
exactly what mypy reports without it): what torch declares on a typed module (``Conv1d.bias``, an Optional)
must read as before.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class Attention(nn.Module):
    def __init__(self, dim, heads=4, dropout=0.0):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.to_qkv = nn.Linear(dim, dim * 3, bias=False)
        self.to_out = nn.Sequential(nn.Linear(dim, dim), nn.Dropout(dropout))
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        b, n, _ = x.shape
        q, k, v = self.to_qkv(self.norm(x)).chunk(3, dim=-1)
        q, k, v = (t.view(b, n, self.heads, -1).transpose(1, 2) for t in (q, k, v))
        dots = q @ k.transpose(-1, -2) * self.scale
        if mask is not None:
            dots = dots.masked_fill(~mask, float("-inf"))
        out = dots.softmax(dim=-1) @ v
        out = out.transpose(1, 2).reshape(b, n, -1)
        return self.to_out(out)


class FeedForward(nn.Module):
    def __init__(self, dim, mult=4, dropout=0.0):
        super().__init__()
        self.net = nn.Sequential(
            nn.LayerNorm(dim),
            nn.Linear(dim, dim * mult),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(dim * mult, dim),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class Transformer(nn.Module):
    def __init__(self, dim, depth, heads):
        super().__init__()
        self.layers = nn.ModuleList([nn.ModuleList([Attention(dim, heads), FeedForward(dim)]) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: Tensor) -> Tensor:
        for attn, ff in self.layers:
            x = attn(x) + x
            x = ff(x) + x
        for layer in self.layers:
            layer.train(self.training)
        return self.norm(x)


class ConvBlock(nn.Module):
    def __init__(self, channels, kernel_size=3, use_bn=True):
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, kernel_size, padding=kernel_size // 2)
        self.bn = nn.BatchNorm1d(channels)
        self.act = nn.ReLU() if use_bn else nn.Identity()
        self.pool = None
        if kernel_size > 3:
            self.pool = nn.MaxPool1d(2)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.kaiming_normal_(self.conv.weight)
        nn.init.zeros_(self.conv.bias)
        self.bn.running_mean.zero_()
        self.bn.running_var.fill_(1.0)
        self.bn.reset_running_stats()

    def forward(self, x: Tensor) -> Tensor:
        y = self.act(self.bn(self.conv(x)))
        if self.pool is not None:
            y = self.pool(y)
        return y + x if self.conv.in_channels == self.conv.out_channels else y


class Tagger(nn.Module):
    def __init__(self, vocab, dim, tags):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim, padding_idx=0)
        self.rnn = nn.LSTM(dim, dim, batch_first=True, bidirectional=True)
        self.heads = nn.ModuleDict({"tags": nn.Linear(2 * dim, tags), "spans": nn.Linear(2 * dim, 2)})
        self.classifier = nn.Sequential(OrderedDict([("fc", nn.Linear(2 * dim, dim)), ("out", nn.Linear(dim, tags))]))
        self.blocks = nn.ModuleList()
        for _ in range(2):
            self.blocks.append(ConvBlock(2 * dim))

    def forward(self, tokens: Tensor, lengths: Tensor) -> dict[str, Tensor]:
        self.rnn.flatten_parameters()
        out, (hidden, _) = self.rnn(self.embed(tokens))
        for block in self.blocks:
            out = block(out.transpose(1, 2)).transpose(1, 2)
        scores = {name: head(out) for name, head in self.heads.items()}
        scores["pooled"] = self.classifier(out.mean(1))
        scores["fc"] = self.classifier.fc.weight @ self.classifier[1].weight.T
        scores["tag_bias"] = self.heads["tags"].bias
        scores["hidden"] = hidden[-1]
        self.embed.weight.data[0].zero_()
        return scores

    def describe(self) -> str:
        sizes = f"{self.embed.num_embeddings} {self.rnn.hidden_size}"
        return f"{sizes} {self.blocks[0].conv.kernel_size} {len(self.blocks)}"


class Classifier(nn.Module):
    def __init__(self, in_channels=1, num_classes=10, width=16):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(1),
        )
        self.head = nn.Linear(width, num_classes)
        self.dynamic = nn.Sequential(*[nn.Linear(width, width) for _ in range(2)])
        for i in range(2):
            setattr(self, f"aux{i}", nn.Linear(width, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x).flatten(1)
        x = self.dynamic(x)
        aux = sum(getattr(self, f"aux{i}")(x) for i in range(2))
        self.features[1].momentum = 0.2
        return self.head(x) + aux

    def freeze(self) -> None:
        for module in self.features:
            for p in module.parameters():
                p.requires_grad_(False)
        self.features[0].weight.requires_grad_(True)
        self.head.bias.data.zero_()


def train_step(model: Classifier, batch: Tensor, labels: Tensor) -> float:
    logits = model(batch)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    model.head.weight.grad = None
    return float(loss.item())


def main() -> None:
    model = Classifier()
    print(train_step(model, torch.randn(2, 1, 8, 8), torch.tensor([1, 2])))
    tagger = Tagger(100, 16, 5)
    print(tagger.describe(), Transformer(16, 2, 4)(torch.randn(2, 3, 16)).shape)
