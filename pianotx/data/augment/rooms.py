"""Shoebox room impulse responses (pyroomacoustics), banked per process, label-aligned.

Image-source responses cost 5-300 ms each, too slow to compute per crop, so each process
keeps a bank of ``RecordingConfig.room_bank_size`` rooms computed lazily the first time a
crop picks them (:func:`room_response`, cached). Room ``slot`` is a pure function of
``(room_bank_seed, slot, sample rate)`` and the room ranges of the config, so every worker
builds the same bank; the crop's generator only picks the slot.

The direct-path delay (distance / speed of sound, plus pyroomacoustics' fractional-delay
centre) is removed when convolving (:func:`apply_room`), so the direct sound stays at the
original sample and the note labels stay aligned.
"""

from __future__ import annotations

from functools import lru_cache
from types import SimpleNamespace
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from pianotx.data.augment.recording import RecordingConfig

SABINE = 0.161  # s/m: RT60 = SABINE * volume / (surface * absorption)
MAX_ABSORPTION = 0.8  # the shortest RT60 drawn for a room is the one this absorption gives
MAX_ORDER = 40  # image-source order cap: bounds the cost of small reverberant rooms
WALL_MARGIN_M = 0.3  # piano and microphone keep this far from every wall
FADE_S = 0.05  # fade at the end of the truncated response
ROOM_FIELDS = ("room_bank_seed", "room_length_m_min", "room_length_m_max", "room_width_m_min",
               "room_width_m_max", "room_height_m_min", "room_height_m_max", "rt60_s_min",
               "rt60_s_max", "mic_distance_m_min", "mic_distance_m_max")


def room_response(config: RecordingConfig, sample_rate: int, slot: int) -> tuple[np.ndarray, int]:
    """Impulse response of bank room ``slot`` and the sample index of its direct path.

    Parameters
    ----------
    config : RecordingConfig
        Room size, RT60 and microphone distance ranges; ``room_bank_seed``.
    sample_rate : int
        Rate of the response in Hz.
    slot : int
        Room index in ``[0, config.room_bank_size)``.

    Returns
    -------
    rir : np.ndarray, shape=(n_taps,), float32
        Unit-energy response, truncated at the room's RT60 after the direct path.
    direct : int
        Index of the direct-path peak in ``rir`` (within half a sample).
    """
    ranges = tuple(float(getattr(config, name)) for name in ROOM_FIELDS)
    return _response(ranges, int(sample_rate), int(slot))


@lru_cache(maxsize=None)
def _response(ranges: tuple[float, ...], sample_rate: int, slot: int) -> tuple[np.ndarray, int]:
    """:func:`room_response` cached on the room fields only (the other fields don't matter)."""
    import pyroomacoustics as pra

    c = SimpleNamespace(**dict(zip(ROOM_FIELDS, ranges)))
    rng = np.random.default_rng([int(c.room_bank_seed), slot, sample_rate])
    dims = np.array([
        rng.uniform(c.room_length_m_min, c.room_length_m_max),
        rng.uniform(c.room_width_m_min, c.room_width_m_max),
        rng.uniform(c.room_height_m_min, c.room_height_m_max),
    ])
    volume, surface = np.prod(dims), 2 * (dims[0] * dims[1] + dims[0] * dims[2] + dims[1] * dims[2])
    shortest_rt60 = SABINE * volume / (surface * MAX_ABSORPTION)
    rt60 = max(rng.uniform(c.rt60_s_min, c.rt60_s_max), shortest_rt60)
    absorption, order = pra.inverse_sabine(rt60, dims)
    source = np.array([
        rng.uniform(WALL_MARGIN_M, dims[0] - WALL_MARGIN_M),
        rng.uniform(WALL_MARGIN_M, dims[1] - WALL_MARGIN_M),
        min(rng.uniform(0.7, 1.3), dims[2] - WALL_MARGIN_M),
    ])
    mic = _microphone(rng, source, dims, rng.uniform(c.mic_distance_m_min, c.mic_distance_m_max))
    room = pra.ShoeBox(dims, fs=sample_rate, materials=pra.Material(absorption),
                       max_order=int(min(order, MAX_ORDER)))
    room.add_source(source)
    room.add_microphone(mic)
    room.compute_rir()
    rir = np.asarray(room.rir[0][0], dtype=np.float64)
    distance = float(np.linalg.norm(mic - source))
    direct = int(round(distance / pra.constants.get("c") * sample_rate))
    direct += pra.constants.get("frac_delay_length") // 2
    rir = rir[: direct + int(rt60 * sample_rate)]
    n_fade = min(int(FADE_S * sample_rate), len(rir) - direct - 1)
    if n_fade > 0:
        rir[-n_fade:] *= np.linspace(1.0, 0.0, n_fade)
    return (rir / np.sqrt(np.dot(rir, rir))).astype(np.float32), direct


def apply_room(audio: np.ndarray, rir: np.ndarray, direct: int, *, wet: float) -> np.ndarray:
    """Mix ``audio`` (dry, close microphone) with its convolution by ``rir`` (room microphone).

    The convolution is read from ``direct`` on, so the direct sound keeps its sample.

    Parameters
    ----------
    audio : np.ndarray, shape=(n_samples,), float32
    rir : np.ndarray, shape=(n_taps,)
    direct : int
        Index of the direct path in ``rir``.
    wet : float in [0, 1]
        Share of the room microphone.

    Returns
    -------
    np.ndarray, shape=(n_samples,), float32
    """
    import scipy.signal

    room = scipy.signal.fftconvolve(audio, rir)[direct : direct + len(audio)]
    return (np.float32(1.0 - wet) * audio + np.float32(wet) * room).astype(np.float32)


def _microphone(
    rng: np.random.Generator, source: np.ndarray, dims: np.ndarray, distance: float
) -> np.ndarray:
    """A point ``distance`` from ``source`` in a random direction (above the horizontal
    mostly), brought closer along the ray if it would leave the room."""
    azimuth = rng.uniform(0.0, 2 * np.pi)
    elevation = rng.uniform(-0.2, 0.8)  # rad: slightly below to well above the piano
    ray = np.array([np.cos(azimuth) * np.cos(elevation), np.sin(azimuth) * np.cos(elevation),
                    np.sin(elevation)])
    low, high = WALL_MARGIN_M - source, dims - WALL_MARGIN_M - source
    with np.errstate(divide="ignore"):
        limits = np.where(ray > 0, high / ray, np.where(ray < 0, low / ray, np.inf))
    return source + ray * min(distance, float(np.min(limits)))
