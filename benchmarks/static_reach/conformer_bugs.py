"""Wiring mistakes for conformer.py, each the replacement of one exact piece of its source (see static_reach.py)."""

from static_reach import Bug

BUGS = [
    Bug(
        "lengths_not_subsampled",
        "        for _ in range(2):\n            lengths = (lengths - 1) // 2 + 1\n",
        "",
        False,
        "The lengths are not updated after the 4x subsampling: the mask and the CTC input lengths are wrong.",
    ),
    Bug(
        "lengths_subsampled_with_wrong_formula",
        "lengths = (lengths - 1) // 2 + 1",
        "lengths = lengths // 2",
        True,
        "The lengths are halved without the convolution's rounding: one step short for some sequences.",
    ),
    Bug(
        "subsampled_channels_flattened_without_transpose",
        "x = self.out(x.transpose(1, 2).reshape(b, t, c * f))",
        "x = self.out(x.reshape(b, t, c * f))",
        True,
        "(B, C, T, F) is reshaped to (B, T, C*F) without moving time first: frames and channels mixed.",
    ),
    Bug(
        "features_not_transposed",
        "x = x.transpose(1, 2).unsqueeze(1)  # (B, 1, T, D_mel)",
        "x = x.unsqueeze(1)  # (B, 1, T, D_mel)",
        False,
        "The (B, D, T) features go into the 2-D convolutions as (B, 1, D, T): frequency and time swapped.",
    ),
    Bug(
        "conv_module_input_not_transposed",
        "        x = x.transpose(1, 2)  # (B, D, T): channels first for the convolutions\n",
        "",
        False,
        "The convolution module gets (B, T, D) where Conv1d expects channels first.",
    ),
    Bug(
        "glu_over_time",
        "self.glu = nn.GLU(dim=1)",
        "self.glu = nn.GLU(dim=-1)",
        False,
        "The GLU halves the time axis instead of the channels.",
    ),
    Bug(
        "pad_mask_inverted",
        "return steps[None, :] >= lengths[:, None]",
        "return steps[None, :] < lengths[:, None]",
        True,
        "The padding mask is True at the valid steps (attention gives zeros for a fully masked row, not NaN).",
    ),
    Bug(
        "attention_not_batch_first",
        "nn.MultiheadAttention(d_model, num_heads, dropout=dropout, batch_first=True)",
        "nn.MultiheadAttention(d_model, num_heads, dropout=dropout)",
        False,
        "nn.MultiheadAttention without batch_first=True reads (B, T, D) as (T, B, D).",
    ),
    Bug(
        "log_softmax_over_time",
        "log_probs = self.decoder(x).log_softmax(dim=-1)",
        "log_probs = self.decoder(x).log_softmax(dim=1)",
        True,
        "The head normalizes over time instead of the vocabulary.",
    ),
    Bug(
        "probabilities_for_ctc",
        "log_probs = self.decoder(x).log_softmax(dim=-1)",
        "log_probs = self.decoder(x).softmax(dim=-1)",
        True,
        "Probabilities are returned where log-probabilities are declared, and fed to ctc_loss.",
    ),
    Bug(
        "ctc_input_batch_first",
        "log_probs.transpose(0, 1), targets",
        "log_probs, targets",
        False,
        "ctc_loss gets (B, T, C) log-probabilities where it expects (T, B, C).",
    ),
]
