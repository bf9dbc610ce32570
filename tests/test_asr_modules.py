"""NeMo's ASR modules as ported to neuraltypes_modules.asr: NeMo's arguments, lengths, masks and weight names."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest
import torch
from hydra.errors import InstantiationException
from neuraltypes_modules.asr import (
    AudioToMelSpectrogramPreprocessor,
    ConvASRDecoder,
    ConvASREncoder,
    CTCLoss,
    EncDecCTCModel,
    SpectrogramAugmentation,
    SyntheticSpeech,
    with_our_class_paths,
)
from neuraltypes_modules.audio_preprocessing import slaney_mel_filterbank
from neuraltypes_modules.ctc_models import ctc_greedy_decode, error_counts
from omegaconf import OmegaConf
from torch.nn import functional

from neuraltypes.runtime import NeuralTypeError

LABELS = list(" abcdefghijklmnopqrstuvwxyz'")


def _block(**changes: Any) -> dict[str, Any]:
    block = {
        "filters": 8,
        "repeat": 1,
        "kernel": [5],
        "stride": [1],
        "dilation": [1],
        "dropout": 0.0,
        "residual": False,
    }
    return {**block, **changes}


def _model_config(**changes: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "sample_rate": 8000,
        "labels": LABELS,
        "preprocessor": {
            "_target_": "neuraltypes_modules.asr.AudioToMelSpectrogramPreprocessor",
            "sample_rate": 8000,
            "features": 16,
            "n_fft": 256,
        },
        "encoder": {
            "_target_": "neuraltypes_modules.asr.ConvASREncoder",
            "feat_in": 16,
            "activation": "relu",
            "jasper": [_block(stride=[2], separable=True), _block(filters=12, kernel=[1])],
        },
        "decoder": {"_target_": "neuraltypes_modules.asr.ConvASRDecoder", "num_classes": -1, "vocabulary": LABELS},
    }
    config.update(changes)
    return config


def _speech(**changes: Any) -> dict[str, Any]:
    return {
        "dataset": {"_target_": "neuraltypes_modules.asr.SyntheticSpeech", "num_samples": 8},
        "batch_size": 4,
        **changes,
    }


# -- preprocessor ---------------------------------------------------------------------------------------------


def test_the_filterbank_is_slaney_area_normalised_mel() -> None:
    sample_rate, n_fft = 16000, 8192
    bank = slaney_mel_filterbank(sample_rate, n_fft, 40, 0.0, 8000.0)
    assert bank.shape == (40, n_fft // 2 + 1)
    # Slaney's normalisation: each triangle has unit area in Hz (up to the sampling of the frequency axis).
    areas = bank.sum(dim=1) * sample_rate / n_fft
    torch.testing.assert_close(areas[1:], torch.ones(39), atol=0.02, rtol=0)
    # The scale is linear below 1 kHz (200/3 Hz per mel): the first filters' peaks are evenly spaced.
    peaks = bank.argmax(dim=1).to(torch.float64) * sample_rate / n_fft
    spacing = peaks[1:6] - peaks[:5]
    torch.testing.assert_close(spacing, torch.full_like(spacing, float(spacing.mean())), atol=2.0, rtol=0)
    assert bool((peaks[1:] > peaks[:-1]).all())


def test_the_preprocessor_counts_frames_as_nemo_and_pads_to_a_multiple_of_16() -> None:
    preprocessor = AudioToMelSpectrogramPreprocessor(sample_rate=8000, features=16, n_fft=256).eval()
    signal = torch.randn(2, 4000)
    lengths = torch.tensor([4000, 2500])
    features, frames = preprocessor(input_signal=signal, length=lengths)
    assert frames.tolist() == [4000 // 80, 2500 // 80]
    assert features.shape == (2, 16, 64)  # 51 STFT frames, padded to 64
    assert bool((features[1, :, frames[1] :] == 0).all())
    valid = features[0, :, : frames[0]]
    torch.testing.assert_close(valid.mean(dim=1), torch.zeros(16), atol=1e-4, rtol=0)  # normalize: per_feature


def test_batch_padding_does_not_change_an_utterances_features() -> None:
    preprocessor = AudioToMelSpectrogramPreprocessor(sample_rate=8000, features=16, n_fft=256).eval()
    short = torch.randn(1, 2500)
    batch = torch.cat([short, torch.zeros(1, 1500)], dim=1).repeat(2, 1)
    batch[1] = torch.randn(4000)
    alone, frames = preprocessor(input_signal=short, length=torch.tensor([2500]))
    padded, _ = preprocessor(input_signal=batch, length=torch.tensor([2500, 4000]))
    count = int(frames[0])
    torch.testing.assert_close(padded[0, :, :count], alone[0, :, :count])


def test_the_window_can_be_given_in_samples_but_not_twice() -> None:
    preprocessor = AudioToMelSpectrogramPreprocessor(window_size=None, n_window_size=400, window_stride=0.01)
    assert (preprocessor.win_length, preprocessor.hop_length) == (400, 160)
    assert preprocessor.filter_banks.shape == (1, 64, 257)  # n_fft: the next power of two
    with pytest.raises(ValueError, match="give window_size or n_window_size, not both"):
        AudioToMelSpectrogramPreprocessor(window_size=0.02, n_window_size=400)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"frame_splicing": 3}, "frame_splicing=3 is not supported: frame splicing is not implemented"),
        ({"pad_to": "max"}, "pad_to='max' is not supported"),
        ({"nb_augmentation_prob": 0.5}, "nb_augmentation_prob=0.5 is not supported"),
        ({"use_torchaudio": True}, "use_torchaudio=True is not supported"),
        ({"mel_norm": 2}, "mel_norm=2 is not supported"),
        ({"window": "kaiser"}, "unknown window 'kaiser'"),
        ({"log_zero_guard_type": "max"}, "log_zero_guard_type must be 'add' or 'clamp'"),
    ],
)
def test_preprocessor_options_that_are_not_implemented_are_refused(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        AudioToMelSpectrogramPreprocessor(**arguments)


def test_an_argument_nemo_does_not_have_is_named() -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'n_mels'"):
        AudioToMelSpectrogramPreprocessor(n_mels=64)  # type: ignore[call-arg]
    with pytest.raises(InstantiationException, match="unexpected keyword argument 'n_mels'"):  # Hydra's, from configs
        AudioToMelSpectrogramPreprocessor.from_config_dict({"n_mels": 64})


def test_the_preprocessor_checks_its_input_types() -> None:
    preprocessor = AudioToMelSpectrogramPreprocessor()
    with pytest.raises(NeuralTypeError, match="input_signal"):
        preprocessor(input_signal=torch.randn(2, 3, 100), length=torch.tensor([100, 100]))


# -- augmentation ---------------------------------------------------------------------------------------------


def test_spec_augment_masks_bands_and_spans_within_each_length() -> None:
    torch.manual_seed(0)
    augment = SpectrogramAugmentation(freq_masks=2, time_masks=2, freq_width=4, time_width=5, mask_value=-9.0)
    spec = torch.randn(3, 20, 40)
    lengths = torch.tensor([40, 30, 12])
    out = augment(input_spec=spec, length=lengths)
    masked = out == -9.0
    assert bool(masked.any())
    for row, length in enumerate(lengths.tolist()):
        time_hits = masked[row].all(dim=0)
        assert not bool(time_hits[length:].any())  # spans start and end inside the utterance
    assert torch.equal(out[~masked], spec[~masked])
    assert bool((spec != -9.0).all())  # the input is not changed


def test_spec_cutout_draws_from_the_given_rng_and_tolerates_small_spectrograms() -> None:
    spec = torch.ones(2, 16, 30)
    cut = SpectrogramAugmentation(rect_masks=5, rect_time=120, rect_freq=50, rng=random.Random(3))
    again = SpectrogramAugmentation(rect_masks=5, rect_time=120, rect_freq=50, rng=random.Random(3))
    first = cut(input_spec=spec, length=torch.tensor([30, 30]))
    assert torch.equal(first, again(input_spec=spec, length=torch.tensor([30, 30])))
    assert bool((first == 0).any())
    assert bool((spec == 1).all())


def test_no_masks_leave_the_spectrogram_as_it_is() -> None:
    spec = torch.randn(1, 4, 6)
    assert SpectrogramAugmentation()(input_spec=spec, length=torch.tensor([6])) is spec
    with pytest.raises(ValueError, match="use_vectorized_spec_augment=False is not supported"):
        SpectrogramAugmentation(use_vectorized_spec_augment=False)


# -- encoder and decoder --------------------------------------------------------------------------------------


def test_strides_shorten_the_lengths_as_nemo_computes_them() -> None:
    encoder = ConvASREncoder([_block(stride=[2], kernel=[11]), _block(stride=[2])], "relu", feat_in=6).eval()
    lengths = torch.tensor([17, 9])
    outputs, encoded = encoder(audio_signal=torch.randn(2, 6, 17), length=lengths)
    once = (lengths - 1) // 2 + 1
    assert encoded.tolist() == ((once - 1) // 2 + 1).tolist()
    assert outputs.shape == (2, 8, 5)
    assert encoder.subsampling_factor == 4


@pytest.mark.parametrize("block", [_block(separable=True), _block(residual=True, repeat=3), _block(se=True)])
def test_padded_frames_do_not_leak_into_an_utterances_encodings(block: dict[str, Any]) -> None:
    encoder = ConvASREncoder([_block(stride=[2]), block], "relu", feat_in=6).eval()
    short = torch.randn(1, 6, 11)
    batch = torch.cat([torch.cat([short, torch.randn(1, 6, 9)], dim=2), torch.randn(1, 6, 20)])
    alone, length = encoder(audio_signal=short, length=torch.tensor([11]))
    padded, _ = encoder(audio_signal=batch, length=torch.tensor([11, 20]))
    count = int(length[0])
    torch.testing.assert_close(padded[0, :, :count], alone[0, :, :count])


def test_weight_names_are_nemos() -> None:
    """The names NeMo's JasperBlock gives (mconv: convs, norm, activation, dropout, SE; res: 1x1 conv, norm)."""
    encoder = ConvASREncoder(
        [_block(stride=[2], separable=True), _block(repeat=2, residual=True, separable=True, se=True, filters=16)],
        "relu",
        feat_in=6,
    )
    decoder = ConvASRDecoder(feat_in=16, num_classes=3)
    batch_norm = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    expected = {
        "encoder.0.mconv.0.conv.weight",
        "encoder.0.mconv.1.conv.weight",
        *(f"encoder.0.mconv.2.{name}" for name in batch_norm),
        "encoder.1.mconv.0.conv.weight",
        "encoder.1.mconv.1.conv.weight",
        *(f"encoder.1.mconv.2.{name}" for name in batch_norm),
        "encoder.1.mconv.5.conv.weight",
        "encoder.1.mconv.6.conv.weight",
        *(f"encoder.1.mconv.7.{name}" for name in batch_norm),
        "encoder.1.mconv.8.fc.0.weight",
        "encoder.1.mconv.8.fc.2.weight",
        "encoder.1.res.0.0.conv.weight",
        *(f"encoder.1.res.0.1.{name}" for name in batch_norm),
    }
    assert set(encoder.state_dict()) == expected
    assert set(decoder.state_dict()) == {"decoder_layers.0.weight", "decoder_layers.0.bias"}
    preprocessor = AudioToMelSpectrogramPreprocessor()
    assert set(preprocessor.state_dict()) == {"featurizer.window", "featurizer.fb"}


