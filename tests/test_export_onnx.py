"""ONNX export: names, dynamic axes and the typed signature from the types; run under onnxruntime."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any, NamedTuple

import pytest
import torch
from torch import Tensor

pytest.importorskip("onnxscript", reason="ONNX export needs the export extra")
onnx = pytest.importorskip("onnx", reason="ONNX export needs the export extra")
onnxruntime = pytest.importorskip("onnxruntime", reason="ONNX export needs the export extra")

from neuraltypes.core import NT, AudioSignal, LengthsType, LogitsType, NeuralType, ProbsType  # noqa: E402
from neuraltypes.export import (  # noqa: E402
    METADATA_KEY,
    ExportedSize,
    export_onnx,
    read_signature,
)
from neuraltypes.nn import NeuralModule  # noqa: E402


class Shifted(NeuralModule):
    def forward(
        self,
        x: Annotated[Tensor, NeuralType("B T D:4", AudioSignal(16000), dtype="float32")],  # a parameter: NeMo's form
        y: NT[Tensor, "B T-1", "float"],
    ) -> NT[Tensor, "B T-1 D:4", LogitsType, "float"]:
        result: Tensor = x[:, 1:] * y[..., None]
        return result


class Parts(NamedTuple):
    total: NT[Tensor, "B", "float"]
    steps: NT[Tensor, "B T", "float"]


class Named(NeuralModule):
    def forward(self, x: NT[Tensor, "B T D:4", "float"]) -> Parts:
        return Parts(x.sum((1, 2)), x.mean(-1))


class Pair(NeuralModule):
    def forward(self, x: NT[Tensor, "B T", "float"]) -> tuple[NT[Tensor, "B T", "float"], NT[Tensor, "B", "float"]]:
        return x * 2, x.sum(1)


class Masked(NeuralModule):
    def forward(
        self, x: NT[Tensor, "B T", "float"], lengths: NT[Tensor, "B", LengthsType, "int"] | None = None
    ) -> NT[Tensor, "B T", "float"]:
        if lengths is None:
            return x
        return x * (torch.arange(x.shape[1])[None, :] < lengths[:, None])


class AttentionWeights(ProbsType):
    """A user's own element type."""


class Softmax(NeuralModule):
    def forward(self, x: NT[Tensor, "B T", "float"]) -> NT[Tensor, "B T", AttentionWeights]:
        weights: Tensor = x.softmax(-1)  # probabilities; that they are attention weights, only the author knows
        return weights


def _shapes(path: Path) -> dict[str, list[Any]]:
    graph = onnx.load(str(path)).graph
    return {
        value.name: [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]
        for value in [*graph.input, *graph.output]
    }


def _run(path: Path, **inputs: Tensor) -> list[Any]:
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return [torch.from_numpy(out) for out in session.run(None, {k: v.numpy() for k, v in inputs.items()})]


def test_ports_name_the_inputs_and_outputs_and_sizes_name_the_axes(tmp_path: Path) -> None:
    export_onnx(Shifted(), tmp_path / "m.onnx")
    assert _shapes(tmp_path / "m.onnx") == {"x": ["B", "T", 4], "y": ["B", "T-1"], "output": ["B", "T-1", 4]}


def test_the_file_runs_at_other_sizes_and_agrees_with_torch(tmp_path: Path) -> None:
    module = Shifted()
    export_onnx(module, tmp_path / "m.onnx")
    for batch, time in ((3, 11), (7, 30)):  # neither is the example's (2, 256)
        x, y = torch.randn(batch, time, 4), torch.randn(batch, time - 1)
        (got,) = _run(tmp_path / "m.onnx", x=x, y=y)
        torch.testing.assert_close(got, module(x, y))


def test_the_typed_signature_is_stored_and_read_back(tmp_path: Path) -> None:
    module = Shifted()
    export_onnx(module, tmp_path / "m.onnx")
    signature = read_signature(tmp_path / "m.onnx")
    assert signature.module == f"{__name__}.Shifted"
    assert signature.inputs == dict(module.input_types or {})
    assert signature.outputs == dict(module.output_types or {})
    assert signature.inputs["x"].elements_type == AudioSignal(16000)
    assert signature.sizes == {
        "B": ExportedSize(True),
        "T": ExportedSize(True, min=1),
        "D": ExportedSize(False, size=4, notes=("declared",)),
    }
    stored = {p.key: p.value for p in onnx.load(str(tmp_path / "m.onnx")).metadata_props}
    text = json.loads(stored[METADATA_KEY])["inputs"][0]["text"]
    assert text == 'NT[Tensor, "B T D:4", AudioSignal(freq=16000), "float32"]'


