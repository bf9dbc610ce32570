"""The typed module collection: what each module computes, that padding never leaks, and its typed ports."""

import subprocess
import sys

import pytest
import torch
from neuraltypes_modules.data import AudioBatch, SyntheticKeywords, SyntheticTopics, TextBatch
from neuraltypes_modules.decoders import ClassificationDecoder, CTCDecoder
from neuraltypes_modules.encoders import ConvEncoder, TransformerEncoder
from neuraltypes_modules.losses import CrossEntropyLoss, CTCLoss
from neuraltypes_modules.preprocessing import AudioToMelSpectrogram, mel_filterbank
from neuraltypes_modules.text import TextEncoder
from torch.nn import functional

from neuraltypes import (
    AcousticEncodedRepresentation,
    EncodedRepresentation,
    LogitsType,
    LogprobsType,
    LossType,
    MelSpectrogramType,
    NeuralType,
)
from neuraltypes.models import batch_class_of, batch_types_of
from neuraltypes.runtime import NeuralTypeError


def _lengths(*values: int) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.int64)


def test_mel_filters_are_triangles_peaking_at_one_in_increasing_order() -> None:
    filters = mel_filterbank(sample_rate=8000, n_fft=256, n_mels=16, f_min=0.0, f_max=4000.0)
    assert filters.shape == (16, 129)
    assert filters.min() >= 0
    assert torch.all(filters.max(dim=1).values <= 1.0)
    assert torch.all(filters.max(dim=1).values > 0.5)
    peaks = filters.argmax(dim=1)
    assert torch.all(peaks[1:] > peaks[:-1])


def test_preprocessor_frames_follow_the_hop_and_padding_frames_are_zero() -> None:
    preprocessor = AudioToMelSpectrogram(sample_rate=8000, n_fft=256, hop_length=80, n_mels=16)
    signal = torch.randn(2, 1600)
    features, frames = preprocessor(input_signal=signal, length=_lengths(1600, 800))
    assert features.shape == (2, 16, 21)
    assert frames.tolist() == [21, 11]
    assert torch.all(features[1, :, 11:] == 0)
    assert torch.all(features[1, :, :11].abs().sum(dim=0) > 0)


def test_preprocessor_features_do_not_depend_on_how_much_padding_follows() -> None:
    preprocessor = AudioToMelSpectrogram(sample_rate=8000, n_fft=256, hop_length=80, n_mels=16)
    clip = torch.randn(1, 800)
    alone = preprocessor(input_signal=clip, length=_lengths(800)).processed_signal
    padded = preprocessor(input_signal=functional.pad(clip, (0, 800)), length=_lengths(800)).processed_signal
    torch.testing.assert_close(padded[..., :11], alone, atol=1e-5, rtol=1e-5)


def test_preprocessor_rejects_a_waveform_with_a_channel_axis() -> None:
    preprocessor = AudioToMelSpectrogram(n_mels=16)
    with pytest.raises(NeuralTypeError, match=r"parameter 'input_signal': has 3 axes, expected 2 \(B T_audio\)"):
        preprocessor(input_signal=torch.randn(2, 1, 800), length=_lengths(800, 800))


@pytest.mark.parametrize("encoder_class", [ConvEncoder, TransformerEncoder])
def test_encoders_keep_time_and_ignore_padding(encoder_class: type[ConvEncoder | TransformerEncoder]) -> None:
    torch.manual_seed(0)
    encoder = encoder_class(feat_in=8, hidden=16).eval()
    features = torch.randn(1, 8, 10)
    with torch.no_grad():
        alone = encoder(audio_signal=features, length=_lengths(10))
        padded = encoder(audio_signal=functional.pad(features, (0, 6), value=3.0), length=_lengths(10))
    assert alone.encoded.shape == (1, 16, 10)
    assert padded.encoded.shape == (1, 16, 16)
    torch.testing.assert_close(padded.encoded[..., :10], alone.encoded, atol=1e-5, rtol=1e-5)
    assert torch.all(padded.encoded[..., 10:] == 0)
    assert encoder.output_types == {
        "encoded": NeuralType("B D_enc T", AcousticEncodedRepresentation(), dtype="float"),
        "encoded_length": encoder.input_types["length"],  # type: ignore[index]
    }


def test_encoders_reject_lengths_of_another_batch() -> None:
    encoder = ConvEncoder(feat_in=8, hidden=16)
    with pytest.raises(NeuralTypeError, match=r"parameter 'length': axis 0 'B' has size 3, but B=2 was bound"):
        encoder(audio_signal=torch.randn(2, 8, 10), length=_lengths(10, 10, 10))


def test_a_conv_encoder_needs_an_odd_kernel() -> None:
    with pytest.raises(ValueError, match="kernel_size must be odd to keep the time axis, got 4"):
        ConvEncoder(feat_in=8, kernel_size=4)


def test_classification_head_averages_only_valid_steps() -> None:
    decoder = ClassificationDecoder(feat_in=4, num_classes=3)
    encoded = torch.randn(1, 4, 5)
    short = decoder(encoder_output=encoded[..., :3], length=_lengths(3))
    masked = decoder(encoder_output=encoded, length=_lengths(3))
    torch.testing.assert_close(masked, short)
    assert decoder.output_types == {"output": NeuralType("B C", LogitsType(), dtype="float")}


