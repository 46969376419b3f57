"""The models shipped in weights/: each loads strictly, has a model card whose sha256 is
the file's, the default is one of them; and each model's golden notes on the bundled
example."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from pianotx.bundled import bundled_models, default_model_name, weights_dir
from pianotx.model.checkpoint import load_checkpoint

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"


def test_every_bundled_model_loads_and_its_card_tells_its_sha256():
    models = bundled_models()
    assert {"fcnn", "crnn"} <= set(models)
    assert default_model_name() in models
    for name, path in models.items():
        card = (weights_dir() / f"{name}.md").read_text()
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert re.search(rf"sha256[^0-9a-f]*{digest}", card), f"{name}.md has a stale sha256"
        loaded = load_checkpoint(path)
        assert loaded.model_config.arch in ("fcnn", "crnn")
        assert path.stat().st_size < 10e6


@pytest.mark.parametrize("name", sorted(bundled_models()))
def test_each_bundled_model_on_the_example_gives_its_golden_notes(name):
    """Regression: pitches exactly, onsets and offsets within 10 ms, velocities within 3;
    a note or two may come and go near a threshold (count within 2)."""
    import pianotx

    golden = json.loads((GOLDEN / f"example-{name}.json").read_text())
    assert golden["model"] == name
    notes = pianotx.transcribe(ROOT / "examples" / "example.flac",
                               model=pianotx.load_model(name, device="cpu")).notes
    want = [tuple(n) for n in golden["notes"]]
    assert abs(len(notes) - len(want)) <= 2
    unmatched = list(want)
    for note in notes:
        match = next((w for w in unmatched if w[2] == note.pitch
                      and abs(w[0] - note.onset_s) <= 0.01 and abs(w[1] - note.offset_s) <= 0.01
                      and abs(w[3] - note.velocity) <= 3), None)
        if match is not None:
            unmatched.remove(match)
    assert len(unmatched) <= 2, unmatched[:5]


def test_optimized_inference_keeps_the_onset_f1_of_the_plain_path():
    """Folded BatchNorm + channels-last (torch) and the ONNX Runtime export (the default on a
    CPU) against the unoptimized torch model on the example: onset F1 >= 0.998 each."""
    import pianotx
    from pianotx.evaluation.metrics import note_scores

    path = ROOT / "examples" / "example.flac"
    plain = pianotx.transcribe(
        path, model=pianotx.load_model(device="cpu", engine="torch", optimize=False)).notes
    assert len(plain) > 20
    for engine in ("torch", "onnx"):
        fast = pianotx.transcribe(path, model=pianotx.load_model(device="cpu", engine=engine)).notes
        assert note_scores(plain, fast, metrics=("note",))["note/f1"] >= 0.998, engine


def test_weights_are_found_beside_a_source_tree_and_missing_ones_are_one_clear_error(monkeypatch, tmp_path):
    import pianotx.bundled as bundled
    from pianotx.errors import CheckpointError

    def not_installed(name):  # type: ignore[no-untyped-def]
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    monkeypatch.setattr(bundled.resources, "files", not_installed)
    tree = Path(bundled.__file__).resolve().parent.parent / "weights"
    assert weights_dir() == tree and default_model_name() == "fcnn-notes"
    monkeypatch.setattr(bundled, "__file__", str(tmp_path / "pianotx" / "bundled.py"))
    with pytest.raises(CheckpointError, match="has no bundled weights.*install pianotx"):
        weights_dir()


def test_info_and_transcribe_name_a_damaged_or_missing_default(tmp_path, monkeypatch):
    import shutil

    from typer.testing import CliRunner

    from pianotx import bundled
    from pianotx.cli import app
    from pianotx.errors import CheckpointError

    shutil.copy(bundled.weights_dir() / "fcnn.pt", tmp_path / "fcnn.pt")
    (tmp_path / "crnn.pt").write_bytes(b"cut short")
    (tmp_path / "DEFAULT").write_text("fcnn-notes\n")
    monkeypatch.setattr(bundled, "weights_dir", lambda: tmp_path)
    result = CliRunner().invoke(app, ["info"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "default model: none installed" in result.stdout
    row = next(line for line in result.stdout.splitlines() if "crnn" in line)
    assert "damaged" in row and "reinstall pianotx" in row
    with pytest.raises(CheckpointError, match="the default model named in .*DEFAULT is not installed"):
        bundled.resolve_model(None)
