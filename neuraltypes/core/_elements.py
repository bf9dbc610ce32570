"""Element types: what the numbers in a tensor mean. NeMo's 42 types with NeMo's hierarchy and names.

The root ``ElementType`` and the types of what models compute (features, scores, labels, lengths, losses) and
of bookkeeping (indices, strings, distributions) are here; the types of media (audio, video and image values)
are in :mod:`._media_elements`.

Define your own with a one-line subclass; the docstring becomes its description::

    class AttentionWeights(ProbsType):
        \"\"\"Attention weights: probabilities over the keys.\"\"\"
"""

from __future__ import annotations

from typing import Any, ClassVar

from ._comparison import NeuralTypeComparisonResult

__all__ = [
    "AcousticEncodedRepresentation",
    "BoolType",
    "CategoricalValuesType",
    "ChannelType",
    "ClassificationTarget",
    "ElementType",
    "EmbeddedTextType",
    "EncodedRepresentation",
    "FloatType",
    "HypothesisType",
    "Index",
    "IntType",
    "LabelsType",
    "Length",
    "LengthsType",
    "LogDeterminantType",
    "LogitsType",
    "LogprobsType",
    "LossType",
    "MFCCSpectrogramType",
    "MaskType",
    "MelSpectrogramType",
    "NormalDistributionLogVarianceType",
    "NormalDistributionMeanType",
    "NormalDistributionSamplesType",
    "PredictionsType",
    "ProbabilityDistributionSamplesType",
    "ProbsType",
    "RegressionValuesType",
    "SequenceToSequenceAlignmentType",
    "SpectrogramType",
    "StringLabel",
    "StringType",
    "Target",
    "TokenDurationType",
    "TokenIndex",
    "TokenLogDurationType",
    "VoidType",
    "element_type_names",
]


class ElementType:
    """Root of the element-type hierarchy. Instances are immutable and compare by class and parameters.

    Subclasses with parameters (``AudioSignal(freq)``) list them in ``_parameter_names`` and set them in
    ``__init__`` through ``_set_parameters``; plain subclasses need no constructor.
    """

    _parameter_names: ClassVar[tuple[str, ...]] = ()
    __slots__ = ("_parameters",)
    _parameters: tuple[Any, ...]

    def __init__(self) -> None:
        self._set_parameters()

    def _set_parameters(self, *values: Any) -> None:
        object.__setattr__(self, "_parameters", values)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    @property
    def type_parameters(self) -> dict[str, Any]:
        """The parameters, by name (NeMo's API): ``{"freq": 16000}`` for ``AudioSignal(16000)``."""
        return dict(zip(self._parameter_names, self._parameters, strict=True))

    @property
    def fields(self) -> tuple[str, ...]:
        """The parameter names (NeMo's API)."""
        return self._parameter_names

    def compare(self, second: ElementType) -> NeuralTypeComparisonResult:
        """Compare this declared element type with an incoming one (NeMo's rules)."""
        first_t, second_t = type(self), type(second)
        if first_t is not second_t:
            if issubclass(first_t, second_t):
                return NeuralTypeComparisonResult.LESS
            if issubclass(second_t, first_t):
                return NeuralTypeComparisonResult.GREATER
            return NeuralTypeComparisonResult.INCOMPATIBLE
        for mine, theirs in zip(self._parameters, second._parameters, strict=True):
            # A parameter that is None on either side is not compared (NeMo treats it as Void).
            if mine is not None and theirs is not None and mine != theirs:
                return NeuralTypeComparisonResult.SAME_TYPE_INCOMPATIBLE_PARAMS
        return NeuralTypeComparisonResult.SAME

    def __reduce__(self) -> tuple[type[ElementType], tuple[Any, ...]]:
        return (type(self), self._parameters)

    def __copy__(self) -> ElementType:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> ElementType:
        return self

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ElementType):
            return NotImplemented
        return type(self) is type(other) and self._parameters == other._parameters

    def __hash__(self) -> int:
        return hash((type(self), self._parameters))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.type_parameters.items() if v is not None)
        return f"{type(self).__name__}({args})"

    def __str__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.type_parameters.items() if v is not None)
        return f"{type(self).__name__}({args})" if args else type(self).__name__

    def describe(self) -> str:
        """A sentence on what the numbers mean (the class docstring)."""
        return (type(self).__doc__ or type(self).__name__).strip()


