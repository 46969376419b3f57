"""The base install transcribes without torch; a command that needs a missing extra says
which in one line. torch (and mir_eval) are hidden from a subprocess with sys.modules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HIDE = "import sys\nfor name in {hidden!r}: sys.modules[name] = None\n"


def _cli(tmp_path: Path, *args: str, hidden=("torch",)) -> subprocess.CompletedProcess:
    code = HIDE.format(hidden=list(hidden)) + (
        "from pianotx.cli import main\n"
        f"sys.argv = ['pianotx', *{list(args)!r}]\n"
        "main()\n")
    return subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)


def test_transcribe_and_info_need_no_torch(tmp_path: Path) -> None:
    example = str(ROOT / "examples" / "example.flac")
    for model in ("fcnn-notes", "fcnn", "crnn"):
        done = _cli(tmp_path, "transcribe", example, "-o", f"{model}.mid", "--model", model, "-q")
        assert done.returncode == 0, done.stderr
        assert (tmp_path / f"{model}.mid").stat().st_size > 100
    info = _cli(tmp_path, "info")
    assert info.returncode == 0, info.stderr
    assert "torch not installed" in info.stdout and "fcnn-notes (default)" in info.stdout


def test_torch_paths_name_the_extra_in_one_line(tmp_path: Path) -> None:
    example = str(ROOT / "examples" / "example.flac")
    cases = {
        ("transcribe", example, "-o", "x.mid", "--engine", "torch"): "pianotx[torch]",
        ("train", "--data", str(tmp_path), "--steps", "1"): "pianotx[torch]",
        ("eval", "--data", str(ROOT / "examples"), "--split", "all"): "pianotx[torch]",
    }
    for args, extra in cases.items():
        done = _cli(tmp_path, *args)
        assert done.returncode == 1, (args, done.stderr)
        assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: "), done.stderr
        assert f"not installed: pip install '{extra}'" in done.stderr, done.stderr
    scoring = _cli(tmp_path, "eval", "--data", str(ROOT / "examples"), "--pred-dir",
                   str(ROOT / "examples"), "--split", "all", hidden=("mir_eval",))
    assert scoring.returncode == 1 and "pip install 'pianotx[eval]'" in scoring.stderr
    assert not (tmp_path / "x.mid").exists()