def test_squeeze_excitation_gates_each_channel_by_its_mean_over_valid_frames() -> None:
    encoder = ConvASREncoder([_block(se=True, kernel=[1])], "identity", feat_in=8, init_mode=None).eval()
    se = encoder.encoder[0].mconv[-1]
    x = torch.randn(1, 8, 5)
    lengths = torch.tensor([3])
    out, _ = se(torch.cat([x[:, :, :3], torch.full((1, 8, 2), 50.0)], dim=2), lengths)
    gate = torch.sigmoid(se.fc(x[:, :, :3].mean(dim=2)))
    torch.testing.assert_close(out[:, :, :3], x[:, :, :3] * gate[:, :, None])
    assert bool((out[:, :, 3:] == 0).all())


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"se_context_size": 32}, "jasper[0].se_context_size=32 is not supported: limited-context squeeze-excitation"),
        ({"heads": 4}, "jasper[0].heads=4 is not supported: multi-head depthwise convolutions"),
        ({"residual_dense": True}, "jasper[0].residual_dense=True is not supported: dense residual"),
        ({"future_context": 2}, "jasper[0].future_context=2 is not supported"),
        ({"filter": 8}, "jasper[0] has unknown keys ['filter']; the keys of a block are"),
    ],
)
def test_block_options_that_are_not_implemented_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        ConvASREncoder([_block(**changes)], "relu", feat_in=4)