class VoidType(ElementType):
    """Any element type: as the declared type it accepts everything; as an incoming one it matches nothing typed."""

    __slots__ = ()

    def compare(self, second: ElementType) -> NeuralTypeComparisonResult:
        return NeuralTypeComparisonResult.SAME


class ChannelType(ElementType):
    """Values in a channel dimension."""

    __slots__ = ()


class EmbeddedTextType(ChannelType):
    """Embedded text."""

    __slots__ = ()


class EncodedRepresentation(ChannelType):
    """Encoded representation, for example an encoder's output."""

    __slots__ = ()


class AcousticEncodedRepresentation(EncodedRepresentation):
    """Encoded representation of audio, for example an acoustic encoder's output."""

    __slots__ = ()


class SpectrogramType(ChannelType):
    """A spectrogram."""

    __slots__ = ()


class MelSpectrogramType(SpectrogramType):
    """A mel spectrogram."""

    __slots__ = ()


class MFCCSpectrogramType(SpectrogramType):
    """MFCC features."""

    __slots__ = ()


class LogitsType(ElementType):
    """Unnormalized scores (logits)."""

    __slots__ = ()


class ProbsType(ElementType):
    """Probabilities."""

    __slots__ = ()


class LogprobsType(ElementType):
    """Log-probabilities."""

    __slots__ = ()


class LabelsType(ElementType):
    """Labels (class indices)."""

    __slots__ = ()


class HypothesisType(LabelsType):
    """Hypotheses, for example decoded token sequences."""

    __slots__ = ()


class PredictionsType(LabelsType):
    """Predictions."""

    __slots__ = ()


class RegressionValuesType(PredictionsType):
    """Regression values."""

    __slots__ = ()


class CategoricalValuesType(PredictionsType):
    """Categorical values."""

    __slots__ = ()


class MaskType(PredictionsType):
    """A mask."""

    __slots__ = ()


class LengthsType(ElementType):
    """Lengths of sequences."""

    __slots__ = ()


class LossType(ElementType):
    """A loss value."""

    __slots__ = ()


class Index(ElementType):
    """Indices."""

    __slots__ = ()


class Target(ElementType):
    """Targets."""

    __slots__ = ()


class ClassificationTarget(Target):
    """Classification targets."""

    __slots__ = ()


class StringType(ElementType):
    """Strings."""

    __slots__ = ()


class StringLabel(StringType):
    """String labels."""

    __slots__ = ()


class BoolType(ElementType):
    """Booleans."""

    __slots__ = ()


class IntType(ElementType):
    """Integers."""

    __slots__ = ()


class TokenIndex(IntType):
    """Token indices."""

    __slots__ = ()


class Length(IntType):
    """A length (unrelated to LengthsType, as in NeMo)."""

    __slots__ = ()


class FloatType(ElementType):
    """Floats."""

    __slots__ = ()


class ProbabilityDistributionSamplesType(ElementType):
    """Samples from a probability distribution."""

    __slots__ = ()


class NormalDistributionSamplesType(ProbabilityDistributionSamplesType):
    """Samples from a normal distribution."""

    __slots__ = ()


class SequenceToSequenceAlignmentType(ElementType):
    """A sequence-to-sequence alignment."""

    __slots__ = ()


class NormalDistributionMeanType(ElementType):
    """The mean of a normal distribution."""

    __slots__ = ()


class NormalDistributionLogVarianceType(ElementType):
    """The log variance of a normal distribution."""

    __slots__ = ()


class TokenDurationType(ElementType):
    """Token durations."""

    __slots__ = ()


class TokenLogDurationType(ElementType):
    """Token log-durations."""

    __slots__ = ()


class LogDeterminantType(ElementType):
    """A log-determinant."""

    __slots__ = ()


def element_type_names() -> list[str]:
    """The names of the element types defined so far: NeMo's 42 and every subclass the program has defined."""
    names: set[str] = set()
    pending: list[type[ElementType]] = [ElementType]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        names.add(cls.__name__)
    return sorted(names - {"ElementType"})
