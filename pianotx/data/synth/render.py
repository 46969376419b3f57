"""Notes and pedal -> mono float32 audio, through the engine a :class:`Timbre` names.

Three engines share one entry point, :func:`render`:

* FluidSynth (pyfluidsynth) plays the sustain pedal (CC64) and can add its reverb;
* TinySoundFont ignores CC64, so the pedal is folded into note durations first;
* sfizz plays SFZ instruments and the pedal; the Salamander piano also gets the
  controllers and velocity curve of one random performance (:mod:`pianotx.data.synth.salamander`).

Synthesizers are loaded once per process and reused (loading a SoundFont takes up to
seconds), which is why this module keeps a small cache.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from pianotx.config import SAMPLE_RATE
from pianotx.errors import SynthError
from pianotx.music.notes import Note, Pedal, extend_by_pedal
from pianotx.data.synth import salamander
from pianotx.data.synth.timbres import Timbre

NOTE_OFF, CONTROL, NOTE_ON = 0, 1, 2  # at one instant: release, then pedal, then strike
SFIZZ_BLOCK = 256
FLUIDSYNTH_BLOCK = 64  # FLUID_BUFSIZE
_LOADED: dict[tuple, Any] = {}

Event = tuple[int, int, int, int]  # sample, kind, key or controller, velocity or value


def events(notes: Sequence[Note], pedals: Sequence[Pedal], *, sample_rate: int) -> list[Event]:
    """Sorted synthesizer events at sample positions; pedals become CC64 127/0 pairs."""
    out: list[Event] = []
    for n in notes:
        out.append((int(n.onset_s * sample_rate), NOTE_ON, n.pitch, int(np.clip(n.velocity, 1, 127))))
        out.append((int(n.offset_s * sample_rate), NOTE_OFF, n.pitch, 0))
    for p in pedals:
        out.append((int(p.onset_s * sample_rate), CONTROL, 64, 127))
        out.append((int(p.offset_s * sample_rate), CONTROL, 64, 0))
    return sorted(out, key=lambda e: (e[0], e[1]))


def render(
    timbre: Timbre,
    notes: Sequence[Note],
    pedals: Sequence[Pedal] = (),
    *,
    sample_rate: int = SAMPLE_RATE,
    tail_s: float = 2.0,
    reverb: float = 0.0,
    seed: int | None = None,
) -> np.ndarray:
    """Render notes with a sustain pedal through ``timbre``.

    Parameters
    ----------
    timbre : Timbre
        A found (and prepared) timbre, see :mod:`pianotx.data.synth.timbres`.
    notes, pedals : sequences of Note and Pedal
        Key-down notes and sustain presses, seconds.
    sample_rate : int
        Output rate in Hz; the engines render at this rate directly.
    tail_s : float >= 0
        Silence rendered after the last event so decays are not cut.
    reverb : float in [0, 1]
        FluidSynth reverb level (0 is dry); the other engines have none and ignore it.
    seed : int, optional
        Draws the Salamander timbre's tuning, velocity curve and dampers (default: derived
        from the notes); the other timbres ignore it.

    Returns
    -------
    np.ndarray, shape=(n_samples,), float32
        Mono audio, not normalised.
    """
    controls: list[tuple[int, int]] = []
    if timbre.name == salamander.NAME:
        notes, controls = salamander.perform(notes, seed=seed)
    if timbre.engine == "tinysoundfont":
        todo = events(extend_by_pedal(notes, pedals), (), sample_rate=sample_rate)
    else:
        todo = events(notes, pedals, sample_rate=sample_rate)
    todo = [(0, CONTROL, cc, value) for cc, value in controls] + todo
    n_samples = (todo[-1][0] if todo else 0) + int(tail_s * sample_rate)
    engine = {"tinysoundfont": _render_tsf, "fluidsynth": _render_fluidsynth, "sfizz": _render_sfizz}
    if timbre.engine not in engine:
        raise SynthError(f"unknown synthesis engine {timbre.engine!r} for timbre {timbre.name!r}")
    audio = engine[timbre.engine](timbre, todo, n_samples, sample_rate, reverb)
    return np.ascontiguousarray(audio, dtype=np.float32)


def peak_normalize(audio: np.ndarray, *, peak_dbfs: float) -> np.ndarray:
    """Scale ``audio`` so its absolute peak sits at ``peak_dbfs`` (<= 0); silence stays silent."""
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak == 0.0:
        return audio.astype(np.float32)
    return (audio * (10 ** (peak_dbfs / 20) / peak)).astype(np.float32)


def _drive(todo: Sequence[Event], n_samples: int, write, play) -> None:
    """Alternate between generating audio up to each event and sending it."""
    position = 0
    for sample, kind, key, value in todo:
        if sample > position:
            write(position, sample)
            position = sample
        play(kind, key, value)
    if n_samples > position:
        write(position, n_samples)


def _render_tsf(timbre: Timbre, todo, n_samples: int, sample_rate: int, reverb: float) -> np.ndarray:
    import tinysoundfont

    key = ("tsf", timbre.path, sample_rate)
    if key not in _LOADED:
        synth = tinysoundfont.Synth(samplerate=sample_rate)
        _LOADED[key] = (synth, synth.sfload(timbre.path, max_voices=256))
    synth, sfid = _LOADED[key]
    synth.sounds_off()
    synth.program_select(0, sfid, timbre.bank, timbre.preset)
    out = np.zeros((n_samples, 2), np.float32)

    def write(start: int, stop: int) -> None:
        out[start:stop] = np.frombuffer(synth.generate(stop - start), np.float32).reshape(-1, 2)

    def play(kind: int, key: int, value: int) -> None:
        if kind == NOTE_ON:
            synth.noteon(0, key, value)
        elif kind == NOTE_OFF:
            synth.noteoff(0, key)

    _drive(todo, n_samples, write, play)
    synth.sounds_off()
    return out.mean(axis=1)


def _fluidsynth(timbre: Timbre, sample_rate: int):
    import ctypes

    import fluidsynth

    key = ("fluidsynth", timbre.path, sample_rate)
    if key not in _LOADED:
        synth = fluidsynth.Synth(gain=0.5, samplerate=float(sample_rate), **{
            "synth.reverb.active": 1, "synth.chorus.active": 0, "synth.polyphony": 256,
            "synth.cpu-cores": 1,
            # decode only the samples of the selected preset (the piano), not the whole
            # GM set: 0.3 s instead of 4.4 s per process, bit-identical audio
            "synth.dynamic-sample-loading": 1})
        sfid = synth.sfload(timbre.path)
        # float output: the s16 path of pyfluidsynth clips and dithers
        write_float = fluidsynth.cfunc(
            "fluid_synth_write_float", ctypes.c_int, ("synth", ctypes.c_void_p, 1),
            ("len", ctypes.c_int, 1), ("lout", ctypes.c_void_p, 1), ("loff", ctypes.c_int, 1),
            ("lincr", ctypes.c_int, 1), ("rout", ctypes.c_void_p, 1), ("roff", ctypes.c_int, 1),
            ("rincr", ctypes.c_int, 1))
        _LOADED[key] = (synth, sfid, write_float)
    return _LOADED[key]


def _render_fluidsynth(timbre: Timbre, todo, n_samples: int, sample_rate: int, reverb: float) -> np.ndarray:
    synth, sfid, write_float = _fluidsynth(timbre, sample_rate)
    synth.system_reset()
    synth.program_select(0, sfid, timbre.bank, timbre.preset)
    synth.set_reverb(roomsize=0.2 + 0.6 * reverb, damping=0.4, width=0.8, level=float(reverb))
    # FluidSynth renders whole blocks and keeps the rest for the next call: ending on a
    # block boundary makes each render start at the same phase, so it is reproducible
    n_whole = -(-n_samples // FLUIDSYNTH_BLOCK) * FLUIDSYNTH_BLOCK
    out = np.zeros((n_whole, 2), np.float32)

    def write(start: int, stop: int) -> None:
        chunk = out[start:stop]
        write_float(synth.synth, stop - start, chunk.ctypes.data, 0, 2, chunk.ctypes.data, 1, 2)

    def play(kind: int, key: int, value: int) -> None:
        if kind == NOTE_ON:
            synth.noteon(0, key, value)
        elif kind == NOTE_OFF:
            synth.noteoff(0, key)
        else:
            synth.cc(0, key, value)

    _drive(todo, n_whole, write, play)
    synth.all_sounds_off(0)
    return out[:n_samples].mean(axis=1)


def _render_sfizz(timbre: Timbre, todo, n_samples: int, sample_rate: int, reverb: float) -> np.ndarray:
    from pysfizz import _sfizz

    key = ("sfizz", timbre.path, sample_rate)
    if key not in _LOADED:
        synth = _sfizz.Synth(sample_rate, SFIZZ_BLOCK)
        synth.enable_freewheeling()
        synth.set_num_voices(256)
        if not synth.load_sfz_file(timbre.path):
            raise SynthError(f"sfizz cannot load {timbre.path}; delete it to rebuild the samples")
        synth.set_sample_quality(2)  # samples are pre-resampled to the output rate
        _LOADED[key] = synth
    synth = _LOADED[key]
    synth.all_sound_off()
    synth.cc(0, 64, 0)
    n_blocks = n_samples // SFIZZ_BLOCK + 1
    out = np.zeros((2, n_blocks * SFIZZ_BLOCK), np.float32)
    i = 0
    for b in range(n_blocks):
        start = b * SFIZZ_BLOCK
        while i < len(todo) and todo[i][0] < start + SFIZZ_BLOCK:
            sample, kind, key_, value = todo[i]
            delay = max(0, sample - start)  # exact timing inside the block
            if kind == NOTE_ON:
                synth.note_on(delay, key_, value)
            elif kind == NOTE_OFF:
                synth.note_off(delay, key_, 0)
            else:
                synth.cc(delay, key_, value)
            i += 1
        left, right = synth.render_block()
        out[0, start:start + SFIZZ_BLOCK] = left
        out[1, start:start + SFIZZ_BLOCK] = right
    return out.mean(axis=0)[:n_samples]