def test_an_unknown_element_type_is_read_as_its_nearest_known_parent(tmp_path: Path) -> None:
    export_onnx(Softmax(), tmp_path / "m.onnx")
    model = onnx.load(str(tmp_path / "m.onnx"))
    entry = next(p for p in model.metadata_props if p.key == METADATA_KEY)
    data = json.loads(entry.value)
    assert data["outputs"][0]["elements"]["classes"] == ["AttentionWeights", "ProbsType"]
    data["outputs"][0]["elements"]["classes"][0] = "ElsewhereDefined"  # as a reader without the class sees it
    entry.value = json.dumps(data)
    assert read_signature(model).outputs["output"] == NeuralType("B T", ProbsType(), dtype=None)


@pytest.mark.filterwarnings("ignore:.*LeafSpec")  # inside torch's exporter, called directly here
def test_a_model_not_exported_by_neuraltypes_has_no_signature(tmp_path: Path) -> None:
    torch.onnx.export(torch.nn.ReLU().eval(), (torch.ones(2),), str(tmp_path / "plain.onnx"), dynamo=True)
    with pytest.raises(
        ValueError, match=r"has no 'neuraltypes.signature' metadata: it was not exported by neuraltypes"
    ):
        read_signature(tmp_path / "plain.onnx")


def test_named_tuple_fields_and_tuple_items_name_the_outputs(tmp_path: Path) -> None:
    export_onnx(Named(), tmp_path / "named.onnx")
    assert _shapes(tmp_path / "named.onnx") == {"x": ["B", "T", 4], "total": ["B"], "steps": ["B", "T"]}
    export_onnx(Pair(), tmp_path / "pair.onnx")
    assert _shapes(tmp_path / "pair.onnx") == {"x": ["B", "T"], "output_0": ["B", "T"], "output_1": ["B"]}
    doubled, total = _run(tmp_path / "pair.onnx", x=torch.ones(3, 5))
    assert doubled.shape == (3, 5) and total.tolist() == [5.0, 5.0, 5.0]


def test_an_optional_input_is_left_out_or_taken(tmp_path: Path) -> None:
    module = Masked()
    done = export_onnx(module, tmp_path / "without.onnx", (torch.randn(2, 6),))
    assert _shapes(tmp_path / "without.onnx") == {"x": ["B", "T"], "output": ["B", "T"]}
    assert done.signature.left_out == ("lengths",)
    assert read_signature(tmp_path / "without.onnx").left_out == ("lengths",)
    export_onnx(module, tmp_path / "with.onnx", (torch.randn(2, 6), torch.tensor([6, 3])))
    x, lengths = torch.randn(4, 9), torch.tensor([9, 1, 4, 7])
    (got,) = _run(tmp_path / "with.onnx", x=x, lengths=lengths)
    torch.testing.assert_close(got, module(x, lengths))


def test_check_trace_compares_onnxruntime_with_torch(tmp_path: Path) -> None:
    paths, descriptions = Shifted().export(str(tmp_path / "m.onnx"), check_trace=True)
    assert paths == [str(tmp_path / "m.onnx")]
    assert descriptions[0].splitlines() == [
        f"{__name__}.Shifted",
        "inputs",
        '  x: NT[Tensor, "B T D:4", AudioSignal(freq=16000), "float32"]',
        '  y: NT[Tensor, "B T-1", "float"]',
        "outputs",
        '  output: NT[Tensor, "B T-1 D:4", LogitsType, "float"]',
        "sizes",
        "  B: dynamic",
        "  T: dynamic (min 1)",
        "  D: static 4 (declared)",
    ]


def test_neither_import_neuraltypes_nor_the_exporter_imports_onnx() -> None:
    code = (
        "import sys, neuraltypes, neuraltypes.nn, neuraltypes.export; "
        "print([m for m in ('onnx', 'onnxruntime', 'onnxscript') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


class NemoStyle(NeuralModule):
    """Types NeMo's way: labels are kinds, so ``B`` here and ``B`` there need not be one size."""

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {"x": NeuralType(("B", "T", "D")), "y": NeuralType(("B", "T"))}

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"out": NeuralType(("B", "T"))}

    def forward(self, *, x: Tensor, y: Tensor) -> Tensor:
        return x.sum(-1) + y


def test_nemo_types_export_with_the_sizes_the_module_ties(tmp_path: Path) -> None:
    example = {"x": torch.randn(2, 3, 4), "y": torch.randn(2, 3)}
    done = export_onnx(NemoStyle(), tmp_path / "m.onnx", example, check_trace=True)
    assert _shapes(tmp_path / "m.onnx") == {"x": ["x_B", "x_T", 4], "y": ["x_B", "x_T"], "out": ["x_B", "x_T"]}
    assert str(done.signature.sizes["y_B"]) == "dynamic (= x_B, tied by the module)"
    assert str(done.signature.sizes["x_D"]) == "static 4 (not a batch, time, width or height axis (NeMo's types))"
