"""Listen to a MIDI file: render it through the same pianos as ``pianotx synth`` to a wav.

The default timbre, TimGM6mb through TinySoundFont, needs only pip packages
(``pretty_midi`` ships the SoundFont, ``tinysoundfont`` plays it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pianotx.errors import SynthError
from pianotx.files import atomic_path
from pianotx.music.midi import read_midi
from pianotx.data.synth.render import peak_normalize, render
from pianotx.data.synth.timbres import default_soundfont_dir, find_timbre, prepare_timbre

DEFAULT_TIMBRE = "timgm6mb"


MAX_RENDER_S = 4 * 3600.0  # rendered in memory: 4 h at 44.1 kHz is 2.5 GB of float32


def render_midi(
    midi_path: Path,
    *,
    timbre: str = DEFAULT_TIMBRE,
    sample_rate: int = 44_100,
    tail_s: float = 1.0,
    peak_dbfs: float = -1.0,
    soundfont_dir: Path | None = None,
) -> np.ndarray:
    """Render the notes and sustain pedal of a MIDI file to mono audio.

    Parameters
    ----------
    midi_path : Path
        A MIDI file (all non-drum channels are played on one piano).
    timbre : str
        A timbre name of :data:`pianotx.data.synth.timbres.TIMBRES`.
    sample_rate : int
        Output rate in Hz.
    tail_s : float >= 0
        Seconds rendered after the last note so the decay is heard.
    peak_dbfs : float <= 0
        Peak level of the result; silence stays silent.

    Returns
    -------
    np.ndarray, shape=(n_samples,), float32
        ``n_samples`` is the last event's sample plus ``tail_s * sample_rate``.

    Raises
    ------
    MidiError
        If the MIDI file is missing or unreadable.
    SynthError
        If the timbre is unknown or not installed (the message names the packages), or the
        file lasts over :data:`MAX_RENDER_S`.
    """
    performance = read_midi(Path(midi_path))
    end_s = max([note.offset_s for note in performance.notes] + [p.offset_s for p in performance.pedals] + [0.0])
    if end_s > MAX_RENDER_S:
        raise SynthError(f"{midi_path} lasts {end_s / 3600:.1f} h; render files of up to "
                         f"{MAX_RENDER_S / 3600:.0f} h (cut it into parts)")
    folder = Path(soundfont_dir) if soundfont_dir is not None else default_soundfont_dir()
    found = prepare_timbre(find_timbre(timbre, soundfont_dir=folder), soundfont_dir=folder,
                           sample_rate=sample_rate)
    audio = render(found, performance.notes, performance.pedals, sample_rate=sample_rate, tail_s=tail_s)
    return peak_normalize(audio, peak_dbfs=peak_dbfs)


def write_wav(path: Path, audio: np.ndarray, sample_rate: int, *, overwrite: bool = False) -> None:
    """Write mono ``audio`` as 16-bit PCM wav, atomically, refusing to replace unless ``overwrite``."""
    import soundfile as sf

    with atomic_path(Path(path), overwrite=overwrite) as tmp:
        sf.write(tmp, np.clip(audio, -1.0, 1.0), sample_rate, subtype="PCM_16", format="WAV")
