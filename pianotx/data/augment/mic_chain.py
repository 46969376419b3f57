"""The microphone, preamp and codec end of the recording chain, as pedalboard plugins.

Each function draws its settings from the generator passed in and returns unapplied
plugins; :func:`pianotx.data.augment.recording.record` applies them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from pedalboard import Pedalboard, Plugin

    from pianotx.data.augment.recording import RecordingConfig

EQ_BANDS = 4
EQ_TOP_SHARE = 0.45  # peaking EQ centres stay below this share of the sample rate


def reverb(rng: np.random.Generator, c: RecordingConfig) -> Plugin:
    """Pedalboard's (Freeverb) reverb: random size and damping, wet share, dry ``1 - wet``."""
    import pedalboard

    wet = rng.uniform(c.reverb_wet_min, c.reverb_wet_max)
    return pedalboard.Reverb(room_size=rng.uniform(c.reverb_size_min, c.reverb_size_max),
                             damping=rng.uniform(0.2, 0.8), wet_level=wet, dry_level=1.0 - wet,
                             width=1.0)


def microphone(rng: np.random.Generator, c: RecordingConfig, *, sample_rate: int) -> Pedalboard:
    """Preamp gain, four peaking EQs, a cheap mic's roll-off, compressor, distortion.

    Each stage is drawn with its own probability (each EQ band with ``eq_prob``); the
    board may be empty.
    """
    import pedalboard as pb

    on = rng.random(4 + EQ_BANDS) < ((c.gain_prob, c.cheap_mic_prob, c.compressor_prob,
                                      c.distortion_prob) + (c.eq_prob,) * EQ_BANDS)
    u = rng.random(4 + 3 * EQ_BANDS)  # always the same count: each effect's values stay stable
    board = [pb.Gain(gain_db=_lerp(u[0], c.gain_db_min, c.gain_db_max))] if on[0] else []
    top_hz = min(c.eq_hz_max, EQ_TOP_SHARE * sample_rate)
    for band in np.flatnonzero(on[4:]):
        hz_u, q_u, db_u = u[4 + 3 * band : 7 + 3 * band]
        board.append(pb.PeakFilter(cutoff_frequency_hz=c.eq_hz_min * (top_hz / c.eq_hz_min) ** hz_u,
                                   q=_lerp(q_u, c.eq_q_min, c.eq_q_max),
                                   gain_db=_lerp(db_u, c.eq_db_min, c.eq_db_max)))
    if on[1]:
        board.append(_cheap_mic(u[1], u[2], u[3]))
    if on[2]:
        board.append(pb.Compressor(
            threshold_db=rng.uniform(c.compressor_threshold_db_min, c.compressor_threshold_db_max),
            ratio=rng.uniform(c.compressor_ratio_min, c.compressor_ratio_max),
            attack_ms=rng.uniform(1.0, 30.0), release_ms=rng.uniform(50.0, 300.0)))
    if on[3]:
        drive = rng.random()
        board.append(pb.Distortion(drive_db=_lerp(2 * drive, 5.0, 25.0)) if drive < 0.5
                     else pb.Clipping(threshold_db=_lerp(2 * drive - 1, -12.0, -2.0)))
    return pb.Pedalboard(board)


def _cheap_mic(kind_u: float, hz_u: float, db_u: float) -> Plugin:
    """A cheap microphone's roll-off: a high-pass, or a low or high shelf cut."""
    import pedalboard as pb

    kind = int(kind_u * 3)
    if kind == 0:
        return pb.HighpassFilter(cutoff_frequency_hz=_lerp(hz_u, 60.0, 250.0))
    if kind == 1:
        return pb.LowShelfFilter(cutoff_frequency_hz=_lerp(hz_u, 80.0, 400.0),
                                 gain_db=_lerp(db_u, -12.0, -3.0))
    return pb.HighShelfFilter(cutoff_frequency_hz=_lerp(hz_u, 2000.0, 6000.0),
                              gain_db=_lerp(db_u, -12.0, -3.0))


def codec(rng: np.random.Generator, c: RecordingConfig) -> Plugin | None:
    """MP3 at a random VBR quality, or GSM full rate, or None."""
    import pedalboard as pb

    u = rng.random(3)
    if u[0] < c.mp3_prob:
        return pb.MP3Compressor(vbr_quality=_lerp(u[2], c.mp3_quality_min, c.mp3_quality_max))
    if u[1] < c.gsm_prob:
        return pb.GSMFullRateCompressor()
    return None


def _lerp(u: float, low: float, high: float) -> float:
    return float(low + (high - low) * u)
