"""Wiring mistakes for vit.py, each the replacement of one exact piece of its source (see static_reach.py)."""

from static_reach import Bug

BUGS = [
    Bug(
        "merge_heads_in_wrong_order",
        'out = rearrange(out, "b h n d -> b n (h d)")',
        'out = rearrange(out, "b h n d -> b n (d h)")',
        True,
        "The heads are merged as (d h) instead of (h d): the output projection sees the features interleaved.",
    ),
    Bug(
        "pool_last_token",
        "else x[:, 0]",
        "else x[:, -1]",
        True,
        "The head reads the last patch token instead of the class token.",
    ),
    Bug(
        "softmax_over_queries",
        "attn = dots.softmax(dim=-1)",
        "attn = dots.softmax(dim=-2)",
        True,
        "Attention weights normalized over the query axis instead of the key axis.",
    ),
    Bug(
        "loss_on_probabilities",
        "return F.cross_entropy(logits, labels)",
        "return F.cross_entropy(logits.softmax(dim=-1), labels)",
        True,
        "Probabilities passed to cross_entropy, which expects logits.",
    ),
    Bug(
        "mean_pool_over_features",
        'x = x.mean(dim=1) if self.pool == "mean"',
        'x = x.mean(dim=-1) if self.pool == "mean"',
        False,
        "Mean pooling over the feature axis instead of the tokens.",
    ),
    Bug(
        "key_not_transposed",
        "dots = torch.matmul(q, k.transpose(-1, -2)) * self.scale",
        "dots = torch.matmul(q, k) * self.scale",
        False,
        "q @ k without transposing k: (n, d) @ (n, d) fails unless n == d.",
    ),
    Bug(
        "split_heads_without_moving_them",
        'rearrange(t, "b n (h d) -> b h n d", h=self.heads)',
        'rearrange(t, "b n (h d) -> b n h d", h=self.heads)',
        False,
        "The heads are split off but left after the tokens: attention runs across heads.",
    ),
    Bug(
        "class_token_concatenated_along_batch",
        "x = torch.cat((cls_tokens, x), dim=1)",
        "x = torch.cat((cls_tokens, x), dim=0)",
        False,
        "The class token is concatenated along the batch axis instead of the tokens.",
    ),
    Bug(
        "class_token_repeated_per_patch",
        'cls_tokens = repeat(self.cls_token, "1 1 d -> b 1 d", b=b)',
        'cls_tokens = repeat(self.cls_token, "1 1 d -> b 1 d", b=n)',
        False,
        "The class token is repeated once per patch instead of once per image.",
    ),
    Bug(
        "images_channels_last",
        "img = torch.randn(2, 3, 32, 24)",
        "img = torch.randn(2, 32, 24, 3)",
        False,
        "The caller passes channels-last images (B, H, W, C) where (B, C, H, W) is declared.",
    ),
]
