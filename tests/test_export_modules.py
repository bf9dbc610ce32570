"""Every typed module in ``modules/`` exports: torch.export with the derived shapes, and an ONNX file whose outputs
under onnxruntime equal eager torch's at two batch and time sizes, neither the example's (batch 2, time 256).

Two modules cannot, and the tests say why: the CTC losses call ``aten._ctc_loss``, whose output shape torch
computes from the target lengths' values (data-dependent: torch.export cannot trace it), and NeMo's
preprocessor pads frames to a multiple of 16 only when they are not one already (a branch on the size, which
ONNX cannot keep: with ``pad_to=0`` it exports). ``CrossEntropyLoss`` exports, but torch's ONNX exporter drops
label smoothing (``check_trace`` catches it). ``MiswiredClassifier`` is wired wrongly on purpose, and its own
run-time check refuses it while exporting.
"""

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import torch
from omegaconf import OmegaConf
from torch import Tensor

pytest.importorskip("onnxscript", reason="ONNX export needs the export extra")
onnxruntime = pytest.importorskip("onnxruntime", reason="ONNX export needs the export extra")

import neuraltypes_modules  # noqa: E402
from neuraltypes_modules.asr import (  # noqa: E402
    AudioToMelSpectrogramPreprocessor,
    ConvASRDecoder,
    ConvASREncoder,
    EncDecCTCModel,
    SpectrogramAugmentation,
)
from neuraltypes_modules.asr import CTCLoss as AsrCTCLoss  # noqa: E402
from neuraltypes_modules.configs import keyword_classifier_config, text_classifier_config  # noqa: E402
from neuraltypes_modules.decoders import ClassificationDecoder, CTCDecoder  # noqa: E402
from neuraltypes_modules.encoders import AcousticEncoder, ConvEncoder, TransformerEncoder  # noqa: E402
from neuraltypes_modules.examples.miswired_classifier import MiswiredClassifier  # noqa: E402
from neuraltypes_modules.examples.wired_classifier import WiredClassifier  # noqa: E402
from neuraltypes_modules.keyword_classifier import KeywordClassifier  # noqa: E402
from neuraltypes_modules.losses import CrossEntropyLoss, CTCLoss  # noqa: E402
from neuraltypes_modules.preprocessing import AudioToMelSpectrogram  # noqa: E402
from neuraltypes_modules.text import TextEncoder  # noqa: E402
from neuraltypes_modules.text_classifier import TextClassifier  # noqa: E402

from neuraltypes.core import LengthsType, NeuralType  # noqa: E402
from neuraltypes.export import DynamicShapesError, ExportError, export_onnx, export_program  # noqa: E402
from neuraltypes.nn import NeuralModule  # noqa: E402
from neuraltypes.runtime import NeuralTypeError  # noqa: E402

pytestmark = pytest.mark.slow  # a few seconds each: torch.export, torch's ONNX exporter, onnxruntime

QUARTZNET = Path(__file__).parent / "data" / "quartznet_tiny.yaml"


def _jasper(**changes: Any) -> dict[str, Any]:
    block = {"filters": 8, "repeat": 1, "kernel": [3], "stride": [1], "dilation": [1], "dropout": 0.0}
    return {**block, "residual": False, **changes}


@dataclass
class Case:
    """How to build a module, what its example fixes, and the two sizes (batch, time) the file is run at."""

    build: Callable[[], NeuralModule]
    sizes: dict[str, int] = field(default_factory=dict)  # what the types leave open but the weights fix
    times: tuple[int, int] = (40, 100)
    ports: tuple[str, ...] | None = None  # the inputs to export with (default: all typed inputs)
    options: dict[str, Any] = field(default_factory=dict)


