"""The migration guide (docs/nemo.md) as tests: its config is the test config, and its code runs as written.

The guide's walk-through trains NeMo's QuartzNet recipe (shrunk) with its `_target_` paths changed, with the
run-time checks on, saves it, restores it and compares outputs; then it turns a `.nemo` file, written here as
NeMo 1.x writes one (a tar of `model_config.yaml` and a `torch.save`d state dict), into an `.nta` archive.
"""

from __future__ import annotations

import io
import re
import tarfile
from pathlib import Path
from typing import Any

import pytest
import torch
from neuraltypes_modules.asr import EncDecCTCModel
from omegaconf import OmegaConf

from neuraltypes.archive import ArchiveReader
from neuraltypes.archive._cli import main as archive_cli
from neuraltypes.runtime import checks_enabled

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "nemo.md"
CONFIG = Path(__file__).resolve().parent / "data" / "quartznet_tiny.yaml"
# The guide's blocks this file runs; the guide marks them no-run for tests/test_docs_examples.py.
_BLOCK = re.compile(r"<!-- no-run: \w+ by tests/test_nemo_migration\.py[^>]*-->\n```(\w+)\n(.*?)```", re.DOTALL)
_OURS, _NEMO = "neuraltypes_modules.asr.", "nemo.collections.asr.modules."


def _guide_blocks() -> list[tuple[str, str]]:
    return _BLOCK.findall(GUIDE.read_text())


def _run_guide_block(index: int, folder: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    language, code = _guide_blocks()[index]
    assert language == "python"
    monkeypatch.chdir(folder)
    namespace: dict[str, Any] = {"__name__": "guide"}
    exec(compile(code, f"{GUIDE}:block{index}", "exec"), namespace)
    return namespace


def test_the_guides_config_is_the_test_config() -> None:
    blocks = _guide_blocks()
    assert [language for language, _ in blocks] == ["yaml", "python", "python"]
    assert blocks[0][1] == CONFIG.read_text()


def test_the_guides_config_differs_from_nemos_in_the_documented_keys_only() -> None:
    model = OmegaConf.load(CONFIG).model
    targets = [model[node]._target_ for node in ("preprocessor", "spec_augment", "encoder", "decoder")]
    assert all(target.startswith(_NEMO) for target in targets)  # NeMo's own paths: they name our counterparts
    assert model.optim.name == "adamw" and model.optim.sched.name == "CosineAnnealing"
    assert model.train_ds.dataset._target_ == f"{_OURS}SyntheticSpeech"


@pytest.mark.slow
def test_the_guides_training_script_trains_saves_and_restores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert checks_enabled()  # the guide runs with the run-time checks on, as they are by default
    (tmp_path / "quartznet_tiny.yaml").write_text(CONFIG.read_text())
    with pytest.warns(UserWarning, match="test_ds: manifest_filepath is null and no dataset is named"):
        namespace = _run_guide_block(1, tmp_path, monkeypatch)
    metrics = namespace["trainer"].callback_metrics
    assert {"train_loss", "learning_rate", "val_loss", "val_wer"} <= set(metrics)
    assert torch.isfinite(metrics["val_loss"])
    assert namespace["trainer"].global_step == 6
    assert namespace["asr_model"].test_dataloader() == []  # NeMo's test_ds with manifest_filepath: null
    with ArchiveReader(tmp_path / "quartznet_tiny.nta") as reader:
        assert "encoder.encoder.1.res.0.0.conv.weight" in {record.name for record in reader.manifest.members}


def _nemo_config(model: Any) -> str:
    """The model's config as NeMo would have saved it: NeMo's class paths, manifests, novograd, target."""
    config = OmegaConf.to_container(model.cfg, resolve=True)
    assert isinstance(config, dict)
    for node in ("preprocessor", "spec_augment", "encoder", "decoder"):
        config[node]["_target_"] = config[node]["_target_"].replace(_OURS, _NEMO)
    for key in ("train_ds", "validation_ds"):
        del config[key]["dataset"]
        config[key]["manifest_filepath"] = f"/data/an4/{key}_manifest.json"
    config["optim"]["name"] = "novograd"
    config["target"] = "nemo.collections.asr.models.ctc_models.EncDecCTCModel"
    config["nemo_version"] = "1.23.0"
    return OmegaConf.to_yaml(OmegaConf.create(config))


def _write_nemo(path: Path, config: str, state: dict[str, torch.Tensor]) -> None:
    weights = io.BytesIO()
    torch.save(state, weights)
    with tarfile.open(path, "w:gz") as tar:  # NeMo 1.x: './'-prefixed members
        for name, data in (("./model_config.yaml", config.encode()), ("./model_weights.ckpt", weights.getvalue())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def _cli(*arguments: str) -> str:
    out = io.StringIO()
    assert archive_cli(list(arguments), out=out) == 0
    return out.getvalue()


def test_a_nemo_file_migrates_to_an_nta_archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    torch.manual_seed(0)
    original = EncDecCTCModel(OmegaConf.load(CONFIG).model).eval()
    _write_nemo(tmp_path / "quartznet.nemo", _nemo_config(original), original.state_dict())

    assert "NeMo 1.x archive" in _cli("inspect", str(tmp_path / "quartznet.nemo"))
    namespace = _run_guide_block(2, tmp_path, monkeypatch)
    assert "all sha256 match" in _cli("verify", str(tmp_path / "quartznet.nta"))

    migrated = EncDecCTCModel.restore_from(tmp_path / "quartznet.nta").eval()
    assert migrated.cfg.encoder._target_ == f"{_OURS}ConvASREncoder"
    assert namespace["model"].cfg.train_ds.manifest_filepath == "/data/an4/train_ds_manifest.json"
    audio, lengths = torch.randn(2, 6000), torch.tensor([6000, 4000])
    expected = original(input_signal=audio, input_signal_length=lengths).outputs
    assert torch.equal(migrated(input_signal=audio, input_signal_length=lengths).outputs, expected)
