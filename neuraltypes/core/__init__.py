"""The torch-free core: axis kinds, the axes grammar, element types, ``NeuralType`` and ``NT``.

Importing this package never imports torch; the mypy plugin depends on that.
"""

from ._axes import AxisKind as AxisKind
from ._axes import AxisKindAbstract as AxisKindAbstract
from ._axes import AxisType as AxisType
from ._axes import NamedAxisKind as NamedAxisKind
from ._axes import axis_kind_of_name as axis_kind_of_name
from ._axes import surprising_kind as surprising_kind
from ._comparison import NeuralTypeComparisonResult as NeuralTypeComparisonResult
from ._dims import BinOp as BinOp
from ._dims import Const as Const
from ._dims import DimExpr as DimExpr
from ._dims import Var as Var
from ._dtypes import DTYPE_FAMILIES as DTYPE_FAMILIES
from ._dtypes import dtype_names as dtype_names
from ._dtypes import meant_name as meant_name
from ._dtypes import normalize_dtype as normalize_dtype
from ._elements import AcousticEncodedRepresentation as AcousticEncodedRepresentation
from ._elements import BoolType as BoolType
from ._elements import CategoricalValuesType as CategoricalValuesType
from ._elements import ChannelType as ChannelType
from ._elements import ClassificationTarget as ClassificationTarget
from ._elements import ElementType as ElementType
from ._elements import EmbeddedTextType as EmbeddedTextType
from ._elements import EncodedRepresentation as EncodedRepresentation
from ._elements import FloatType as FloatType
from ._elements import HypothesisType as HypothesisType
from ._elements import Index as Index
from ._elements import IntType as IntType
from ._elements import LabelsType as LabelsType
from ._elements import Length as Length
from ._elements import LengthsType as LengthsType
from ._elements import LogDeterminantType as LogDeterminantType
from ._elements import LogitsType as LogitsType
from ._elements import LogprobsType as LogprobsType
from ._elements import LossType as LossType
from ._elements import MaskType as MaskType
from ._elements import MelSpectrogramType as MelSpectrogramType
from ._elements import MFCCSpectrogramType as MFCCSpectrogramType
from ._elements import NormalDistributionLogVarianceType as NormalDistributionLogVarianceType
from ._elements import NormalDistributionMeanType as NormalDistributionMeanType
from ._elements import NormalDistributionSamplesType as NormalDistributionSamplesType
from ._elements import PredictionsType as PredictionsType
from ._elements import ProbabilityDistributionSamplesType as ProbabilityDistributionSamplesType
from ._elements import ProbsType as ProbsType
from ._elements import RegressionValuesType as RegressionValuesType
from ._elements import SequenceToSequenceAlignmentType as SequenceToSequenceAlignmentType
from ._elements import SpectrogramType as SpectrogramType
from ._elements import StringLabel as StringLabel
from ._elements import StringType as StringType
from ._elements import Target as Target
from ._elements import TokenDurationType as TokenDurationType
from ._elements import TokenIndex as TokenIndex
from ._elements import TokenLogDurationType as TokenLogDurationType
from ._elements import VoidType as VoidType
from ._errors import NeuralPortNameMismatchError as NeuralPortNameMismatchError
from ._errors import NeuralPortNmTensorMismatchError as NeuralPortNmTensorMismatchError
from ._errors import NeuralTypeAnnotationError as NeuralTypeAnnotationError
from ._errors import NeuralTypeError as NeuralTypeError
from ._grammar import AxesSyntaxError as AxesSyntaxError
from ._grammar import format_axes as format_axes
from ._grammar import parse_axes as parse_axes
from ._grammar import surprising_kinds as surprising_kinds
from ._layout import AxisLayout as AxisLayout
from ._layout import SizeBindings as SizeBindings
from ._layout import kind_letter as kind_letter
from ._layout import sizes_clash as sizes_clash
from ._media_elements import AudioSignal as AudioSignal
from ._media_elements import ImageFeatureValue as ImageFeatureValue
from ._media_elements import ImageValue as ImageValue
from ._media_elements import NormalizedImageValue as NormalizedImageValue
from ._media_elements import VideoSignal as VideoSignal
from ._neural_type import NeuralType as NeuralType
from ._nt import NT as NT
from ._nt import neural_type_of as neural_type_of
from ._nt import reveal_neural_type as reveal_neural_type
from ._sizes import Misordered as Misordered
from ._sizes import ReshapeGroup as ReshapeGroup
from ._sizes import Size as Size
from ._sizes import infer_size as infer_size
from ._sizes import product as product
from ._sizes import provably_different as provably_different
from ._sizes import reshape_groups as reshape_groups
from ._sizes import size_of_expr as size_of_expr
from ._spelling import spell_type as spell_type
from ._version import __version__ as __version__

__all__ = [
    "AcousticEncodedRepresentation",
    "AudioSignal",
    "AxesSyntaxError",
    "AxisKind",
    "AxisKindAbstract",
    "AxisLayout",
    "AxisType",
    "BinOp",
    "BoolType",
    "CategoricalValuesType",
    "ChannelType",
    "ClassificationTarget",
    "Const",
    "DTYPE_FAMILIES",
    "DimExpr",
    "ElementType",
    "EmbeddedTextType",
    "EncodedRepresentation",
    "FloatType",
    "HypothesisType",
    "ImageFeatureValue",
    "ImageValue",
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
    "NT",
    "reveal_neural_type",
    "NamedAxisKind",
    "NeuralPortNameMismatchError",
    "NeuralPortNmTensorMismatchError",
    "NeuralType",
    "NeuralTypeAnnotationError",
    "NeuralTypeError",
    "NeuralTypeComparisonResult",
    "NormalDistributionLogVarianceType",
    "NormalDistributionMeanType",
    "NormalDistributionSamplesType",
    "NormalizedImageValue",
    "PredictionsType",
    "ProbabilityDistributionSamplesType",
    "ProbsType",
    "RegressionValuesType",
    "SequenceToSequenceAlignmentType",
    "SizeBindings",
    "SpectrogramType",
    "StringLabel",
    "StringType",
    "Target",
    "TokenDurationType",
    "TokenIndex",
    "TokenLogDurationType",
    "Var",
    "VideoSignal",
    "VoidType",
    "axis_kind_of_name",
    "dtype_names",
    "format_axes",
    "kind_letter",
    "meant_name",
    "neural_type_of",
    "normalize_dtype",
    "parse_axes",
    "sizes_clash",
    "spell_type",
    "surprising_kind",
    "surprising_kinds",
]