def test_classification_head_refuses_mel_features_by_meaning() -> None:
    preprocessor = AudioToMelSpectrogram(sample_rate=8000, n_fft=256, hop_length=80, n_mels=16)
    features = preprocessor(input_signal=torch.randn(2, 800), length=_lengths(800, 800))
    decoder = ClassificationDecoder(feat_in=16, num_classes=3)
    with pytest.raises(NeuralTypeError, match=r"MelSpectrogramType.*not accepted where.*EncodedRepresentation"):
        decoder(encoder_output=features.processed_signal, length=features.processed_length)


def test_ctc_decoder_gives_log_probabilities_with_a_blank_and_ctc_loss_matches_torch() -> None:
    decoder = CTCDecoder(feat_in=8, num_classes=5)
    encoder = ConvEncoder(feat_in=8, hidden=8)
    encoded = encoder(audio_signal=torch.randn(2, 8, 12), length=_lengths(12, 9))
    log_probs = decoder(encoder_output=encoded.encoded)
    assert log_probs.shape == (2, 12, 6)
    assert decoder.blank == 5
    torch.testing.assert_close(log_probs.exp().sum(-1), torch.ones(2, 12))
    assert decoder.output_types == {"output": NeuralType("B T C", LogprobsType(), dtype="float")}

    targets, target_lengths = torch.tensor([[1, 2, 3], [4, 4, 0]]), _lengths(3, 2)
    loss = CTCLoss(blank=5)(
        log_probs=log_probs, targets=targets, input_lengths=encoded.encoded_length, target_lengths=target_lengths
    )
    expected = functional.ctc_loss(log_probs.transpose(0, 1), targets, _lengths(12, 9), target_lengths, blank=5)
    torch.testing.assert_close(loss, expected)


def test_cross_entropy_matches_torch_and_is_a_typed_scalar() -> None:
    logits, labels = torch.randn(4, 3), torch.tensor([0, 2, 1, 2])
    loss = CrossEntropyLoss(label_smoothing=0.1)(logits=logits, labels=labels)
    torch.testing.assert_close(loss, functional.cross_entropy(logits, labels, label_smoothing=0.1))
    assert CrossEntropyLoss().output_types == {"output": NeuralType("", LossType(), dtype="float")}


def test_cross_entropy_rejects_float_labels() -> None:
    with pytest.raises(NeuralTypeError, match=r"parameter 'labels'"):
        CrossEntropyLoss()(logits=torch.randn(4, 3), labels=torch.rand(4))


def test_text_encoder_ignores_padding_tokens() -> None:
    torch.manual_seed(0)
    encoder = TextEncoder(vocab_size=20, hidden=8, num_heads=2).eval()
    tokens = torch.tensor([[3, 4, 5]])
    with torch.no_grad():
        alone = encoder(tokens=tokens, length=_lengths(3))
        padded = encoder(tokens=torch.tensor([[3, 4, 5, 0, 0]]), length=_lengths(3))
    torch.testing.assert_close(padded.encoded[..., :3], alone.encoded, atol=1e-5, rtol=1e-5)
    assert encoder.output_types["encoded"] == NeuralType("B D T", EncodedRepresentation(), dtype="float")  # type: ignore[index]


def test_synthetic_keywords_are_deterministic_balanced_and_typed() -> None:
    dataset = SyntheticKeywords(num_samples=8, num_classes=4, sample_rate=8000, min_seconds=0.1, max_seconds=0.2)
    again = SyntheticKeywords(num_samples=8, num_classes=4, sample_rate=8000, min_seconds=0.1, max_seconds=0.2)
    assert torch.equal(dataset[3].signal, again[3].signal)
    assert not torch.equal(dataset[3].signal, SyntheticKeywords(num_samples=8, seed=1)[3].signal)
    assert [dataset[i].label for i in range(8)] == [0, 1, 2, 3, 0, 1, 2, 3]
    assert all(800 <= dataset[i].signal.shape[0] <= 1600 for i in range(8))
    batch = dataset.collate_fn([dataset[0], dataset[1]])
    assert isinstance(batch, AudioBatch)
    assert batch.input_signal.shape == (2, int(batch.input_signal_length.max()))
    assert batch_class_of(dataset) is AudioBatch
    assert set(batch_types_of(AudioBatch)) == {"input_signal", "input_signal_length", "labels"}
    with pytest.raises(IndexError, match="index 8 out of range for 8 clips"):
        dataset[8]


def test_synthetic_topics_put_class_words_in_each_sequence() -> None:
    dataset = SyntheticTopics(num_samples=30, num_classes=3, vocab_size=50, topic_words=5, topic_rate=0.5)
    for index in range(30):
        tokens, label = dataset[index]
        topical = tokens[(tokens >= 1) & (tokens < 16)]
        assert torch.all((topical - 1) // 5 == label)
    batch = dataset.collate_fn([dataset[0], dataset[1]])
    assert isinstance(batch, TextBatch)
    assert batch.tokens.dtype == torch.int64
    assert torch.all(batch.tokens[0, batch.length[0] :] == 0)
    with pytest.raises(ValueError, match="vocab_size 10 leaves no filler tokens after 3 topics"):
        SyntheticTopics(vocab_size=10)


def test_mel_features_are_declared_as_mel_spectrograms() -> None:
    ports = AudioToMelSpectrogram().output_types
    assert ports is not None
    assert ports["processed_signal"] == NeuralType("B D T", MelSpectrogramType(), dtype="float")


def test_the_collection_and_typed_datasets_import_without_lightning() -> None:
    code = "import sys, neuraltypes_modules, neuraltypes.models; print('lightning' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
