"""A procedural pianistic generator: harmony, two-hand textures, dynamics and pedalling.

Each piece is a random key, tempo and meter with a diatonic progression; every section
picks a left-hand texture (block chords, Alberti, broken octaves, wide arpeggios, stride,
held chords) and a right-hand one (melody, melody in octaves, runs, arpeggios, chords),
and may shift register so the whole keyboard is used. Output is quantised to the beat;
:mod:`pianotx.data.synth.humanize` adds the player.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

import numpy as np

from pianotx.config import MAX_MIDI, MIN_MIDI
from pianotx.music.notes import Note, Pedal

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
PROGRESSIONS = (
    (0, 3, 4, 0), (0, 5, 3, 4), (0, 4, 5, 3), (1, 4, 0, 0), (0, 3, 1, 4),
    (5, 3, 0, 4), (0, 6, 2, 5, 1, 4, 0, 0), (0, 0, 3, 3, 4, 4, 0, 0),
)


class Piece(NamedTuple):
    """Notes and sustain-pedal presses of one piece, times in seconds."""

    notes: list[Note]
    pedals: list[Pedal]


class Bar(NamedTuple):
    """What a texture needs to fill one bar: start, beat length, meter, chord, scale."""

    start_s: float
    beat_s: float
    meter: int
    subdiv: int
    chord: tuple[int, ...]  # close-position chord around C3-C4, MIDI pitches
    scale: tuple[int, ...]  # scale-degree pitches of the right hand's register
    loudness: float  # velocity centre for this bar


Event = tuple[float, float, int, float]  # onset_s, offset_s, pitch, velocity (unclipped)


def chord_pitches(degree: int, scale: Sequence[int], tonic: int, *, n_notes: int = 3) -> tuple[int, ...]:
    """Return the diatonic chord on ``degree`` (0-6) stacked in thirds above ``tonic``."""
    return tuple(
        tonic + scale[(degree + 2 * k) % 7] + 12 * ((degree + 2 * k) // 7) for k in range(n_notes)
    )


def _lh_block(bar: Bar, rng: np.random.Generator) -> list[Event]:
    bass = bar.chord[0] - 12
    return [
        (bar.start_s + b * bar.beat_s, bar.start_s + (b + 0.9) * bar.beat_s, p, bar.loudness - 8 + 6 * (b == 0))
        for b in range(bar.meter) for p in (bass, *bar.chord[1:])
    ]


def _lh_figure(order: Sequence[int], length: float) -> Callable[[Bar, np.random.Generator], list[Event]]:
    def figure(bar: Bar, rng: np.random.Generator) -> list[Event]:
        pitches = [bar.chord[0] - 12, *bar.chord, bar.chord[0]]
        step = bar.beat_s / bar.subdiv
        n_steps = bar.meter * bar.subdiv
        return [
            (bar.start_s + k * step, bar.start_s + (k + length) * step, pitches[order[k % len(order)]],
             bar.loudness - 12 + 4 * (k == 0))
            for k in range(n_steps)
        ]
    return figure


def _lh_stride(bar: Bar, rng: np.random.Generator) -> list[Event]:
    events = []
    for b in range(bar.meter):
        t = bar.start_s + b * bar.beat_s
        group = (bar.chord[0] - 24, bar.chord[0] - 12) if b % 2 == 0 else bar.chord
        events += [(t, t + 0.55 * bar.beat_s, p, bar.loudness - 6 + 6 * (b == 0)) for p in group]
    return events


def _lh_held(bar: Bar, rng: np.random.Generator) -> list[Event]:
    end = bar.start_s + 0.98 * bar.meter * bar.beat_s
    return [(bar.start_s, end, p, bar.loudness - 10) for p in (bar.chord[0] - 12, *bar.chord)]


def _rh_melody(bar: Bar, rng: np.random.Generator, *, octaves: bool = False) -> list[Event]:
    events, t, end = [], bar.start_s, bar.start_s + bar.meter * bar.beat_s
    index = int(rng.integers(7, 15))
    while t < end - 1e-6:
        length = min(bar.beat_s * float(rng.choice([0.25, 0.5, 0.5, 1, 1, 1.5, 2])), end - t)
        index = int(np.clip(index + rng.choice([-3, -2, -1, -1, 0, 1, 1, 2, 3]), 0, len(bar.scale) - 1))
        pitch, off = bar.scale[index], t + length * rng.uniform(0.5, 1.05)
        events.append((t, off, pitch, bar.loudness + 8))
        if octaves:
            events.append((t, off, pitch + 12, bar.loudness + 4))
        elif rng.random() < 0.2:
            events.append((t, off, pitch - int(rng.choice([3, 4, 8, 9])), bar.loudness - 2))
        t += length
    return events


def _rh_runs(bar: Bar, rng: np.random.Generator) -> list[Event]:
    step = bar.beat_s / bar.subdiv / (2 if rng.random() < 0.5 else 1)
    n_steps = int(round(bar.meter * bar.beat_s / step))
    index, direction, events = int(rng.integers(5, 15)), 1, []
    for k in range(n_steps):
        if not 0 < index + direction < len(bar.scale) or rng.random() < 0.08:
            direction = -direction
        index += direction
        t = bar.start_s + k * step
        events.append((t, t + 1.05 * step, bar.scale[index], bar.loudness + 2))
    return events


def _rh_arpeggio(bar: Bar, rng: np.random.Generator) -> list[Event]:
    tones = sorted({c + 12 * o for c in bar.chord for o in (1, 2, 3) if 55 <= c + 12 * o <= 100})
    ladder = tones + tones[-2:0:-1]
    step = bar.beat_s / bar.subdiv
    return [
        (bar.start_s + k * step, bar.start_s + (k + 1.5) * step, ladder[k % len(ladder)],
         bar.loudness + 3 * (k % bar.subdiv == 0))
        for k in range(bar.meter * bar.subdiv)
    ]


def _rh_chords(bar: Bar, rng: np.random.Generator) -> list[Event]:
    events = []
    for b in range(bar.meter):
        if rng.random() < 0.85:
            t = bar.start_s + b * bar.beat_s
            tones = [c + 24 for c in bar.chord] + ([bar.chord[0] + 36] if rng.random() < 0.5 else [])
            off = t + rng.uniform(0.3, 0.95) * bar.beat_s
            events += [(t, off, p, bar.loudness + 2 + 5 * (b == 0)) for p in tones]
    return events


LEFT_HAND = {
    "block": _lh_block,
    "alberti": _lh_figure((1, 3, 2, 3), 1.1),
    "broken_octave": _lh_figure((0, 1), 0.95),
    "wide_arpeggio": _lh_figure((0, 2, 3, 4, 3, 2), 2.0),
    "stride": _lh_stride,
    "held": _lh_held,
}
RIGHT_HAND = {
    "melody": _rh_melody,
    "melody_octaves": lambda bar, rng: _rh_melody(bar, rng, octaves=True),
    "runs": _rh_runs,
    "arpeggio": _rh_arpeggio,
    "chords": _rh_chords,
}


def _section(rng: np.random.Generator) -> dict:
    return {
        "n_bars": int(rng.choice([4, 8, 8, 16])),
        "left": str(rng.choice(list(LEFT_HAND))),
        "right": str(rng.choice(list(RIGHT_HAND) + ["melody"])),
        "pedal": rng.random() < 0.8,
        "progression": PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))],
        "subdiv": int(rng.choice([2, 2, 3, 4, 4])),
        "shift": int(rng.choice([-12, 0, 0, 0, 12])),  # whole-section register shift
    }


def generate_piece(rng: np.random.Generator, *, duration_s: float = 120.0) -> Piece:
    """Generate one piece of about ``duration_s`` seconds, quantised (not yet humanized).

    Parameters
    ----------
    rng : numpy.random.Generator
        The only source of randomness: the same seed gives the same piece.
    duration_s : float > 0
        Length; the piece stops at the first bar line past it.

    Returns
    -------
    Piece
        Notes within MIDI 21-108 with velocities 1-127, and legato pedal presses.
    """
    tonic = int(rng.integers(0, 12)) + 48
    scale = MAJOR if rng.random() < 0.6 else MINOR
    beat_s = 60.0 / float(rng.uniform(60, 168))
    meter = int(rng.choice([2, 3, 4, 4, 4, 6]))
    base, swing, period_s = rng.uniform(45, 95), rng.uniform(10, 35), rng.uniform(8, 30)
    events: list[Event] = []
    pedals: list[Pedal] = []
    t, bar_index, section = 0.0, 0, {"n_bars": 0}
    while t < duration_s:
        if section["n_bars"] == 0:
            section = _section(rng)
            if rng.random() < 0.25:  # modulate
                tonic = int(np.clip(tonic + rng.choice([-5, -2, 2, 5, 7]), 43, 57))
        degree = section["progression"][bar_index % len(section["progression"])]
        root = tonic + section["shift"] - 12 * (rng.random() < 0.7)
        chord = chord_pitches(degree, scale, root, n_notes=4 if rng.random() < 0.2 else 3)
        top = tonic + section["shift"] + 12 * (1 + int(rng.integers(0, 2)))
        bar = Bar(t, beat_s, meter, section["subdiv"], chord,
                  tuple(top + scale[i % 7] + 12 * (i // 7) for i in range(-7, 22)),
                  base + swing * np.sin(2 * np.pi * t / period_s))
        events += LEFT_HAND[section["left"]](bar, rng) + RIGHT_HAND[section["right"]](bar, rng)
        if section["pedal"]:
            bar_s = meter * beat_s
            pedals.append(Pedal(t + rng.uniform(0.02, 0.12), t + bar_s - rng.uniform(0.04, 0.12)))
        t += meter * beat_s
        bar_index += 1
        section["n_bars"] -= 1
    return Piece(_to_notes(events, rng), pedals)


def _to_notes(events: Sequence[Event], rng: np.random.Generator) -> list[Note]:
    notes = []
    for onset, offset, pitch, velocity in events:
        pitch = int(pitch)
        while pitch < MIN_MIDI:
            pitch += 12
        while pitch > MAX_MIDI:
            pitch -= 12
        level = int(np.clip(round(velocity + rng.normal(0, 6)), 1, 127))
        notes.append(Note(float(onset), float(max(offset, onset + 0.03)), pitch, level))
    return sorted(notes, key=lambda n: (n.onset_s, n.pitch))
