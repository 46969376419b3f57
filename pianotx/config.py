"""Constants and the frozen configuration dataclasses, one per concern.

Defaults are defined here and only here. Every config converts to a dict of primitives
(saved into checkpoints and run folders) and back, rejecting unknown keys and wrong types.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from pianotx.errors import ConfigError

MIN_MIDI = 21
MAX_MIDI = 108
N_KEYS = MAX_MIDI - MIN_MIDI + 1
SAMPLE_RATE = 16_000
HOP_LENGTH = 160
FRAME_RATE = SAMPLE_RATE / HOP_LENGTH  # 100 frames per second
PEDAL_THRESHOLD = 64  # CC64 value at or above which the sustain pedal counts as down
# The harmonic view (ModelConfig.harmonic): one log-frequency band per semitone from A0 up
# to B8 (7.9 kHz, below the 8 kHz Nyquist frequency), and the semitone offsets of a key's
# partials 1-8 stacked onto it, with three below it (the key an octave, an octave and a
# fifth, two octaves down, whose partial this key may be).
LOGFREQ_BANDS = 99
HARMONIC_OFFSETS = (-24, -19, -12, 0, 12, 19, 24, 28, 31, 34, 36)

HEAD_SETS = {
    "frame": ("frame",),
    "notes": ("frame", "onset", "offset", "velocity"),
    "full": ("frame", "onset", "offset", "velocity", "pedal"),
}
HEAD_WIDTHS = {"pedal": 1}  # rolls per head; every other head has one per key (88)
TRUNKS = ("paper", "freq")
TEMPORAL_HEADS = ("plain", "dilated")  # the freq-trunk FCNN's head (see pianotx.model.freqnet)
HEAD_ALIGNS = ("pad", "resize")  # the paper-trunk FCNN head's time alignment (ModelConfig)

C = TypeVar("C")


@dataclass(frozen=True)
class FeatureConfig:
    """Log-mel front end (the paper's and Kong et al.'s parameters).

    ``logfreq_bands`` > 0 appends that many log-frequency bands (one per semitone from A0,
    computed from the same STFT power) after the mel bands: the harmonic view's input.
    """

    sample_rate: int = SAMPLE_RATE
    n_fft: int = 2048
    win_length: int = 2048
    hop_length: int = HOP_LENGTH
    n_mels: int = 229
    fmin: float = 30.0
    fmax: float = 8000.0
    log_floor: float = 1e-5
    logfreq_bands: int = 0

    @property
    def n_features(self) -> int:
        """Values per frame: the mel bands, then the log-frequency bands."""
        return self.n_mels + self.logfreq_bands

    @property
    def frame_rate(self) -> float:
        """Frames per second."""
        return self.sample_rate / self.hop_length


@dataclass(frozen=True)
class ModelConfig:
    """Architecture and size of a transcription model.

    ``width`` multiplies the trunk's channel counts and the GRU size (1.0 is the paper's
    16/64/4 channels and 88 GRU units; 0.25 is a tiny test model); ``heads`` names a head set
    in :data:`HEAD_SETS`. ``trunk`` is ``paper`` (the paper's U-Net, pooling time and
    frequency) or ``freq`` (pooling frequency only, see :mod:`pianotx.model.freqnet`), whose
    per-frame feature size is ``hidden``. ``soft_frames`` > 0 trains onset/offset heads on
    triangles that many frames wide on each side of the exact time (0: one hard frame); the
    decoder refines peak times from them. Options of the ``freq`` trunk: ``diff_input`` adds
    the log-mel's frame-to-frame difference as a second input channel; ``temporal_head``
    ``dilated`` (FCNN only) replaces the two ``head_kernel`` convs with four residual
    dilated ones. ``head_align`` (FCNN on the ``paper`` trunk): ``pad`` runs the trunk at
    the input's frame count and zero-pads ``head_kernel - 1`` frames around it (centred) for
    the unpadded Conv1d, so output frame t sees frames t-2..t+3 for kernel 6 anywhere in the
    window; ``resize`` is the layout of checkpoints written before 0.3 (the trunk resized
    to T + k - 1 frames, which shifts the head's view by up to ~(k-1)/2 frames across a
    window), kept so they load and predict as they were trained. ``harmonic`` (``freq``
    trunk) adds the harmonic view beside the log-mel (:class:`pianotx.model.freqnet.
    HarmonicBranch`): it reads :data:`LOGFREQ_BANDS` log-frequency bands appended to the
    features (:meth:`feature_config`). The defaults are the shipped model.
    """

    arch: str = "crnn"
    heads: str = "frame"
    width: float = 1.0
    n_mels: int = 229
    head_kernel: int = 6
    gru_hidden: int = 88
    dropout: float = 0.0
    trunk: str = "paper"
    hidden: int = 256
    soft_frames: int = 0
    diff_input: bool = False
    temporal_head: str = "plain"
    head_align: str = "pad"
    harmonic: bool = False

    def __post_init__(self) -> None:
        if self.arch not in ("fcnn", "crnn"):
            raise ConfigError(f"unknown architecture {self.arch!r}: use 'fcnn' or 'crnn'")
        if self.heads not in HEAD_SETS:
            raise ConfigError(f"unknown head set {self.heads!r}: use one of {sorted(HEAD_SETS)}")
        if self.trunk not in TRUNKS:
            raise ConfigError(f"unknown trunk {self.trunk!r}: use one of {list(TRUNKS)}")
        if self.width <= 0 or min(self.head_kernel, self.gru_hidden, self.hidden) < 1:
            raise ConfigError("model width, head_kernel, gru_hidden and hidden must be positive")
        if self.soft_frames < 0:
            raise ConfigError(f"soft_frames must be >= 0, got {self.soft_frames}")
        if self.temporal_head not in TEMPORAL_HEADS:
            raise ConfigError(f"unknown temporal head {self.temporal_head!r}: "
                              f"use one of {list(TEMPORAL_HEADS)}")
        if self.head_align not in HEAD_ALIGNS:
            raise ConfigError(f"unknown head_align {self.head_align!r}: use one of "
                              f"{list(HEAD_ALIGNS)}")
        if self.diff_input and self.trunk != "freq":
            raise ConfigError("diff_input needs trunk='freq'")
        if self.harmonic and self.trunk != "freq":
            raise ConfigError("harmonic needs trunk='freq'")
        if self.temporal_head != "plain" and (self.trunk, self.arch) != ("freq", "fcnn"):
            raise ConfigError(f"temporal_head {self.temporal_head!r} needs arch='fcnn' and "
                              "trunk='freq'")

    def channels(self, base: int) -> int:
        """Channel count ``base`` scaled by ``width`` (at least 1)."""
        return max(1, round(base * self.width))

    def feature_config(self) -> FeatureConfig:
        """The front end this model reads: the paper's log-mel, plus the log-frequency
        bands of the harmonic view when ``harmonic``."""
        return FeatureConfig(n_mels=self.n_mels,
                             logfreq_bands=LOGFREQ_BANDS if self.harmonic else 0)

    @property
    def head_names(self) -> tuple[str, ...]:
        """Names of the predicted rolls, in output order."""
        return HEAD_SETS[self.heads]

    def head_width(self, name: str) -> int:
        """Rolls the head ``name`` predicts per frame (88 keys, or 1 for the pedal)."""
        return HEAD_WIDTHS.get(name, N_KEYS)


# What is done with the predicted sustain pedal: cc64 writes CC64 presses beside the notes
# (the MIDI sounds, and is scored, with notes held by them); extend holds the notes by the
# presses and writes no CC64; none ignores the pedal head (note lengths come from the frame
# head alone, which is trained on sounding, pedal-extended notes).
PEDAL_MODES = ("cc64", "extend", "none")


@dataclass(frozen=True)
class DecodeConfig:
    """Thresholds and limits that turn probability rolls into notes, and the pedal mode."""

    onset_threshold: float = 0.5
    frame_threshold: float = 0.5
    min_note_s: float = 0.03
    default_velocity: int = 64
    pedal_threshold: float = 0.5
    min_pedal_s: float = 0.05
    offset_threshold: float = 0.3
    pedal: str = "cc64"  # how predicted sustain is output: one of PEDAL_MODES
    # A key's next onset needs its onset probability to dip below this fraction of
    # onset_threshold after the previous one (else the higher peak is kept); 0 disables.
    # 0.25 was chosen with bench/onset_rearm.py: fcnn-notes onset F1 48.0 -> 49.4 on maps-dev
    # (real) and 52.6 -> 53.9 on synthetic validation; same-key re-onsets under 100 ms fall
    # from 10.7 % of the notes to 0.7 % (0.4 % in the references).
    onset_rearm: float = 0.25
    # Below middle C a key's onset threshold rises by this much per octave (key p:
    # onset_threshold + onset_bass_slope * (60 - p) / 12, at most 0.95; see
    # pianotx.engine.decode.key_onset_thresholds); from middle C up it is onset_threshold.
    # Chosen by the sweep of note models: the bass estimates are the least precise.
    onset_bass_slope: float = 0.0
    # Frame-started notes (models with an onset head): where the frame probability stays at
    # or above frame_note_level for at least frame_note_min_s, with no onset-gated note of
    # its key starting within FRAME_NOTE_GAP frames of that run's start and an onset
    # probability of at least frame_note_onset within FRAME_NOTE_REACH frames of it, a note
    # starts there and ends as onset-gated notes do (see pianotx.engine.decode.frame_spans);
    # 0 disables. The onset head misses notes the frame head hears (on maps-dev the missed
    # notes' onset probability has a median of 0.17, their frame probability 0.94).
    frame_note_min_s: float = 0.0
    frame_note_level: float = 0.6
    frame_note_onset: float = 0.2

    def __post_init__(self) -> None:
        if self.pedal not in PEDAL_MODES:
            raise ConfigError(f"pedal must be one of {', '.join(PEDAL_MODES)}, got {self.pedal!r}")
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if item.name != "pedal" and (isinstance(value, bool) or not isinstance(value, numbers.Real)
                                         or not math.isfinite(value)):
                raise ConfigError(f"{item.name} must be a finite number, got {value!r}")
        if self.default_velocity != int(self.default_velocity):
            raise ConfigError(f"default_velocity must be a whole number 1-127, got {self.default_velocity}")
        for name in ("onset_threshold", "frame_threshold", "pedal_threshold",
                     "offset_threshold"):
            value = getattr(self, name)
            if not 0.0 < value < 1.0:
                raise ConfigError(f"{name} must lie strictly between 0 and 1, got {value}")
        if not 0.0 <= self.onset_bass_slope <= 0.5:
            raise ConfigError(f"onset_bass_slope must lie in [0, 0.5] per octave, got "
                              f"{self.onset_bass_slope}")
        for name in ("frame_note_level", "frame_note_onset"):
            if not 0.0 < getattr(self, name) < 1.0:
                raise ConfigError(f"{name} must lie strictly between 0 and 1, got "
                                  f"{getattr(self, name)}")
        if self.frame_note_min_s < 0:
            raise ConfigError(f"frame_note_min_s must be >= 0, got {self.frame_note_min_s}")
        if not 0.0 <= self.onset_rearm < 1.0:
            raise ConfigError(f"onset_rearm must lie in [0, 1), got {self.onset_rearm}")
        if self.min_note_s < 0 or self.min_pedal_s < 0:
            raise ConfigError(f"min_note_s and min_pedal_s must be >= 0, got "
                              f"{self.min_note_s}, {self.min_pedal_s}")
        if not 1 <= self.default_velocity <= 127:
            raise ConfigError(f"default_velocity must be 1-127, got {self.default_velocity}")


def to_dict(config: Any) -> dict[str, Any]:
    """Return a config dataclass as a dict of primitives."""
    return dataclasses.asdict(config)


# What checkpoints lacking a field used, for the trunks where the field changes the network
# (the head alignment exists only on the paper trunk; elsewhere the default is the same net).
LEGACY_MODEL_FIELDS = {"head_align": ("resize", ("paper",))}


def model_config_from_dict(data: dict[str, Any]) -> ModelConfig:
    """:func:`from_dict` for a stored ModelConfig: fields added since the checkpoint was
    written take the value the model was trained with (:data:`LEGACY_MODEL_FIELDS`)."""
    if isinstance(data, dict):
        trunk = data.get("trunk", ModelConfig.trunk)
        legacy = {k: value for k, (value, trunks) in LEGACY_MODEL_FIELDS.items()
                  if k not in data and trunk in trunks}
        data = {**legacy, **data}
    return from_dict(ModelConfig, data)


def from_dict(cls: type[C], data: dict[str, Any]) -> C:
    """Build config ``cls`` from ``data``, rejecting unknown keys and wrong types.

    Raises
    ------
    ConfigError
        If ``data`` holds a key ``cls`` does not define or a value of the wrong type.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{cls.__name__} must be a dict, got {type(data).__name__}")
    known = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"{cls.__name__} has no field(s) {', '.join(unknown)}")
    values = {}
    for name, value in data.items():
        default = getattr(cls, name, None)
        if isinstance(default, bool) != isinstance(value, bool):
            raise ConfigError(f"{cls.__name__}.{name} has the wrong type {type(value).__name__}")
        if isinstance(default, float) and isinstance(value, int):
            value = float(value)
        if default is not None and not isinstance(value, type(default)):
            raise ConfigError(f"{cls.__name__}.{name} has the wrong type {type(value).__name__}")
        values[name] = value
    return cls(**values)
