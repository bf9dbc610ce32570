"""NeMo's Jasper/QuartzNet convolutional encoder and CTC decoder, with NeMo's arguments and weight names.

``ConvASREncoder`` reads NeMo's ``jasper`` list of blocks (``filters``, ``repeat``, ``kernel``, ``stride``,
``dilation``, ``dropout``, ``residual``, ``separable``, ``se`` ...); each block is ``repeat`` (separable)
convolutions with batch norm, activation and dropout, an optional squeeze-and-excitation, and an optional
residual branch. Padded frames are zeroed before every convolution (``conv_mask``), so padding never leaks into
the encodings. The module tree mirrors NeMo's (``encoder.0.mconv.0.conv.weight``, ``decoder_layers.0.weight``),
so a NeMo QuartzNet checkpoint loads name for name. Options NeMo has that select what is not implemented here
are refused with the reason; an unknown block key is refused with the list of known ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import torch
from omegaconf import DictConfig, ListConfig, OmegaConf
from torch import Tensor, nn

from neuraltypes import NT, AcousticEncodedRepresentation, LengthsType, LogprobsType, SpectrogramType
from neuraltypes.nn import NeuralModule

__all__ = [
    "ACTIVATIONS",
    "ConvASRDecoder",
    "ConvASREncoder",
    "ConvASREncoderOutput",
    "JasperBlock",
    "MaskedConv1d",
    "SqueezeExcite",
]

#: NeMo's activation names (``activation_registry``).
ACTIVATIONS: Mapping[str, Callable[[], nn.Module]] = {
    "identity": nn.Identity,
    "hardtanh": nn.Hardtanh,
    "relu": nn.ReLU,
    "selu": nn.SELU,
    "swish": nn.SiLU,
    "silu": nn.SiLU,
    "gelu": nn.GELU,
}
_NORMALIZATIONS = ("batch", "layer", "group", "instance")
_RESIDUAL_MODES = ("add", "stride_add", "max")
_REQUIRED_BLOCK_KEYS = ("filters", "repeat", "kernel", "stride", "dilation", "dropout", "residual")
# Block keys NeMo reads, with the values this implementation supports (None: any value).
_OPTIONAL_BLOCK_KEYS: Mapping[str, tuple[object, ...] | None] = {
    "groups": None,
    "separable": None,
    "heads": (-1,),
    "residual_mode": _RESIDUAL_MODES,
    "residual_dense": (False,),
    "se": None,
    "se_reduction_ratio": None,
    "se_context_size": (-1,),
    "se_interpolation_mode": None,
    "kernel_size_factor": None,
    "stride_last": None,
    "future_context": (-1,),
}
_UNSUPPORTED_WHY = {
    "heads": "multi-head depthwise convolutions are not implemented",
    "residual_dense": "dense residual connections (Jasper DR) are not implemented",
    "se_context_size": "limited-context squeeze-excitation is not implemented; use -1 (global context)",
    "future_context": "asymmetric (limited look-ahead) padding is not implemented; use -1",
}


def _first(value: int | Sequence[int]) -> int:
    return int(value[0]) if isinstance(value, Sequence) else int(value)


def _valid_mask(length: Tensor, steps: int) -> Tensor:
    """``(B, 1, steps)``: True on each sequence's valid steps."""
    return (torch.arange(steps, device=length.device)[None, :] < length[:, None])[:, None, :]