CASES: dict[type[NeuralModule], Case] = {
    AudioToMelSpectrogram: Case(lambda: AudioToMelSpectrogram(8000, 256, 80, 32), times=(400, 1000)),
    ConvEncoder: Case(lambda: ConvEncoder(16, 32), {"D": 16}),
    TransformerEncoder: Case(lambda: TransformerEncoder(16, 32), {"D": 16}),
    ClassificationDecoder: Case(lambda: ClassificationDecoder(16, 5), {"D": 16}),
    CTCDecoder: Case(lambda: CTCDecoder(16, 5), {"D": 16}),
    CrossEntropyLoss: Case(CrossEntropyLoss, {"C": 5}),  # label smoothing: see the test below
    TextEncoder: Case(
        lambda: TextEncoder(50, 32, max_length=64), {"T": 32}, (20, 50), options={"ranges": {"T": (None, 64)}}
    ),
    KeywordClassifier: Case(lambda: KeywordClassifier(keyword_classifier_config()), times=(400, 1000)),
    TextClassifier: Case(
        lambda: TextClassifier(text_classifier_config()), {"T": 32}, (20, 50), options={"ranges": {"T": (None, 64)}}
    ),
    WiredClassifier: Case(WiredClassifier, times=(400, 1000)),
    AudioToMelSpectrogramPreprocessor: Case(
        lambda: AudioToMelSpectrogramPreprocessor(sample_rate=8000, features=16, n_fft=256, pad_to=0), times=(400, 1000)
    ),
    SpectrogramAugmentation: Case(SpectrogramAugmentation, {"D": 16}),  # no masks configured: what inference runs
    ConvASREncoder: Case(
        lambda: ConvASREncoder([_jasper(stride=[2], separable=True), _jasper(filters=12)], "relu", 16)
    ),
    ConvASRDecoder: Case(lambda: ConvASRDecoder(16, 5), {"D": 16}),
    EncDecCTCModel: Case(
        lambda: EncDecCTCModel(OmegaConf.load(QUARTZNET).model),
        {"D": 32},
        ports=("processed_signal", "processed_signal_length"),  # NeMo exports the model after its preprocessor
    ),
}

#: Modules that do not export, each with the test that shows why.
NOT_EXPORTED = {CTCLoss, AsrCTCLoss, MiswiredClassifier}
ABSTRACT = {AcousticEncoder}  # forward raises NotImplementedError: the subclasses are the modules


