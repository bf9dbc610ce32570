"""Saving never loses a model: failed, killed and concurrent saves leave a valid archive; stale temps go away."""

from __future__ import annotations

import fcntl
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from test_archive_support import LabelModel, TinyModel, same_weights

from neuraltypes.archive import ArchiveError, verify_archive
from neuraltypes.archive._atomic import remove_stale_temps

TESTS = str(Path(__file__).parent)

SAVER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[1])
    import torch
    from test_archive_support import TinyModel
    path, seed, rounds, dim = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    torch.manual_seed(seed)
    model = TinyModel(dim, 2 * dim)
    for _ in range(rounds):
        print("saving", flush=True)
        model.save_to(path)
    print("done", flush=True)
    """
)


def saver(path: Path, seed: int, rounds: int, dim: int) -> subprocess.Popen[str]:
    """A process saving ``TinyModel(dim, 2 * dim)`` (seeded) to ``path`` ``rounds`` times."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.Popen(
        [sys.executable, "-c", SAVER, TESTS, str(path), str(seed), str(rounds), str(dim)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def model_of_seed(seed: int, dim: int) -> TinyModel:
    torch.manual_seed(seed)
    return TinyModel(dim, 2 * dim)


def temps(directory: Path) -> list[str]:
    return sorted(name for name in os.listdir(directory) if ".nt-tmp-" in name)


def test_a_save_that_fails_leaves_the_previous_archive_untouched(tmp_path: Path) -> None:
    archive = tmp_path / "m.nta"
    TinyModel().save_to(archive)
    before = archive.read_bytes()
    model = TinyModel()
    model.register_buffer("bad", torch.ones(2, device="meta"))
    with pytest.raises(ArchiveError) as caught:
        model.save_to(archive)
    assert (caught.value.member, caught.value.reason) == (
        "bad",
        "the tensor is on the meta device (not materialized); nothing to save",
    )
    assert archive.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.nta"]


def test_an_error_while_writing_removes_the_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = tmp_path / "m.nta"
    TinyModel().save_to(archive)
    before = archive.read_bytes()

    def write_half_then_fail(tensors: object, filename: str, metadata: object = None) -> None:
        Path(filename).write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("neuraltypes.archive._writer.save_file", write_half_then_fail)
    with pytest.raises(OSError, match="No space left on device"):
        TinyModel().save_to(archive)
    assert archive.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.nta"]


def test_saving_into_a_missing_folder_names_the_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as caught:
        TinyModel().save_to(tmp_path / "nowhere" / "m.nta")
    assert str(caught.value) == (
        f"cannot save to {str(tmp_path / 'nowhere' / 'm.nta')!r}: folder {str(tmp_path / 'nowhere')!r} does not exist"
    )


def test_saved_archive_gets_ordinary_file_permissions(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        TinyModel().save_to(tmp_path / "m.nta")
    finally:
        os.umask(umask)
    assert oct((tmp_path / "m.nta").stat().st_mode & 0o777) == "0o644"


def test_kill_9_during_save_leaves_the_previous_archive_intact(tmp_path: Path) -> None:
    archive = tmp_path / "m.nta"
    first = model_of_seed(0, 1024)  # 16 MiB of weights: a save takes long enough to be interrupted
    first.save_to(archive)
    candidates = [first, model_of_seed(1, 1024)]
    rng = random.Random(0)
    for _ in range(3):
        process = saver(archive, 1, 50, 1024)
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        while not temps(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(rng.uniform(0, 0.05))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        verify_archive(archive)
        restored = TinyModel.restore_from(archive)
        assert any(same_weights(candidate, restored) for candidate in candidates)
    LabelModel().save_to(tmp_path / "other.nta")  # a save of another name leaves m.nta's temps alone
    TinyModel().save_to(archive)
    assert temps(tmp_path) == []


def test_two_processes_saving_to_one_path_leave_one_valid_archive(tmp_path: Path) -> None:
    archive = tmp_path / "m.nta"
    processes = [saver(archive, seed, 5, 256) for seed in (1, 2)]
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        assert out.endswith("done\n")
    verify_archive(archive)
    restored = TinyModel.restore_from(archive)
    assert same_weights(model_of_seed(1, 256), restored) or same_weights(model_of_seed(2, 256), restored)
    assert os.listdir(tmp_path) == ["m.nta"]


def test_only_stale_temp_folders_are_removed(tmp_path: Path) -> None:
    dest = tmp_path / "m.nta"
    stale = tmp_path / ".m.nta.nt-tmp-1-dead"
    stale.mkdir()
    (stale / "m.nta").write_bytes(b"half written")
    live = tmp_path / ".m.nta.nt-tmp-2-live"
    live.mkdir()
    (live / "m.nta").write_bytes(b"being written")
    fresh = tmp_path / ".m.nta.nt-tmp-3-fresh"
    fresh.mkdir()
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep").write_text("x")
    (tmp_path / ".m.nta.nt-tmp-4-link").symlink_to(victim)
    lock = os.open(live, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        assert remove_stale_temps(dest) == [stale]
    finally:
        os.close(lock)
    assert sorted(os.listdir(tmp_path)) == [
        ".m.nta.nt-tmp-2-live",
        ".m.nta.nt-tmp-3-fresh",
        ".m.nta.nt-tmp-4-link",
        "victim",
    ]
    assert (victim / "keep").read_text() == "x"
