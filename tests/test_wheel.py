"""The built wheel carries the bundled weights: installed into a fresh virtual environment
(pianotx from the wheel only), it transcribes the bundled example with no other files."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_installs_into_a_fresh_venv_and_transcribes_the_example(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "-w", str(dist), str(ROOT)], check=True)
    (wheel,) = dist.glob("pianotx-*.whl")
    import zipfile

    from pianotx.bundled import default_model_name

    packed = set(zipfile.ZipFile(wheel).namelist())
    default = default_model_name()
    assert {f"pianotx/weights/{default}.pt", f"pianotx/weights/{default}.onnx",
            "pianotx/weights/DEFAULT", "pianotx/weights/fcnn.pt", "pianotx/weights/crnn.pt",
            "pianotx/weights/fcnn.onnx", "pianotx/weights/crnn.onnx", "pianotx/weights/beat-tracker.onnx",
            "pianotx/weights/beat-tracker.md", "pianotx/weights/beat-notes.onnx",
            "pianotx/weights/beat-notes.md",
            "pianotx/audio/mel_filters.npz"} <= packed
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = Path(subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True).stdout.strip())
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    "--target", str(site), str(wheel)], check=True)
    # torch, librosa, ... come from this test environment's site-packages, appended after the
    # fresh venv's own; that folder's .pth files (the editable pianotx) are not processed.
    (site / "zz_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    work = tmp_path / "elsewhere"
    work.mkdir()
    where = subprocess.run([python, "-c", "import pianotx; print(pianotx.__file__)"], cwd=work,
                           env=env, capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(site)), where
    done = subprocess.run(
        [python, "-m", "pianotx", "transcribe", str(ROOT / "examples" / "example.flac"),
         "-o", "out.mid", "--device", "cpu"],
        cwd=work, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    import mido

    notes = [m for m in mido.MidiFile(work / "out.mid").tracks[0] if m.type == "note_on"]
    assert len(notes) > 20