def test_encoder_options_that_are_not_implemented_are_refused() -> None:
    with pytest.raises(ValueError, match=re.escape("jasper[0] lacks residual")):
        ConvASREncoder([{k: v for k, v in _block().items() if k != "residual"}], "relu", feat_in=4)
    with pytest.raises(ValueError, match="unknown activation 'tanh'"):
        ConvASREncoder([_block()], "tanh", feat_in=4)
    with pytest.raises(ValueError, match="quantize=True is not supported"):
        ConvASREncoder([_block()], "relu", feat_in=4, quantize=True)


def test_the_encoders_input_example_has_its_feature_size() -> None:
    encoder = ConvASREncoder([_block()], "relu", feat_in=6)
    features, lengths = encoder.input_example(max_batch=3, max_dim=20)
    assert features.shape == (3, 6, 20)
    assert lengths.tolist() == [20, 20, 20]
    assert encoder(audio_signal=features, length=lengths).outputs.shape == (3, 8, 20)


def test_the_decoder_takes_its_size_from_the_vocabulary() -> None:
    decoder = ConvASRDecoder(feat_in=4, num_classes=0, vocabulary=["a", "b"])
    assert decoder.num_classes_with_blank == 3
    assert decoder.vocabulary == ["a", "b"]
    log_probs = decoder(encoder_output=torch.randn(2, 4, 7))
    assert log_probs.shape == (2, 7, 3)
    torch.testing.assert_close(log_probs.exp().sum(dim=-1), torch.ones(2, 7))
    with pytest.raises(ValueError, match="num_classes=3, but the vocabulary has 2 labels"):
        ConvASRDecoder(feat_in=4, num_classes=3, vocabulary=["a", "b"])


