"""Ordinary PyTorch code with no neural types: a transformer block, a conv net and a training loop.

The plugin must report exactly what mypy reports without it (tests/test_mypy_plugin.py compares the two).
Some functions are annotated with plain ``Tensor``, some not at all, as in real code bases.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset


@dataclass
class GPTConfig:
    block_size: int = 64
    vocab_size: int = 128
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 32
    dropout: float = 0.1


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        assert config.n_embd % config.n_head == 0
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd)
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        mask = torch.tril(torch.ones(config.block_size, config.block_size))
        self.register_buffer("bias", mask.view(1, 1, config.block_size, config.block_size))

    def forward(self, x: Tensor) -> Tensor:
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        bias = self.bias
        assert isinstance(bias, Tensor)
        att = att.masked_fill(bias[:, :, :T, :T] == 0, float("-inf"))
        att = F.softmax(att, dim=-1)
        att = self.attn_dropout(att)
        y = att @ v
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd)
        self.mlp = MLP(config)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlp(self.ln_2(x))
        return x


class GPT(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.block_size, config.n_embd)
        self.drop = nn.Dropout(config.dropout)
        self.h = nn.ModuleList([Block(config) for _ in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(config.n_embd)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.wte.weight = self.lm_head.weight

    def forward(self, idx: Tensor, targets: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        _, t = idx.size()
        pos = torch.arange(0, t, dtype=torch.long, device=idx.device)
        x = self.drop(self.wte(idx) + self.wpe(pos))
        for block in self.h:
            x = block(x)
        x = self.ln_f(x)
        logits = self.lm_head(x)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
        return logits, loss

    @torch.no_grad()
    def generate(self, idx: Tensor, max_new_tokens: int, temperature: float = 1.0) -> Tensor:
        for _ in range(max_new_tokens):
            idx_cond = idx if idx.size(1) <= self.config.block_size else idx[:, -self.config.block_size :]
            logits, _ = self(idx_cond)
            logits = logits[:, -1, :] / temperature
            probs = F.softmax(logits, dim=-1)
            idx_next = torch.multinomial(probs, num_samples=1)
            idx = torch.cat((idx, idx_next), dim=1)
        return idx


class ConvNet(nn.Module):
    def __init__(self, in_channels=1, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 16, kernel_size=3, padding=1),
            nn.BatchNorm2d(16),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d((1, 1)),
        )
        self.classifier = nn.Linear(32, num_classes)

    def forward(self, x):
        x = self.features(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


class SpeechEncoder(nn.Module):
    def __init__(self, n_mels: int = 80, hidden: int = 64) -> None:
        super().__init__()
        self.conv = nn.Conv1d(n_mels, hidden, kernel_size=3, padding=1)
        self.norm = nn.LayerNorm(hidden)
        self.rnn = nn.GRU(hidden, hidden, batch_first=True)

    def forward(self, mel: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        x = F.relu(self.conv(mel)).transpose(1, 2)
        x = self.norm(x)
        out, _ = self.rnn(x)
        mask = torch.arange(out.size(1))[None, :] < lengths[:, None]
        return out * mask.unsqueeze(-1), lengths


def batches(n: int, batch_size: int) -> Iterator[tuple[Tensor, Tensor]]:
    data = torch.randn(n, 1, 28, 28)
    labels = torch.randint(0, 10, (n,))
    loader = DataLoader(TensorDataset(data, labels), batch_size=batch_size, shuffle=True)
    for x, y in loader:
        yield x.float(), y


def train_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, steps: int = 3) -> float:
    model.train()
    total = 0.0
    for step, (x, y) in enumerate(batches(64, 16)):
        if step >= steps:
            break
        optimizer.zero_grad(set_to_none=True)
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        total += loss.item()
    return total / steps


def evaluate(model, loader):
    model.eval()
    correct = 0
    seen = 0
    with torch.no_grad():
        for x, y in loader:
            pred = model(x).argmax(dim=-1)
            correct += (pred == y).sum().item()
            seen += y.numel()
    return correct / max(seen, 1)


def pad_and_stack(seqs: list[Tensor], value: float = 0.0) -> Tensor:
    longest = max(s.size(0) for s in seqs)
    padded = [F.pad(s, (0, longest - s.size(0)), value=value) for s in seqs]
    return torch.stack(padded)


def attention_weights(q: Tensor, k: Tensor) -> Tensor:
    scores = torch.einsum("bhtd,bhsd->bhts", q, k) / math.sqrt(q.shape[-1])
    return scores.softmax(dim=-1)


def main() -> None:
    torch.manual_seed(0)
    net = ConvNet()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    print(train_epoch(net, opt))
    gpt = GPT(GPTConfig())
    idx = torch.randint(0, 128, (2, 8))
    logits, loss = gpt(idx, idx)
    out = gpt.generate(idx, 4)
    weights = attention_weights(torch.randn(1, 2, 3, 4), torch.randn(1, 2, 5, 4))
    enc, lens = SpeechEncoder()(torch.randn(2, 80, 10), torch.tensor([10, 7]))
    print(logits.shape, loss, out.shape, weights.sum(-1), enc.shape, lens, pad_and_stack([idx[0], idx[1, :3]]))
