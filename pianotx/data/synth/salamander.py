"""The Salamander Grand Piano as an SFZ instrument, and the randomness of one performance.

Salamander Grand Piano V3 (Alexander Holm, CC BY 3.0) is a Yamaha C5 sampled every
minor third (A0 ... C8, 30 pitches) at 16 velocities, plus one release (damper) noise
per key. :func:`salamander_sfz` maps such samples for sfizz; the instrument exposes four
MIDI controllers that :func:`performance` sets per render, so every item hears a slightly
different piano without loading a second instrument:

====  ==========================================  ==================
CC    what                                        range
====  ==========================================  ==================
20    global tuning                               -10 .. +10 cents
21    extra stretch tuning (extreme registers)    0 .. +/-20 cents
22    damper release time                         0.15 .. 0.9 s
23    release-noise level                         -34 .. -22 dB
====  ==========================================  ==================

A random velocity curve (an exponent on velocity) changes what the synthesizer hears,
never the label. sfizz follows the sustain pedal (CC64) by default.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from pianotx.music.notes import Note

# sfizz streams all but the first 8192 frames of a sample from disk and, rendering faster
# than real time, silences a voice whose rest has not arrived (measured: 5 of 30 long Iowa
# notes cut after 0.5 s). A sample offset that a never-sent controller could reach makes it
# load whole samples into memory instead.
LOAD_WHOLE_SAMPLES = "offset_oncc102=100000000"
NAME = "salamander"
LOWEST, HIGHEST = 21, 108  # A0, C8
CC_TUNE, CC_STRETCH, CC_RELEASE, CC_NOISE = 20, 21, 22, 23
TUNE_CENTS = 10.0  # CC20 spans -TUNE_CENTS .. +TUNE_CENTS
STRETCH_CENTS = 20.0  # CC21 at 127 adds this much at A0 (flat) and C8 (sharp)
RELEASE_S = (0.15, 0.9)  # CC22 spans this damper release time
NOISE_DB = (-34.0, -22.0)  # CC23 spans this release-noise volume
AMP_VELTRACK = 73  # the layers alone span about 20 dB; this adds the rest of a piano's range
RT_DECAY_DB_PER_S = 3.0  # a release noise is quieter after a long-held note
GAMMA = (0.75, 1.35)  # velocity-curve exponents drawn per performance


def sample_name(pitch: int, layer: int) -> str:
    """File name of the sample of ``pitch`` at velocity layer ``layer`` (1-16)."""
    return f"{pitch}v{layer}.flac"


def release_name(pitch: int) -> str:
    """File name of the release noise of key ``pitch``."""
    return f"{pitch}r.flac"


def velocity_ranges(n_layers: int) -> list[tuple[int, int]]:
    """Split velocities 1..127 into ``n_layers`` contiguous (lovel, hivel) ranges."""
    edges = [int(i * 127 / n_layers + 0.5) for i in range(n_layers + 1)]
    return [(edges[i] + 1, edges[i + 1]) for i in range(n_layers)]


def key_ranges(pitches: Sequence[int]) -> list[tuple[int, int, int]]:
    """(lokey, hikey, pitch) for sampled ``pitches``: each key plays the nearest sample.

    The ranges cover 21..108 without overlap; a key halfway between two samples plays
    the lower one.
    """
    ps = sorted(set(pitches))
    bounds = [LOWEST - 1] + [(a + b) // 2 for a, b in zip(ps, ps[1:])] + [HIGHEST]
    return [(bounds[i] + 1, bounds[i + 1], p) for i, p in enumerate(ps)]


def stretch_cents(pitch: int) -> float:
    """Extra stretch at CC21 = 127: a Railsback-like cubic, 0 in the middle, +/-STRETCH_CENTS at the ends."""
    x = (pitch - (LOWEST + HIGHEST) / 2) / ((HIGHEST - LOWEST) / 2)
    return STRETCH_CENTS * x ** 3


def salamander_sfz(samples: Sequence[tuple[int, int]], releases: Sequence[int], *, n_layers: int = 16) -> str:
    """SFZ text mapping Salamander samples (file names from :func:`sample_name`).

    Parameters
    ----------
    samples : sequence of (pitch, layer)
        Sampled MIDI pitches and their velocity layers, 1..``n_layers`` (soft to loud).
    releases : sequence of int
        Keys that have a release-noise sample (:func:`release_name`).
    n_layers : int
        Number of velocity layers; velocities 1..127 are split evenly among them.

    Returns
    -------
    str
        The SFZ file; sample paths are relative to the folder the SFZ is in.
    """
    lo_rel, hi_rel = RELEASE_S
    lo_db, hi_db = NOISE_DB
    lines = [
        "// Salamander Grand Piano V3, Yamaha C5 by Alexander Holm (CC BY 3.0), via npm @audio-samples.",
        f"// CC{CC_TUNE} tuning, CC{CC_STRETCH} stretch, CC{CC_RELEASE} release time, "
        f"CC{CC_NOISE} release-noise level.",
        f"<control> set_cc{CC_TUNE}=64 set_cc{CC_STRETCH}=32 set_cc{CC_RELEASE}=40 set_cc{CC_NOISE}=64",
        f"<global> {LOAD_WHOLE_SAMPLES} tune={-TUNE_CENTS:g} tune_oncc{CC_TUNE}={2 * TUNE_CENTS:g} "
        f"amp_veltrack={AMP_VELTRACK}",
    ]
    for layer, (lovel, hivel) in enumerate(velocity_ranges(n_layers), start=1):
        pitches = [p for p, lay in samples if lay == layer]
        if not pitches:
            continue
        lines.append(f"<group> lovel={lovel} hivel={hivel} ampeg_release={lo_rel:g} "
                     f"ampeg_release_oncc{CC_RELEASE}={hi_rel - lo_rel:g}")
        lines += [f"<region> sample={sample_name(p, layer)} lokey={lo} hikey={hi} pitch_keycenter={p} "
                  f"tune_oncc{CC_STRETCH}={stretch_cents(p) + 0.0:.1f}" for lo, hi, p in key_ranges(pitches)]
    if releases:
        lines.append(f"<group> trigger=release rt_decay={RT_DECAY_DB_PER_S:g} volume={lo_db:g} "
                     f"volume_oncc{CC_NOISE}={hi_db - lo_db:g}")
        lines += [f"<region> sample={release_name(p)} key={p}" for p in sorted(releases)]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Performance:
    """What differs between two renders of the Salamander piano (see the module table)."""

    gamma: float  # velocity exponent: heard = 127 * (played / 127) ** gamma
    tune_cents: float
    stretch: float  # 0..1 of STRETCH_CENTS
    release_s: float
    noise_db: float


def performance(seed: int) -> Performance:
    """Draw one performance's tuning, velocity curve and damper behaviour from ``seed``."""
    rng = np.random.default_rng([seed, 0x5A1])
    return Performance(
        gamma=float(np.exp(rng.uniform(*np.log(GAMMA)))),
        tune_cents=float(rng.uniform(-TUNE_CENTS, TUNE_CENTS)),
        stretch=float(rng.uniform(0.0, 1.0)),
        release_s=float(rng.uniform(*RELEASE_S)),
        noise_db=float(rng.uniform(*NOISE_DB)),
    )


