"""Element types: NeMo's 42 types with NeMo's hierarchy, parameters, comparison and user subclasses."""

import copy

import pytest

import neuraltypes as nt
from neuraltypes import AudioSignal, ElementType, NeuralTypeComparisonResult, VideoSignal, VoidType

R = NeuralTypeComparisonResult

# NeMo's hierarchy, child -> parent, as listed in the semantics reference.
HIERARCHY = {
    **dict.fromkeys(
        [
            "VoidType",
            "ChannelType",
            "LogitsType",
            "ProbsType",
            "LogprobsType",
            "LabelsType",
            "LengthsType",
            "LossType",
            "AudioSignal",
            "VideoSignal",
            "Index",
            "Target",
            "ImageValue",
            "StringType",
            "BoolType",
            "IntType",
            "FloatType",
            "ProbabilityDistributionSamplesType",
            "SequenceToSequenceAlignmentType",
            "NormalDistributionMeanType",
            "NormalDistributionLogVarianceType",
            "TokenDurationType",
            "TokenLogDurationType",
            "LogDeterminantType",
        ],
        "ElementType",
    ),
    "EmbeddedTextType": "ChannelType",
    "EncodedRepresentation": "ChannelType",
    "SpectrogramType": "ChannelType",
    "AcousticEncodedRepresentation": "EncodedRepresentation",
    "MelSpectrogramType": "SpectrogramType",
    "MFCCSpectrogramType": "SpectrogramType",
    "HypothesisType": "LabelsType",
    "PredictionsType": "LabelsType",
    "RegressionValuesType": "PredictionsType",
    "CategoricalValuesType": "PredictionsType",
    "MaskType": "PredictionsType",
    "ClassificationTarget": "Target",
    "NormalizedImageValue": "ImageValue",
    "ImageFeatureValue": "ImageValue",
    "StringLabel": "StringType",
    "TokenIndex": "IntType",
    "Length": "IntType",
    "NormalDistributionSamplesType": "ProbabilityDistributionSamplesType",
}


def test_there_are_42_element_types_under_element_type() -> None:
    assert len(HIERARCHY) == 42


@pytest.mark.parametrize(("name", "parent"), sorted(HIERARCHY.items()))
def test_each_type_has_nemos_parent(name: str, parent: str) -> None:
    cls = getattr(nt, name)
    assert cls.__name__ == name
    assert cls.__bases__ == (getattr(nt, parent),)


def test_lengths_type_and_length_are_unrelated() -> None:
    assert nt.LengthsType().compare(nt.Length()) is R.INCOMPATIBLE


def test_compare_same_subclass_superclass_and_unrelated() -> None:
    enc, acoustic = nt.EncodedRepresentation(), nt.AcousticEncodedRepresentation()
    assert enc.compare(nt.EncodedRepresentation()) is R.SAME
    assert acoustic.compare(enc) is R.LESS
    assert enc.compare(acoustic) is R.GREATER
    assert nt.LogitsType().compare(nt.ProbsType()) is R.INCOMPATIBLE


def test_parameters_compared_unless_none() -> None:
    assert AudioSignal(16000).compare(AudioSignal(16000)) is R.SAME
    assert AudioSignal(16000).compare(AudioSignal(8000)) is R.SAME_TYPE_INCOMPATIBLE_PARAMS
    assert AudioSignal().compare(AudioSignal(8000)) is R.SAME
    assert AudioSignal(16000).compare(AudioSignal()) is R.SAME
    assert VideoSignal(25).compare(VideoSignal(30)) is R.SAME_TYPE_INCOMPATIBLE_PARAMS


def test_nemo_parameter_api() -> None:
    signal = AudioSignal(freq=22050)
    assert signal.type_parameters == {"freq": 22050}
    assert signal.fields == ("freq",)
    assert signal.sample_freq == 22050
    assert VideoSignal(fps=30).fps == 30
    assert nt.LogitsType().type_parameters == {}


def test_void_accepts_everything_but_is_not_accepted_by_typed() -> None:
    assert VoidType().compare(nt.LogitsType()) is R.SAME
    assert nt.LogitsType().compare(VoidType()) is R.INCOMPATIBLE


def test_equality_hash_and_immutability() -> None:
    assert AudioSignal(16000) == AudioSignal(16000)
    assert AudioSignal(16000) != AudioSignal(8000)
    assert nt.LogitsType() != nt.ProbsType()
    assert len({nt.LogitsType(), nt.LogitsType(), AudioSignal(1)}) == 2
    with pytest.raises(AttributeError, match="AudioSignal is immutable"):
        AudioSignal(1).freq = 2
    signal = AudioSignal(16000)
    assert copy.deepcopy(signal) is signal


def test_readable_str_and_repr() -> None:
    assert str(nt.LogitsType()) == "LogitsType"
    assert repr(nt.LogitsType()) == "LogitsType()"
    assert str(AudioSignal(16000)) == "AudioSignal(freq=16000)"
    assert nt.ProbsType().describe() == "Probabilities."


def test_user_type_is_a_one_line_subclass() -> None:
    class AttentionWeights(nt.ProbsType):
        """Attention weights: probabilities over the keys."""

    weights = AttentionWeights()
    assert weights.compare(AttentionWeights()) is R.SAME
    assert nt.ProbsType().compare(weights) is R.GREATER
    assert weights.describe() == "Attention weights: probabilities over the keys."
    assert isinstance(weights, ElementType)