# -- loss and metric ------------------------------------------------------------------------------------------


def test_ctc_loss_reductions_are_nemos() -> None:
    log_probs = torch.randn(2, 9, 4).log_softmax(dim=-1)
    targets = torch.tensor([[0, 1, 2], [2, 2, 0]])
    lengths, target_lengths = torch.tensor([9, 7]), torch.tensor([3, 2])
    each = functional.ctc_loss(log_probs.transpose(0, 1), targets, lengths, target_lengths, blank=3, reduction="none")
    arguments = {"log_probs": log_probs, "targets": targets, "input_lengths": lengths, "target_lengths": target_lengths}
    torch.testing.assert_close(CTCLoss(num_classes=3)(**arguments), each.mean())
    torch.testing.assert_close(CTCLoss(num_classes=3, reduction="mean_volume")(**arguments), each.sum() / 5)
    torch.testing.assert_close(CTCLoss(num_classes=3, reduction="none")(**arguments), each)
    with pytest.raises(ValueError, match="reduction must be one of"):
        CTCLoss(num_classes=3, reduction="max")


def test_greedy_decoding_merges_repeats_and_drops_blanks() -> None:
    frames = torch.tensor([[0, 0, 3, 0, 1, 1, 3, 3, 2]])
    log_probs = functional.one_hot(frames, 4).float().log()
    assert ctc_greedy_decode(log_probs, torch.tensor([9]), blank=3) == [[0, 0, 1, 2]]
    assert ctc_greedy_decode(log_probs, torch.tensor([5]), blank=3) == [[0, 0, 1]]


def test_word_and_character_error_counts() -> None:
    assert error_counts(["the cat sat", "a"], ["the hat sat", "a b"]) == (2, 5)
    assert error_counts(["cat"], ["cart"], use_cer=True) == (1, 4)


# -- the model ------------------------------------------------------------------------------------------------


def test_the_model_fills_the_decoder_size_from_the_encoder_and_vocabulary() -> None:
    model = EncDecCTCModel(_model_config())
    assert model.cfg.decoder.feat_in == 12
    assert model.cfg.decoder.num_classes == 28
    assert model.vocabulary == LABELS
    assert model.loss.blank == 28


def test_the_model_takes_audio_or_features_but_not_both() -> None:
    model = EncDecCTCModel(_model_config()).eval()
    audio, lengths = torch.randn(2, 4000), torch.tensor([4000, 3000])
    out = model(input_signal=audio, input_signal_length=lengths)
    assert out.outputs.shape[-1] == 29
    assert torch.equal(out.greedy_predictions, out.outputs.argmax(dim=-1))
    features, frames = model.preprocessor(input_signal=audio, length=lengths)
    again = model(processed_signal=features, processed_signal_length=frames)
    torch.testing.assert_close(again.outputs, out.outputs)
    with pytest.raises(ValueError, match="one pair, not both"):
        model(
            input_signal=audio, input_signal_length=lengths, processed_signal=features, processed_signal_length=frames
        )
    assert len(model.transcribe([audio[0], audio[1, :3000]], batch_size=1)) == 2