def controls(perf: Performance) -> list[tuple[int, int]]:
    """(controller, value) pairs that set ``perf`` on the instrument."""
    def scale(x: float, lo: float, hi: float) -> int:
        return int(np.clip(round((x - lo) / (hi - lo) * 127), 0, 127))

    return [(CC_TUNE, scale(perf.tune_cents, -TUNE_CENTS, TUNE_CENTS)),
            (CC_STRETCH, scale(perf.stretch, 0.0, 1.0)),
            (CC_RELEASE, scale(perf.release_s, *RELEASE_S)),
            (CC_NOISE, scale(perf.noise_db, *NOISE_DB))]


def velocity_curve(velocity: int, *, gamma: float) -> int:
    """Velocity 1..127 through the exponent ``gamma`` (> 0): monotonic, 1..127 onto 1..127."""
    return int(np.clip(round(127 * (np.clip(velocity, 1, 127) / 127) ** gamma), 1, 127))


def notes_seed(notes: Sequence[Note]) -> int:
    """A seed that depends only on the notes, for renders not given one."""
    data = np.array([(n.onset_s, n.offset_s, n.pitch, n.velocity) for n in notes], np.float64)
    return zlib.crc32(data.tobytes())


def perform(notes: Sequence[Note], *, seed: int | None = None) -> tuple[list[Note], list[tuple[int, int]]]:
    """The notes as the synthesizer should hear them, and the controllers to send first.

    ``seed`` (default: derived from the notes) picks the :class:`Performance`; the notes
    returned are new, with curved velocities, and ``notes`` is left unchanged.
    """
    perf = performance(notes_seed(notes) if seed is None else seed)
    heard = [n._replace(velocity=velocity_curve(n.velocity, gamma=perf.gamma)) for n in notes]
    return heard, controls(perf)