def _inputs(module: NeuralModule, case: Case, batch: int | None, time: int | None, seed: int) -> dict[str, Tensor]:
    sizes = {**case.sizes, **({"T": time} if time is not None and "T" in case.sizes else {})}
    example = module.input_example(batch, time, sizes=sizes, seed=seed)
    inputs = dict(zip(module.input_types or {}, example, strict=True))
    if case.ports is not None:
        inputs = {name: inputs[name] for name in case.ports}
    for name, value in inputs.items():
        port = (module.input_types or {})[name]
        if isinstance(port, NeuralType) and isinstance(port.elements_type, LengthsType) and batch is not None:
            value[0] = max(int(value[0]) // 2, 8)  # one shorter sequence in the batch, so masks matter
    return inputs


def _eager(module: NeuralModule, inputs: Mapping[str, Tensor]) -> list[Tensor]:
    module.eval()
    with torch.no_grad():
        result = module(**inputs)
    return list(result) if isinstance(result, tuple) else [result]


def _covered() -> set[type]:
    found = set()
    for info in pkgutil.walk_packages(neuraltypes_modules.__path__, "neuraltypes_modules."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, NeuralModule) and cls.__module__.startswith("neuraltypes_modules."):
                found.add(cls)
    return found


def test_every_module_in_modules_is_exported_or_says_why_not() -> None:
    assert _covered() == set(CASES) | NOT_EXPORTED | ABSTRACT


@pytest.mark.parametrize("cls", list(CASES), ids=lambda cls: cls.__name__)
def test_the_module_exports_and_onnxruntime_agrees_with_torch(cls: type[NeuralModule], tmp_path: Path) -> None:
    case = CASES[cls]
    torch.manual_seed(0)
    module = case.build().eval()
    example = _inputs(module, case, None, None, seed=0) if case.sizes or case.ports else None
    done = export_onnx(module, tmp_path / "m.onnx", example, **case.options)
    assert "B" in done.signature.sizes and done.signature.sizes["B"].dynamic
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    names = [value.name for value in session.get_inputs()]
    for seed, (batch, time) in enumerate(((3, case.times[0]), (5, case.times[1])), start=1):
        inputs = _inputs(module, case, batch, time, seed)
        got = session.run(None, {name: inputs[name].numpy() for name in names})
        expected = _eager(module, inputs)
        assert len(got) == len(expected)
        for mine, theirs in zip(expected, got, strict=True):
            torch.testing.assert_close(torch.from_numpy(theirs), mine, atol=1e-4, rtol=1e-4)


def test_the_keyword_classifier_with_a_transformer_encoder_exports(tmp_path: Path) -> None:
    # torch cannot prove one of its guards here (min(F+1, 4F+4) == F+1 for the frames F): it stays a run-time
    # assert, which the export checks holds for every size before writing ONNX, and notes.
    module = KeywordClassifier(keyword_classifier_config("TransformerEncoder")).eval()
    done = export_onnx(module, tmp_path / "m.onnx", check_trace=True)
    assert any(note.startswith("a run-time assert in the program") for note in done.signature.notes)
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    x, lengths = torch.randn(3, 1000), torch.tensor([1000, 500, 800])
    (got,) = session.run(None, {"input_signal": x.numpy(), "input_signal_length": lengths.numpy()})
    torch.testing.assert_close(
        torch.from_numpy(got), _eager(module, {"input_signal": x, "input_signal_length": lengths})[0]
    )


def test_the_demo_models_program_runs_at_other_sizes() -> None:
    module = KeywordClassifier(keyword_classifier_config())
    program = export_program(module).module()
    for batch, time in ((3, 400), (5, 1000)):
        x, lengths = torch.randn(batch, time), torch.full((batch,), time)
        torch.testing.assert_close(
            program(x, lengths), _eager(module, {"input_signal": x, "input_signal_length": lengths})[0]
        )


@pytest.mark.parametrize("cls", [CTCLoss, AsrCTCLoss], ids=lambda cls: f"{cls.__module__}.{cls.__name__}")
def test_the_ctc_losses_are_data_dependent(cls: type[NeuralModule]) -> None:
    module = cls(5)  # the blank / the number of classes
    example = module.input_example(sizes={"C": 6, "D": 6})
    with pytest.raises(ExportError, match=r"DynamicOutputShapeException: aten._ctc_loss.Tensor\nThe module computes"):
        export_program(module, example)


def test_nemos_preprocessor_padding_frames_to_16_cannot_be_one_onnx_graph(tmp_path: Path) -> None:
    module = AudioToMelSpectrogramPreprocessor(sample_rate=8000, features=16, n_fft=256)  # NeMo's pad_to=16
    export_program(module)  # the program itself is right: it raises where the padding would differ
    with pytest.raises(
        DynamicShapesError,
        match=r"^AudioToMelSpectrogramPreprocessor: the exported program holds only where "
        r"Ne\(Mod\(\(\(T_audio//80\)\) \+ 1, 16\), 0\) \(a run-time assert, false for T_audio=1200\); ONNX keeps no "
        r"such check",
    ):
        export_onnx(module, tmp_path / "m.onnx")


def test_check_trace_catches_torchs_onnx_exporter_dropping_label_smoothing(tmp_path: Path) -> None:
    # torch 2.13's exporter writes cross_entropy(label_smoothing=0.1) as ONNX's SoftmaxCrossEntropyLoss, which has
    # no smoothing: the file runs and is wrong. The file's shapes and names are right; only running it shows it.
    module = CrossEntropyLoss(label_smoothing=0.1)
    with pytest.raises(ExportError, match=r"^CrossEntropyLoss: output 'output': onnxruntime differs from eager torch"):
        export_onnx(module, tmp_path / "m.onnx", module.input_example(sizes={"C": 5}), check_trace=True)


def test_the_miswired_example_is_refused_by_its_own_check(tmp_path: Path) -> None:
    with pytest.raises(NeuralTypeError, match=r"^ClassificationDecoder.forward\(\) parameter 'encoder_output'"):
        export_onnx(MiswiredClassifier(), tmp_path / "m.onnx")
