"""Wiring mistakes for gpt.py, each the replacement of one exact piece of its source (see static_reach.py)."""

from static_reach import Bug

BUGS = [
    Bug(
        "merge_heads_without_transpose",
        "y = y.transpose(1, 2).contiguous().view(B, T, C)",
        "y = y.contiguous().view(B, T, C)",
        True,
        "The heads are merged with view straight from (B, nh, T, hs): every output row mixes time steps.",
    ),
    Bug(
        "split_heads_without_transpose",
        "k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)",
        "k = k.reshape(B, self.n_head, T, C // self.n_head)",
        True,
        "The keys are reshaped to (B, nh, T, hs) directly instead of viewed as (B, T, nh, hs) and transposed.",
    ),
    Bug(
        "softmax_over_queries",
        "att = F.softmax(att, dim=-1)",
        "att = F.softmax(att, dim=-2)",
        True,
        "Attention weights normalized over the query axis instead of the key axis.",
    ),
    Bug(
        "key_not_transposed",
        "att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))",
        "att = (q @ k) * (1.0 / math.sqrt(k.size(-1)))",
        False,
        "q @ k without transposing k: (T, hs) @ (T, hs) fails unless T == hs.",
    ),
    Bug(
        "causal_mask_not_cropped",
        'att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))',
        'att = att.masked_fill(self.bias == 0, float("-inf"))',
        False,
        "The (block_size, block_size) mask is not cropped to the sequence length.",
    ),
    Bug(
        "split_qkv_along_time",
        "q, k, v = self.c_attn(x).split(self.n_embd, dim=2)",
        "q, k, v = self.c_attn(x).split(self.n_embd, dim=1)",
        False,
        "The fused q/k/v projection is split along time instead of channels.",
    ),
    Bug(
        "lm_head_softmaxed",
        "logits = self.lm_head(x)",
        "logits = F.softmax(self.lm_head(x), dim=-1)",
        True,
        "The lm head's output is softmaxed: probabilities are returned as logits and fed to cross_entropy.",
    ),
    Bug(
        "cross_entropy_on_3d_logits",
        "loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)",
        "loss = F.cross_entropy(logits, targets, ignore_index=-1)",
        False,
        "(B, T, V) logits with (B, T) targets: cross_entropy reads axis 1 (time) as the classes.",
    ),
    Bug(
        "generate_from_first_position",
        "logits = logits[:, -1, :] / temperature",
        "logits = logits[:, 0, :] / temperature",
        True,
        "Sampling reads the logits of the first position instead of the last one.",
    ),
    Bug(
        "top_k_threshold_not_kept_2d",
        'logits[logits < v[:, [-1]]] = -float("Inf")',
        'logits[logits < v[:, -1]] = -float("Inf")',
        False,
        "The top-k threshold is indexed to shape (B,), which broadcasts against the vocabulary axis.",
    ),
    Bug(
        "append_along_batch",
        "idx = torch.cat((idx, idx_next), dim=1)",
        "idx = torch.cat((idx, idx_next), dim=0)",
        False,
        "The sampled tokens are concatenated along the batch axis instead of time.",
    ),
]
