"""A realistic room, microphone and recording chain for training crops.

Sampled pianos rendered from MIDI lack what real recordings of real pianos have; this chain
adds it, in the order sound meets it (effect ranges after Transkun, which measured MAPS onset
F1 0.885 -> 0.922 with a similar chain):

1. the instrument: keybed thumps at note onsets (-40..-25 dB below the note), pedal thumps,
   sympathetic string resonance while the sustain pedal is down (:mod:`pianotx.data.augment.piano_noise`);
2. the space: a shoebox room from a per-process bank of image-source responses, 0.3-6 m
   from the piano, mixed wet/dry (:mod:`pianotx.data.augment.rooms`), or else pedalboard's reverb;
3. the room's noise floor: pink or brown noise at 20-60 dB SNR, sometimes mains hum;
4. the microphone and preamp (pedalboard, :mod:`pianotx.data.augment.mic_chain`): gain x0.25-4, four
   peaking EQs, a cheap mic's shelf or high-pass, a compressor, rarely distortion or clipping;
5. rarely a lossy codec (MP3 at a random VBR quality, or GSM), then a peak limit of 0.99.

Each effect is drawn independently with its ``*_prob``, so clean-ish crops still appear.
The direct sound keeps its sample (rooms are aligned on the direct path, pedalboard's
codecs compensate their latency), so note labels need no change. :func:`record` is pure:
the output is a function of the input and the generator's state. It needs the ``augment``
extra (``pip install 'pianotx[augment]'``). Cost, one thread: ~19 ms per 10 s crop at 16 kHz
with the defaults, plus ~3 s once per process for the room bank (``bench/augment_speed.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from pianotx.data.augment import mic_chain, piano_noise, rooms
from pianotx.config import SAMPLE_RATE
from pianotx.errors import ConfigError

PEAK_LIMIT = 0.99
SILENCE_POWER = 1e-6  # -60 dBFS: noise level reference for silent crops


@dataclass(frozen=True)
class RecordingConfig:
    """Probabilities (``*_prob``, each effect drawn independently) and uniform ranges."""

    key_noise_prob: float = 0.5
    key_noise_db_min: float = -40.0  # thump peak relative to the note's peak
    key_noise_db_max: float = -25.0
    pedal_noise_prob: float = 0.5
    pedal_noise_db_min: float = -40.0  # thump peak relative to the crop's peak
    pedal_noise_db_max: float = -25.0
    resonance_prob: float = 0.5
    resonance_db_min: float = -25.0
    resonance_db_max: float = -15.0
    room_prob: float = 0.6
    room_bank_size: int = 64
    room_bank_seed: int = 0
    room_length_m_min: float = 3.0
    room_length_m_max: float = 25.0
    room_width_m_min: float = 3.0
    room_width_m_max: float = 20.0
    room_height_m_min: float = 2.5
    room_height_m_max: float = 10.0
    rt60_s_min: float = 0.2  # raised per room to the shortest its size allows
    rt60_s_max: float = 1.5
    mic_distance_m_min: float = 0.3
    mic_distance_m_max: float = 6.0
    wet_min: float = 0.3  # share of the room microphone against the close one
    wet_max: float = 1.0
    reverb_prob: float = 0.5  # pedalboard reverb, only where no room was drawn
    reverb_size_min: float = 0.0
    reverb_size_max: float = 1.0
    reverb_wet_min: float = 0.0
    reverb_wet_max: float = 0.7
    noise_prob: float = 0.7
    snr_db_min: float = 20.0
    snr_db_max: float = 60.0
    brown_prob: float = 0.3  # else pink
    hum_prob: float = 0.2
    hum_snr_db_min: float = 35.0
    hum_snr_db_max: float = 70.0
    gain_prob: float = 0.8
    gain_db_min: float = -12.0  # x0.25
    gain_db_max: float = 12.0  # x4
    eq_prob: float = 0.75  # per band, four bands
    eq_hz_min: float = 32.0
    eq_hz_max: float = 12_000.0
    eq_q_min: float = 1.0
    eq_q_max: float = 4.0
    eq_db_min: float = -10.0
    eq_db_max: float = 5.0
    cheap_mic_prob: float = 0.25  # one of: high-pass, low shelf cut, high shelf cut
    compressor_prob: float = 0.4
    compressor_threshold_db_min: float = -30.0
    compressor_threshold_db_max: float = -10.0
    compressor_ratio_min: float = 1.5
    compressor_ratio_max: float = 6.0
    distortion_prob: float = 0.05  # half soft distortion, half hard clipping
    mp3_prob: float = 0.08
    mp3_quality_min: float = 2.0  # LAME VBR quality: 0 best, 10 worst
    mp3_quality_max: float = 9.5
    gsm_prob: float = 0.02

    def __post_init__(self) -> None:
        _check_fields(self)
        c = self
        positive = ("room_length_m_min", "room_width_m_min", "room_height_m_min", "rt60_s_min",
                    "mic_distance_m_min", "eq_hz_min", "eq_q_min")
        if any(getattr(c, name) <= 0 for name in positive):
            raise ConfigError(f"RecordingConfig {', '.join(positive)} must be > 0")
        if min(c.room_length_m_min, c.room_width_m_min, c.room_height_m_min) < 1.0:
            raise ConfigError("RecordingConfig room sides must be at least 1 m")
        shares = ("wet", "reverb_size", "reverb_wet")
        if any(not 0 <= getattr(c, s + e) <= 1 for s in shares for e in ("_min", "_max")):
            raise ConfigError(f"RecordingConfig {', '.join(shares)} ranges must lie in [0, 1]")
        if c.compressor_ratio_min < 1.0 or not 0 <= c.mp3_quality_min <= c.mp3_quality_max <= 10:
            raise ConfigError("RecordingConfig compressor ratio must be >= 1, mp3 quality 0-10")
        banks = (c.room_bank_size, c.room_bank_seed)
        if not all(isinstance(v, int) for v in banks) or min(banks) < 0 or c.room_bank_size < 1:
            raise ConfigError("RecordingConfig room_bank_size must be an int >= 1, "
                              "room_bank_seed an int >= 0")


def _check_fields(config: RecordingConfig) -> None:
    """Every field finite, every ``*_prob`` in [0, 1], every ``*_min`` at most its ``*_max``."""
    for f in fields(config):
        value = getattr(config, f.name)
        if not np.isfinite(value):
            raise ConfigError(f"RecordingConfig.{f.name} must be finite, got {value}")
        if f.name.endswith("_prob") and not 0.0 <= value <= 1.0:
            raise ConfigError(f"RecordingConfig.{f.name} must lie in [0, 1], got {value}")
        high = getattr(config, f.name[:-4] + "_max", None) if f.name.endswith("_min") else None
        if high is not None and value > high:
            raise ConfigError(f"RecordingConfig.{f.name} ({value}) exceeds its _max ({high})")


def require_libraries() -> None:
    """Raise :class:`ConfigError` unless pedalboard and pyroomacoustics can be imported."""
    try:
        import pedalboard  # noqa: F401
        import pyroomacoustics  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            f"the recording chain needs {exc.name}: pip install 'pianotx[augment]'"
        ) from None


def record(
    audio: np.ndarray,
    rng: np.random.Generator,
    *,
    sample_rate: int = SAMPLE_RATE,
    onsets_s: np.ndarray | None = None,
    pedals_s: np.ndarray | None = None,
    config: RecordingConfig = RecordingConfig(),
) -> np.ndarray:
    """Return ``audio`` as if played on a real piano in a room and recorded.

    Parameters
    ----------
    audio : np.ndarray, shape=(n_samples,)
        Mono crop; not modified.
    rng : numpy.random.Generator
        Source of every random choice (the room bank aside, see :mod:`pianotx.data.augment.rooms`).
    sample_rate : int
        Rate of ``audio`` in Hz.
    onsets_s : np.ndarray, shape=(n_onsets,), optional
        Note onsets in crop time (s), for key noise; those outside the crop are ignored.
    pedals_s : np.ndarray, shape=(n_pedals, 2), optional
        Sustain-pedal (down, up) times in crop time (s), for pedal noise and resonance.
    config : RecordingConfig
        Probabilities and ranges.

    Returns
    -------
    np.ndarray, shape=(n_samples,), float32
        Finite, peak at most 0.99; the direct sound keeps its timing.

    Raises
    ------
    ConfigError
        If pedalboard or pyroomacoustics is missing.
    """
    require_libraries()
    x = np.array(audio, dtype=np.float32)
    if len(x) == 0:
        return x
    c, sr = config, sample_rate
    onsets = np.zeros(0) if onsets_s is None else np.asarray(onsets_s, np.float64)
    pedals = np.zeros((0, 2)) if pedals_s is None else np.asarray(pedals_s, np.float64)
    pedals = pedals.reshape(-1, 2)
    on = dict(zip(("key", "pedal", "resonance", "room", "reverb", "noise", "hum"),
                  rng.random(7) < (c.key_noise_prob, c.pedal_noise_prob, c.resonance_prob,
                                   c.room_prob, c.reverb_prob, c.noise_prob, c.hum_prob)))
    dry = x
    if on["resonance"] and len(pedals):
        x = x + piano_noise.pedal_resonance(
            dry, rng, sample_rate=sr, pedals_s=pedals,
            level_db=rng.uniform(c.resonance_db_min, c.resonance_db_max))
    if on["key"] and len(onsets):
        x = x + piano_noise.key_noise(dry, rng, sample_rate=sr, onsets_s=onsets,
                                      level_db=(c.key_noise_db_min, c.key_noise_db_max))
    if on["pedal"] and len(pedals):
        x = x + piano_noise.pedal_noise(dry, rng, sample_rate=sr, pedals_s=pedals,
                                        level_db=(c.pedal_noise_db_min, c.pedal_noise_db_max))
    x = _space(x, rng, c, sr, room=on["room"], reverb=on["reverb"])
    if on["noise"]:
        power = max(float(np.dot(x, x)) / len(x), SILENCE_POWER)
        hum = power / 10 ** (rng.uniform(c.hum_snr_db_min, c.hum_snr_db_max) / 10)
        x = x + piano_noise.noise_floor(
            len(x), rng, sample_rate=sr, brown=bool(rng.random() < c.brown_prob),
            power=power / 10 ** (rng.uniform(c.snr_db_min, c.snr_db_max) / 10),
            hum_power=hum if on["hum"] else None)
    x = _limit(mic_chain.microphone(rng, c, sample_rate=sr)(x, sr))
    codec = mic_chain.codec(rng, c)
    if codec is not None:
        x = _limit(codec(x, sr))
    return np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32, copy=False)


def _space(x: np.ndarray, rng: np.random.Generator, c: RecordingConfig, sr: int, *,
           room: bool, reverb: bool) -> np.ndarray:
    """The room (a banked impulse response) if drawn, else pedalboard's reverb if drawn."""
    if room:
        rir, direct = rooms.room_response(c, sr, int(rng.integers(c.room_bank_size)))
        return rooms.apply_room(x, rir, direct, wet=rng.uniform(c.wet_min, c.wet_max))
    if reverb:
        return mic_chain.reverb(rng, c)(x, sr)
    return x


def _limit(x: np.ndarray) -> np.ndarray:
    x = np.nan_to_num(np.asarray(x, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    peak = float(np.max(np.abs(x)))
    return x * np.float32(PEAK_LIMIT / peak) if peak > PEAK_LIMIT else x