def test_spec_augment_runs_only_while_training() -> None:
    config = _model_config(
        spec_augment={"_target_": "neuraltypes_modules.asr.SpectrogramAugmentation", "time_masks": 4}
    )
    config["preprocessor"]["dither"] = 0.0
    model = EncDecCTCModel(config)
    assert isinstance(model.spec_augmentation, SpectrogramAugmentation)
    audio, lengths = torch.randn(1, 4000), torch.tensor([4000])

    def twice() -> tuple[torch.Tensor, torch.Tensor]:
        first = model(input_signal=audio, input_signal_length=lengths).outputs
        return first, model(input_signal=audio, input_signal_length=lengths).outputs

    torch.manual_seed(0)
    first, second = twice()
    assert not torch.equal(first, second)  # masks drawn afresh on every training step
    model.eval()
    first, second = twice()
    assert torch.equal(first, second)


def test_the_data_configs_take_nemos_keys_and_the_models_labels() -> None:
    model = EncDecCTCModel(_model_config())
    model.setup_training_data(_speech(shuffle=False, manifest_filepath=None, is_tarred=False, shuffle_n=2048))
    dataset = model.train_dataloader().dataset
    assert isinstance(dataset, SyntheticSpeech)
    assert dataset.labels == LABELS and dataset.sample_rate == 8000
    batch = next(iter(model.train_dataloader()))
    assert batch.input_signal.shape[0] == 4


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"manifest_filepath": "train.json"}, "train_ds.manifest_filepath='train.json': NeMo's manifest datasets are"),
        ({"trim_silence": True}, "train_ds.trim_silence=True: NeMo's manifest datasets are not provided"),
        ({"labels": ["a", "b"]}, "train_ds.labels differs from the model's labels"),
        ({"sample_rate": 16000}, "train_ds.sample_rate differs from the model's sample_rate"),
        ({"batchsize": 4}, "train_ds has unknown keys ['batchsize']"),
    ],
)
def test_data_configs_nemo_would_read_otherwise_are_refused(changes: dict[str, Any], message: str) -> None:
    model = EncDecCTCModel(_model_config())
    with pytest.raises(ValueError, match=re.escape(message)):
        model.setup_training_data(_speech(**changes))


def test_a_data_config_naming_no_dataset_says_what_to_write() -> None:
    model = EncDecCTCModel(_model_config())
    with pytest.raises(ValueError, match="name the dataset class under 'dataset:' by _target_"):
        model.setup_training_data({"batch_size": 4})
    with pytest.warns(UserWarning, match="test_ds: manifest_filepath is null and no dataset is named"):
        model.setup_test_data({"manifest_filepath": None, "batch_size": 4})
    assert model.test_dataloader() == []


def test_nemo_class_paths_are_rewritten_to_ours() -> None:
    config = OmegaConf.create(
        {
            "target": "nemo.collections.asr.models.ctc_models.EncDecCTCModel",
            "encoder": {"_target_": "nemo.collections.asr.modules.ConvASREncoder", "feat_in": "${n_mels}"},
            "spec": {"cls": "nemo.collections.asr.modules.SpectrogramAugmentation", "params": {}},
            "optim": {"sched": {"_target_": "torch.optim.lr_scheduler.StepLR"}},
            "n_mels": 8,
        }
    )
    ours = with_our_class_paths(config)
    assert ours.target == "neuraltypes_modules.asr.EncDecCTCModel"
    assert ours.encoder._target_ == "neuraltypes_modules.asr.ConvASREncoder"
    assert ours.spec.cls == "neuraltypes_modules.asr.SpectrogramAugmentation"
    assert ours.optim.sched._target_ == "torch.optim.lr_scheduler.StepLR"
    encoder = OmegaConf.to_container(ours.encoder)
    assert encoder == {"_target_": "neuraltypes_modules.asr.ConvASREncoder", "feat_in": "${n_mels}"}  # kept
    with pytest.raises(ValueError, match=re.escape("encoder._target_: nemo.collections.asr.modules.ConformerEncoder")):
        with_our_class_paths({"encoder": {"_target_": "nemo.collections.asr.modules.ConformerEncoder"}})