class MaskedConv1d(nn.Module):
    """A 1-D convolution that zeroes its input past each sequence's length and returns the new lengths (NeMo's)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: int = 0,
        dilation: int | Sequence[int] = 1,
        groups: int = 1,
        bias: bool = False,
        use_mask: bool = True,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv1d(
            in_channels,
            out_channels,
            _first(kernel_size),
            stride=_first(stride),
            padding=padding,
            dilation=_first(dilation),
            groups=groups,
            bias=bias,
        )
        self.use_mask = use_mask
        self.padding = padding
        conv = self.conv
        self.same_padding = conv.stride[0] == 1 and 2 * padding == conv.dilation[0] * (conv.kernel_size[0] - 1)

    def get_seq_len(self, lens: Tensor) -> Tensor:
        """The output length of each sequence (NeMo's formula, truncating division)."""
        if self.same_padding:
            return lens
        conv = self.conv
        span = 2 * self.padding - conv.dilation[0] * (conv.kernel_size[0] - 1) - 1
        return torch.div(lens + span, conv.stride[0], rounding_mode="trunc") + 1

    def forward(self, x: Tensor, lens: Tensor) -> tuple[Tensor, Tensor]:
        if self.use_mask:
            x = x * _valid_mask(lens, x.shape[2]).to(x.dtype)
        return self.conv(x), self.get_seq_len(lens)


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation over time: each channel scaled by a gate computed from its mean over valid frames.

    Global context only (NeMo's ``context_window=-1``); padded frames are zeroed and left out of the mean.
    """

    def __init__(self, channels: int, reduction_ratio: int, activation: nn.Module | None = None) -> None:
        super().__init__()
        hidden = channels // reduction_ratio
        if hidden < 1:
            raise ValueError(f"squeeze-excitation: {channels} channels / reduction ratio {reduction_ratio} is 0")
        self.fc = nn.Sequential(
            nn.Linear(channels, hidden, bias=False),
            nn.ReLU(inplace=True) if activation is None else activation,
            nn.Linear(hidden, channels, bias=False),
        )

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        valid = _valid_mask(lengths, x.shape[2])
        x = x.masked_fill(~valid, 0.0)
        pooled = x.sum(dim=-1, keepdim=True) / valid.sum(dim=-1, keepdim=True).to(x.dtype)
        gate = torch.sigmoid(self.fc(pooled.transpose(1, -1)).transpose(1, -1))
        return x * gate, lengths


class _Shuffle(nn.Module):
    """Channel shuffle between groups (NeMo's ``GroupShuffle``), after grouped convolutions."""

    def __init__(self, groups: int, channels: int) -> None:
        super().__init__()
        self.groups = groups
        self.per_group = channels // groups

    def forward(self, x: Tensor) -> Tensor:
        frames = x.shape[-1]
        x = x.view(-1, self.groups, self.per_group, frames).transpose(1, 2).contiguous()
        return x.view(-1, self.groups * self.per_group, frames)


def _normalization(kind: str, channels: int, groups: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm1d(channels, eps=1e-3, momentum=0.1)
    count = {"group": channels if groups == -1 else groups, "instance": channels, "layer": 1}[kind]
    return nn.GroupNorm(num_groups=count, num_channels=channels)


class JasperBlock(nn.Module):
    """``repeat`` conv-norm(-activation-dropout) sub-blocks, optional SE, optional residual, then activation and
    dropout: NeMo's ``JasperBlock`` (same padding; lengths follow the strides). Input and output are NeMo's
    ``([features], lengths)`` pairs, so blocks chain in an ``nn.Sequential``."""

    def __init__(
        self,
        inplanes: int,
        planes: int,
        repeat: int,
        kernel_size: int,
        stride: int,
        dilation: int,
        dropout: float,
        activation: nn.Module,
        residual: bool,
        groups: int = 1,
        separable: bool = False,
        normalization: str = "batch",
        norm_groups: int = -1,
        residual_mode: str = "add",
        conv_mask: bool = True,
        se: bool = False,
        se_reduction_ratio: int = 8,
        stride_last: bool = False,
    ) -> None:
        super().__init__()
        if stride > 1 and dilation > 1:
            raise ValueError("a Jasper block may have a stride or a dilation above 1, not both")
        self.conv_mask = conv_mask
        self.residual_mode = residual_mode
        padding = dilation * (kernel_size - 1) // 2

        def conv_bn(channels_in: int, step: int) -> list[nn.Module]:
            return self._conv_bn(
                channels_in, planes, kernel_size, step, dilation, padding, groups, separable, normalization, norm_groups
            )

        convs: list[nn.Module] = []
        channels = inplanes
        for _ in range(repeat - 1):
            convs += [*conv_bn(channels, 1 if stride_last else stride), activation, nn.Dropout(p=dropout)]
            channels = planes
        convs += conv_bn(channels, stride)
        if se:
            convs.append(SqueezeExcite(planes, se_reduction_ratio, activation))
        self.mconv = nn.ModuleList(convs)
        if residual:
            # NeMo's residual branch: a 1x1 convolution (never separable) and a norm, strided only for stride_add.
            step = stride if residual_mode == "stride_add" else 1
            branch = self._conv_bn(inplanes, planes, 1, step, normalization=normalization, norm_groups=norm_groups)
            self.res: nn.ModuleList | None = nn.ModuleList([nn.ModuleList(branch)])
        else:
            self.res = None
        self.mout = nn.Sequential(activation, nn.Dropout(p=dropout))

    def _conv(self, channels_in: int, channels_out: int, kernel_size: int, **settings: Any) -> nn.Module:
        if self.conv_mask:
            return MaskedConv1d(channels_in, channels_out, kernel_size, bias=False, **settings)
        return nn.Conv1d(channels_in, channels_out, kernel_size, bias=False, **settings)

    def _conv_bn(
        self,
        channels_in: int,
        channels_out: int,
        kernel_size: int,
        stride: int,
        dilation: int = 1,
        padding: int = 0,
        groups: int = 1,
        separable: bool = False,
        normalization: str = "batch",
        norm_groups: int = -1,
    ) -> list[nn.Module]:
        shape = {"stride": stride, "dilation": dilation, "padding": padding}
        if separable:
            layers = [
                self._conv(channels_in, channels_in, kernel_size, groups=channels_in, **shape),
                self._conv(channels_in, channels_out, 1, groups=groups),
            ]
        else:
            layers = [self._conv(channels_in, channels_out, kernel_size, groups=groups, **shape)]
        layers.append(_normalization(normalization, channels_out, norm_groups))
        if groups > 1:
            layers.append(_Shuffle(groups, channels_out))
        return layers

    def forward(self, input_: tuple[list[Tensor], Tensor]) -> tuple[list[Tensor], Tensor]:
        xs, lens_orig = input_
        out, lens = xs[-1], lens_orig
        for layer in self.mconv:
            if isinstance(layer, MaskedConv1d | SqueezeExcite):
                out, lens = layer(out, lens)
            else:
                out = layer(out)
        if self.res is not None:
            residual = xs[-1]
            branch = self.res[0]
            assert isinstance(branch, nn.ModuleList)
            for res_layer in branch:
                residual = (
                    res_layer(residual, lens_orig)[0] if isinstance(res_layer, MaskedConv1d) else res_layer(residual)
                )
            out = torch.max(out, residual) if self.residual_mode == "max" else out + residual
        return [self.mout(out)], lens


def _initialise(module: nn.Module, mode: str | None) -> None:
    """NeMo's ``init_weights``: convolution and linear weights by ``mode``, batch norm reset."""
    if isinstance(module, nn.Conv1d | nn.Linear) and mode is not None:
        initialisers: dict[str, Callable[[Tensor], Any]] = {
            "xavier_uniform": lambda w: nn.init.xavier_uniform_(w, gain=1.0),
            "xavier_normal": lambda w: nn.init.xavier_normal_(w, gain=1.0),
            "kaiming_uniform": lambda w: nn.init.kaiming_uniform_(w, nonlinearity="relu"),
            "kaiming_normal": lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"),
        }
        if mode not in initialisers:
            raise ValueError(f"unknown init_mode {mode!r}; choose one of {sorted(initialisers)} or None")
        initialisers[mode](module.weight)
    elif isinstance(module, nn.BatchNorm1d):
        module.reset_parameters()


def _plain_blocks(jasper: object) -> list[dict[str, Any]]:
    blocks = OmegaConf.to_container(jasper, resolve=True) if isinstance(jasper, ListConfig | DictConfig) else jasper
    if not isinstance(blocks, list) or not all(isinstance(block, Mapping) for block in blocks):
        raise TypeError("ConvASREncoder: jasper must be a list of block configs (mappings)")
    return [dict(block) for block in blocks]


def _check_block(index: int, block: Mapping[str, Any]) -> None:
    where = f"ConvASREncoder: jasper[{index}]"
    missing = [key for key in _REQUIRED_BLOCK_KEYS if key not in block]
    if missing:
        raise ValueError(f"{where} lacks {', '.join(missing)}")
    unknown = sorted(set(block) - set(_REQUIRED_BLOCK_KEYS) - set(_OPTIONAL_BLOCK_KEYS))
    if unknown:
        known = sorted([*_REQUIRED_BLOCK_KEYS, *_OPTIONAL_BLOCK_KEYS])
        raise ValueError(f"{where} has unknown keys {unknown}; the keys of a block are {known}")
    for key, supported in _OPTIONAL_BLOCK_KEYS.items():
        if supported is not None and key in block and block[key] not in supported:
            raise ValueError(f"{where}.{key}={block[key]!r} is not supported: {_UNSUPPORTED_WHY.get(key, supported)}")


def _kernel(block: Mapping[str, Any]) -> int:
    """The block's kernel width, scaled by ``kernel_size_factor`` and kept odd (NeMo's rule)."""
    scaled = max(int(_first(block["kernel"]) * float(block.get("kernel_size_factor", 1.0))), 1)
    return scaled + 1 if scaled % 2 == 0 else scaled


class ConvASREncoderOutput(NamedTuple):
    """Encodings, one vector per output frame (fewer frames after strides), and their lengths."""

    outputs: NT[Tensor, "B D_enc T_enc", AcousticEncodedRepresentation, "float"]
    encoded_lengths: NT[Tensor, "B", LengthsType, "int"]


class ConvASREncoder(NeuralModule):
    """Jasper and QuartzNet encoders: ``nemo.collections.asr.modules.ConvASREncoder``.

    Args:
        jasper: the blocks, NeMo's list of mappings; see the module docstring for the keys.
        activation: ``relu``, ``hardtanh``, ``selu``, ``swish``/``silu``, ``gelu`` or ``identity``.
        feat_in: input feature size (mel bands).
        normalization_mode: ``batch``, ``layer``, ``group`` or ``instance``.
        residual_mode: ``add``, ``stride_add`` or ``max``.
        norm_groups: groups of ``group`` normalization (-1: one per channel).
        conv_mask: zero padded frames before every convolution.
        frame_splicing: multiplies ``feat_in`` (the preprocessor splices frames).
        init_mode: NeMo's weight initialisation (``xavier_uniform`` ...), or None for torch's.
        quantize: refused (needs NVIDIA's pytorch-quantization).
    """

    def __init__(
        self,
        jasper: Sequence[Mapping[str, Any]] | ListConfig,
        activation: str,
        feat_in: int,
        normalization_mode: str = "batch",
        residual_mode: str = "add",
        norm_groups: int = -1,
        conv_mask: bool = True,
        frame_splicing: int = 1,
        init_mode: str | None = "xavier_uniform",
        quantize: bool = False,
    ) -> None:
        super().__init__()
        if quantize:
            raise ValueError("ConvASREncoder: quantize=True is not supported (it needs pytorch-quantization)")
        if activation not in ACTIVATIONS:
            raise ValueError(f"ConvASREncoder: unknown activation {activation!r}; choose one of {sorted(ACTIVATIONS)}")
        if normalization_mode not in _NORMALIZATIONS:
            raise ValueError(f"ConvASREncoder: normalization_mode must be one of {_NORMALIZATIONS}")
        if residual_mode not in _RESIDUAL_MODES:
            raise ValueError(f"ConvASREncoder: residual_mode must be one of {_RESIDUAL_MODES}")
        act = ACTIVATIONS[activation]()
        self._feat_in = feat_in * frame_splicing
        channels = self._feat_in
        self._subsampling_factor = 1
        layers = []
        for index, block in enumerate(_plain_blocks(jasper)):
            _check_block(index, block)
            layers.append(
                JasperBlock(
                    channels,
                    int(block["filters"]),
                    repeat=int(block["repeat"]),
                    kernel_size=_kernel(block),
                    stride=_first(block["stride"]),
                    dilation=_first(block["dilation"]),
                    dropout=float(block["dropout"]),
                    activation=act,
                    residual=bool(block["residual"]),
                    groups=int(block.get("groups", 1)),
                    separable=bool(block.get("separable", False)),
                    normalization=normalization_mode,
                    norm_groups=norm_groups,
                    residual_mode=block.get("residual_mode", residual_mode),
                    conv_mask=conv_mask,
                    se=bool(block.get("se", False)),
                    se_reduction_ratio=int(block.get("se_reduction_ratio", 8)),
                    stride_last=bool(block.get("stride_last", False)),
                )
            )
            channels = int(block["filters"])
            self._subsampling_factor *= _first(block["stride"])
        self._feat_out = channels
        self.encoder = nn.Sequential(*layers)
        self.apply(lambda module: _initialise(module, init_mode))

    @property
    def subsampling_factor(self) -> int:
        """How many input frames make one output frame (the product of the blocks' strides)."""
        return self._subsampling_factor

    def input_example(
        self,
        max_batch: int | None = None,
        max_dim: int | None = None,
        *,
        sizes: Mapping[str, int] | None = None,
        seed: int = 0,
    ) -> tuple[Tensor, ...]:
        """Example features of ``feat_in`` bands (NeMo's defaults: batch 1, 8192 frames) and full lengths."""
        batch = 1 if max_batch is None else max_batch
        frames = 8192 if max_dim is None else max_dim
        given = {"D": self._feat_in, **(sizes or {})}
        return super().input_example(batch, frames, sizes=given, seed=seed)

    def forward(
        self,
        audio_signal: NT[Tensor, "B D T", SpectrogramType, "float"],
        length: NT[Tensor, "B", LengthsType, "int"],
    ) -> ConvASREncoderOutput:
        features, encoded_lengths = self.encoder(([audio_signal], length))
        return ConvASREncoderOutput(features[-1], encoded_lengths)


class ConvASRDecoder(NeuralModule):
    """A per-frame linear layer and log-softmax over the vocabulary plus the CTC blank (the last class):
    ``nemo.collections.asr.modules.ConvASRDecoder``.

    Args:
        feat_in: encoding size.
        num_classes: vocabulary size without the blank; 0 or less takes ``len(vocabulary)``.
        init_mode: NeMo's weight initialisation.
        vocabulary: the labels, whose count must equal ``num_classes``.
        add_blank: add the blank class.
    """

    def __init__(
        self,
        feat_in: int,
        num_classes: int,
        init_mode: str | None = "xavier_uniform",
        vocabulary: Sequence[str] | ListConfig | None = None,
        add_blank: bool = True,
    ) -> None:
        super().__init__()
        labels = None if vocabulary is None else [str(label) for label in vocabulary]
        if labels is None and num_classes < 0:
            raise ValueError("ConvASRDecoder: give num_classes or vocabulary")
        if num_classes <= 0 and labels is not None:
            num_classes = len(labels)
        if labels is not None and num_classes != len(labels):
            raise ValueError(f"ConvASRDecoder: num_classes={num_classes}, but the vocabulary has {len(labels)} labels")
        self._vocabulary = labels
        self._feat_in = feat_in
        self._num_classes = num_classes + 1 if add_blank else num_classes
        self.decoder_layers = nn.Sequential(nn.Conv1d(feat_in, self._num_classes, kernel_size=1, bias=True))
        self.apply(lambda module: _initialise(module, init_mode))
        self.temperature = 1.0

    @property
    def vocabulary(self) -> list[str] | None:
        """The labels, in class order (the blank is not among them)."""
        return self._vocabulary

    @property
    def num_classes_with_blank(self) -> int:
        """Output classes: the vocabulary and the blank."""
        return self._num_classes

    def forward(
        self, encoder_output: NT[Tensor, "B D T", AcousticEncodedRepresentation, "float"]
    ) -> NT[Tensor, "B T C", LogprobsType, "float"]:
        logits = self.decoder_layers(encoder_output).transpose(1, 2)
        return torch.log_softmax(logits / self.temperature if self.temperature != 1.0 else logits, dim=-1)
