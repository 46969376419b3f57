"""Transcribing a collection on Ray: the job list and manifest, and a local Ray of 2 CPUs
(a folder with bad files, a rerun that skips, a worker killed mid-batch)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from pianotx.cli.batch import bare_ray
from pianotx.cluster.manifest import (
    Job, append, collect_tree, mirrored_jobs, missing_targets, read_manifest, record,
)
from pianotx.cluster.ray_runner import RayOptions, worker_count
from pianotx.errors import ConfigError, OutputError

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "example.flac"
BAD = {"a/broken.wav": "cannot decode", "b/empty.flac": "is empty", "b/deep/silent.wav": "is silent"}


def test_a_bare_ray_flag_means_a_local_ray(tmp_path):
    folder = str(tmp_path)
    assert bare_ray(["transcribe", folder, "-o", "x", "--ray"])[-1] == "--ray=local"
    assert bare_ray(["transcribe", "--ray", folder, "-o", "x"])[1] == "--ray=local"
    assert bare_ray(["transcribe", folder, "--ray", "--jobs", "2"])[2] == "--ray=local"
    assert bare_ray(["transcribe", folder, "--ray", "auto"])[2:] == ["--ray", "auto"]
    assert bare_ray(["transcribe", folder, "--ray", "ray://head:10001"])[2] == "--ray"
    assert bare_ray(["info"]) == ["info"]


def test_jobs_mirror_the_input_tree_and_refuse_two_inputs_on_one_output(tmp_path):
    for name in ("x/one.wav", "x/sub/two.flac", "x/.hidden/three.wav", "x/notes.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "four.ogg").write_bytes(b"")
    found = collect_tree([tmp_path / "x", tmp_path / "four.ogg"])
    assert [r.as_posix() for _, r in found] == ["one.wav", "sub/two.flac", "four.ogg"]
    jobs = mirrored_jobs(found, tmp_path / "out", suffixes={"mid": ".mid", "csv": ".csv"})
    assert jobs[1] == Job(str(tmp_path / "x/sub/two.flac"), "sub/two.flac",
                          {"mid": str(tmp_path / "out/sub/two.mid"), "csv": str(tmp_path / "out/sub/two.csv")})
    (tmp_path / "x" / "one.flac").write_bytes(b"")
    with pytest.raises(OutputError, match="would both write .*one.mid"):
        mirrored_jobs(collect_tree([tmp_path / "x"]), tmp_path / "out", suffixes={"mid": ".mid"})
    Path(jobs[1].targets["mid"]).parent.mkdir(parents=True)
    Path(jobs[1].targets["mid"]).write_bytes(b"MThd")
    assert missing_targets(jobs[1]) == {"csv": jobs[1].targets["csv"]}


def test_the_manifest_keeps_the_last_line_per_file_and_survives_a_torn_line(tmp_path):
    manifest = tmp_path / "manifest.jsonl"
    job = Job("in/a.wav", "a.wav", {})
    assert read_manifest(manifest) == {}
    append(manifest, record(job, "error", message="boom"))
    append(manifest, record(job, "ok", notes=3))
    with open(manifest, "a") as f:
        f.write('{"path": "b.wav", "sta')  # the writer died mid-line
    assert read_manifest(manifest) == {"a.wav": {"path": "a.wav", "status": "ok", "notes": 3}}
    with pytest.raises(ValueError):
        record(job, "fine")


def test_workers_fit_the_cluster():
    assert worker_count({"CPU": 16.0}, RayOptions()) == 16
    assert worker_count({"CPU": 16.0}, RayOptions(cpus_per_worker=4)) == 4
    assert worker_count({"CPU": 16.0, "GPU": 2.0}, RayOptions(gpus_per_worker=0.5)) == 4
    assert worker_count({"CPU": 16.0}, RayOptions(workers=3)) == 3
    with pytest.raises(ConfigError, match="fits no worker"):
        worker_count({"CPU": 16.0}, RayOptions(gpus_per_worker=1))
    with pytest.raises(ConfigError):
        RayOptions(max_attempts=0)


def test_without_ray_the_flag_names_the_extra(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from pianotx.cli import app

    monkeypatch.setitem(sys.modules, "ray", None)
    result = CliRunner().invoke(app, ["transcribe", str(EXAMPLE), "-o", str(tmp_path / "o"),
                                      "--ray", "local"])
    assert result.exit_code == 1
    assert "pip install 'pianotx[cluster]'" in result.output and not (tmp_path / "o").exists()


@pytest.fixture(scope="module")
def collection(tmp_path_factory) -> Path:
    """20 files in a tree: 17 short piano clips (cut from the example) and 3 bad ones."""
    import soundfile as sf

    from pianotx.audio.load import load_audio

    root = tmp_path_factory.mktemp("collection") / "in"
    audio = load_audio(EXAMPLE)
    step = 7000  # clips of 1.5 s starting every 0.44 s (the example lasts 9 s)
    for k in range(17):
        path = root / ("a", "b", "b/deep")[k % 3] / f"clip{k:02d}.flac"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, audio[k * step:k * step + 24000], 16000)
    (root / "a/broken.wav").write_text("not audio")
    (root / "b/empty.flac").write_bytes(b"")
    sf.write(root / "b/deep/silent.wav", np.zeros(8000), 16000)
    return root


def _pianotx(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pianotx", *args], capture_output=True,
                          text=True, timeout=600)


def test_a_collection_on_a_local_ray_then_a_rerun_that_skips(collection, tmp_path):
    pytest.importorskip("ray")
    out = tmp_path / "out"
    done = _pianotx("transcribe", str(collection), "-o", str(out), "--format", "mid,csv",
                    "--ray", "--jobs", "2")
    assert done.returncode == 1, done.stderr  # three files failed, the others did not
    lines = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert len(lines) == 20
    by = {line["path"]: line for line in lines}
    for name, message in BAD.items():
        assert by[name]["status"] == "error" and message in by[name]["message"]
        assert not list(out.rglob(Path(name).stem + ".*"))
    ok = [line for line in lines if line["status"] == "ok"]
    assert len(ok) == 17 and all(line["notes"] > 0 and line["duration_s"] == 1.5 for line in ok)
    # the same notes as the single-machine path
    single = tmp_path / "single"
    alone = _pianotx("transcribe", *sorted(str(p) for p in collection.rglob("clip*.flac")),
                     "-o", str(single), "--format", "mid,csv")
    assert alone.returncode == 0, alone.stderr
    for line in ok:
        mirrored = out / Path(line["path"]).with_suffix(".csv")
        assert mirrored.read_text() == (single / mirrored.name).read_text()
    assert not list(out.rglob("*.part"))
    stamp = (out / "a/clip00.mid").stat().st_mtime_ns
    again = _pianotx("transcribe", str(collection), "-o", str(out), "--format", "mid,csv", "--ray")
    assert again.returncode == 1 and "17 done before, 3 to transcribe" in again.stderr
    latest = read_manifest(out / "manifest.jsonl")
    assert sum(line["status"] == "skipped" for line in latest.values()) == 17
    assert (out / "a/clip00.mid").stat().st_mtime_ns == stamp


def test_a_worker_killed_mid_batch_loses_nothing(collection, tmp_path):
    pytest.importorskip("ray")
    from pianotx import load_model
    from pianotx.music.outputs import FORMATS
    from pianotx.cluster.jobs import JobOptions
    from pianotx.cluster.ray_runner import run_on_ray

    good = [(p, r) for p, r in collect_tree([collection]) if p.name.startswith("clip")]
    jobs = mirrored_jobs(good, tmp_path / "out", suffixes={f: FORMATS[f] for f in ("mid", "json")})
    options = JobOptions(decode=load_model(engine="onnx").decode_config)
    killed: list[int] = []

    def on_record(line: dict) -> None:
        if not killed:  # the worker that just finished is handed its next file: kill it then
            killed.append(line["pid"])
            threading.Timer(0.15, os.kill, (line["pid"], signal.SIGKILL)).start()

    records = run_on_ray(jobs, options, RayOptions(workers=2, local_cpus=2), model=None,
                         engine="onnx", on_record=on_record)
    assert killed and sorted(r["path"] for r in records) == sorted(j.name for j in jobs)
    assert all(r["status"] == "ok" for r in records), [r for r in records if r["status"] != "ok"]
    assert any(r["attempt"] == 2 for r in records)  # the lost file was done again elsewhere
    assert killed[0] not in {r["pid"] for r in records if r["attempt"] == 2}
    for job in jobs:
        assert not missing_targets(job)
        json.loads(Path(job.targets["json"]).read_text())  # complete, not cut
    assert not list((tmp_path / "out").rglob("*.part"))
