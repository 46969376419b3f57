"""Random training crops with their label rolls, as a torch ``Dataset``.

An epoch follows the paper's definition: one pass over the training clips, i.e. total
train duration / ``segment_s`` crops, unless ``samples_per_epoch`` is given. Crop ``k`` of
epoch ``e`` is a pure function of ``(seed, e, k)``: the item (chosen with probability
proportional to its duration), the start (a multiple of the hop, so label frames sit on the
feature grid) and the augmentation. Call :meth:`SegmentDataset.set_epoch` before each
epoch and create the DataLoader iterator afterwards (``persistent_workers=False``, the
default), so workers get the new epoch.

Decoded audio (mono float16 at the feature rate) and pedal-extended notes are cached as
``.npy`` in ``cache_dir`` only, written atomically, keyed by file size, modification time,
a sample of the file's bytes and the sample rate; crops are read through memory maps.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np
import torch

from pianotx.audio.load import load_audio
from pianotx.data.augment.basic import AugmentConfig, Params, apply, draw
from pianotx.config import FeatureConfig
from pianotx.data.readers import Item, load_reference
from pianotx.errors import DatasetError
from pianotx.music.notes import Note, Pedal, notes_to_rolls
from pianotx.data.augment.recording import RecordingConfig, record, require_libraries

CACHE_VERSION = 1  # bump when the cached content or its meaning changes
SAMPLE_BYTES = 1 << 16  # bytes read at the head, middle and tail of a file for its key


class Crop(NamedTuple):
    """Where crop ``k`` comes from: item index, first source sample, augmentation."""

    item_index: int
    start_sample: int
    params: Params | None


class SegmentDataset(torch.utils.data.Dataset):
    """Fixed-length random crops of audio with aligned frame/onset/offset/velocity rolls.

    Parameters
    ----------
    items : sequence of Item
        Performances to crop from (usually ``find_items(root, split='train')``).
    cache_dir : Path
        Folder for decoded audio and labels; created if needed; must not hold dataset files.
    segment_s : float > 0
        Crop length in seconds.
    feature_config : FeatureConfig
        Sample rate and hop of the model's features.
    seed : int >= 0
        Seed of every random choice.
    augment : AugmentConfig or None
        Augmentation drawn per crop; None for clean crops.
    recording : RecordingConfig or None
        Room, microphone and recording chain (:func:`pianotx.data.augment.recording.record`) applied
        to each crop after ``augment``; it then replaces the gain, EQ, reverb and noise of
        ``augment``, of which only the detune stays. None for no chain.
    samples_per_epoch : int or None
        Crops per epoch; None means total duration / ``segment_s``.
    soft_frames : int >= 0
        Onset/offset target width (see :func:`pianotx.music.notes.notes_to_rolls`).

    Notes
    -----
    Each sample is a dict: ``audio`` float32 ``(segment_samples,)`` and ``frame``,
    ``onset``, ``offset``, ``velocity`` float32 ``(segment_samples // hop + 1, 88)`` and
    ``pedal`` ``(segment_samples // hop + 1, 1)``.
    """

    def __init__(
        self,
        items: Sequence[Item],
        *,
        cache_dir: Path,
        segment_s: float = 10.0,
        feature_config: FeatureConfig = FeatureConfig(),
        seed: int = 0,
        augment: AugmentConfig | None = None,
        recording: RecordingConfig | None = None,
        samples_per_epoch: int | None = None,
        soft_frames: int = 0,
    ) -> None:
        if not items:
            raise DatasetError("no items to train on; check the dataset folder and split")
        if not (np.isfinite(segment_s) and segment_s > 0) or seed < 0:
            raise DatasetError(f"segment_s must be finite and > 0 and seed >= 0, got {segment_s}, "
                               f"{seed}")
        if samples_per_epoch is not None and samples_per_epoch < 1:
            raise DatasetError(f"samples_per_epoch must be >= 1, got {samples_per_epoch}")
        self.items = tuple(items)
        self.cache_dir = _check_cache_dir(Path(cache_dir), self.items)
        self.config = feature_config
        self.segment_samples = int(round(segment_s * feature_config.sample_rate))
        self.n_frames = self.segment_samples // feature_config.hop_length + 1
        self.seed = seed
        self.augment = augment
        self.recording = recording
        if recording is not None:
            require_libraries()
        self.soft_frames = soft_frames
        durations = np.array([item.duration_s for item in self.items], dtype=np.float64)
        if not np.all(np.isfinite(durations) & (durations > 0)):
            raise DatasetError("every item needs a finite positive duration_s to be sampled")
        self._cumulative = np.cumsum(durations)
        self._length = samples_per_epoch or max(1, int(round(durations.sum() / segment_s)))
        self.epoch = 0
        self._sources: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def __len__(self) -> int:
        return self._length

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose crops ``__getitem__`` returns."""
        self.epoch = int(epoch)

    def prepare(self, *, on_progress: Callable[[int, int], None] | None = None) -> None:
        """Decode every item into the cache now (instead of lazily in the workers)."""
        for i in range(len(self.items)):
            self._source(i)
            if on_progress is not None:
                on_progress(i + 1, len(self.items))

    def crop(self, k: int) -> Crop:
        """Return the deterministic plan of crop ``k`` in the current epoch."""
        if not 0 <= k < self._length:
            raise IndexError(f"crop {k} out of range for {self._length} crops")
        rng = np.random.default_rng([self.seed, self.epoch, k])
        index = int(np.searchsorted(self._cumulative, rng.random() * self._cumulative[-1], "right"))
        index = min(index, len(self.items) - 1)
        params = draw(rng, self.augment) if self.augment is not None else None
        if params is not None and self.recording is not None:
            # the recording chain has its own gain, EQ, space and noise: keep only the detune
            params = params._replace(gain_db=0.0, eq=None, reverb=None, snr_db=None)
        speed = params.speed if params is not None else 1.0
        audio = self._source(index)[0]
        hop = self.config.hop_length
        span = int(round(self.segment_samples * speed))
        n_starts = max(len(audio) - span, 0) // hop + 1
        return Crop(index, int(rng.integers(n_starts)) * hop, params)

    def __getitem__(self, k: int) -> dict[str, torch.Tensor]:
        plan = self.crop(k)
        audio, notes, pedals = self._source(plan.item_index)
        speed = plan.params.speed if plan.params is not None else 1.0
        span = int(round(self.segment_samples * speed))
        piece = np.asarray(audio[plan.start_sample : plan.start_sample + span], dtype=np.float32)
        if plan.params is not None:
            rng = np.random.default_rng([self.seed, self.epoch, k, 1])
            piece = apply(
                piece, plan.params, rng, n_samples=self.segment_samples,
                sample_rate=self.config.sample_rate,
            )
        elif len(piece) < self.segment_samples:
            piece = np.pad(piece, (0, self.segment_samples - len(piece)))
        rate = self.config.sample_rate
        start_s, span_s = plan.start_sample / rate, span / rate
        crop_notes = _crop_notes(notes, start_s, span_s, speed)
        crop_pedals = [Pedal(*times) for times in _crop_times(pedals, start_s, span_s, speed)]
        rolls = notes_to_rolls(crop_notes, self.n_frames, frame_rate=self.config.frame_rate,
                               pedals=crop_pedals, soft_frames=self.soft_frames)
        if self.recording is not None:
            piece = record(
                piece, np.random.default_rng([self.seed, self.epoch, k, 2]), sample_rate=rate,
                onsets_s=np.array([note.onset_s for note in crop_notes]),
                pedals_s=np.array(crop_pedals, dtype=np.float64).reshape(-1, 2),
                config=self.recording,
            )
        sample = {"audio": torch.from_numpy(np.ascontiguousarray(piece, dtype=np.float32))}
        sample.update({name: torch.from_numpy(roll) for name, roll in rolls._asdict().items()})
        return sample

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_sources"] = {}  # memory maps are reopened in each worker, not pickled
        return state

    def _source(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Memory-mapped cached audio, the ``(n, 4)`` notes and ``(m, 2)`` pedals of
        item ``index``."""
        if index not in self._sources:
            item = self.items[index]
            rate = self.config.sample_rate
            audio_file = self.cache_dir / f"audio-{_file_key(item.audio_path, f'sr={rate}')}.npy"
            if not audio_file.exists():
                audio = load_audio(item.audio_path, sample_rate=rate)
                _save_atomic(audio_file, audio.astype(np.float16))
            notes_file = self.cache_dir / f"notes-{_file_key(item.midi_path, 'extended')}.npy"
            pedals_file = self.cache_dir / f"pedals-{_file_key(item.midi_path, 'pedals')}.npy"
            if not (notes_file.exists() and pedals_file.exists()):
                notes, pedals = load_reference(item)
                _save_atomic(notes_file, np.array(notes, dtype=np.float64).reshape(-1, 4))
                _save_atomic(pedals_file, np.array(pedals, dtype=np.float64).reshape(-1, 2))
            self._sources[index] = (np.load(audio_file, mmap_mode="r"), np.load(notes_file),
                                    np.load(pedals_file))
        return self._sources[index]


def _crop_times(times: np.ndarray, start_s: float, span_s: float, speed: float) -> np.ndarray:
    """``(n, 2)`` intervals overlapping the crop, in crop time scaled by ``1/speed``."""
    keep = times[(times[:, 1] > start_s) & (times[:, 0] < start_s + span_s)]
    return (keep - start_s) / speed


def _crop_notes(notes: np.ndarray, start_s: float, span_s: float, speed: float) -> list[Note]:
    """Notes sounding in ``[start_s, start_s + span_s)``, in crop time scaled by ``1/speed``."""
    keep = notes[(notes[:, 1] > start_s) & (notes[:, 0] < start_s + span_s)]
    return [
        Note((on - start_s) / speed, (off - start_s) / speed, int(pitch), int(velocity))
        for on, off, pitch, velocity in keep
    ]


def _check_cache_dir(cache_dir: Path, items: Sequence[Item]) -> Path:
    resolved = cache_dir.resolve()
    data_dirs = {p.parent.resolve() for item in items for p in (item.audio_path, item.midi_path)}
    if resolved in data_dirs:
        raise DatasetError(
            f"cache folder {cache_dir} holds dataset files; choose a separate folder for the cache"
        )
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetError(f"cannot create cache folder {cache_dir}: {exc.strerror}") from None
    return cache_dir


def _file_key(path: Path, salt: str) -> str:
    """Hash of a file's size, mtime and head/middle/tail bytes, plus ``salt``."""
    try:
        stat = path.stat()
        size = stat.st_size
        digest = hashlib.sha256(f"v{CACHE_VERSION}|{salt}|{size}|{stat.st_mtime_ns}".encode())
        with path.open("rb") as handle:
            for offset in (0, max(size // 2 - SAMPLE_BYTES // 2, 0), max(size - SAMPLE_BYTES, 0)):
                handle.seek(offset)
                digest.update(handle.read(SAMPLE_BYTES))
    except OSError as exc:
        raise DatasetError(
            f"cannot read dataset file {path}: {exc.strerror}; check the dataset"
        ) from None
    return digest.hexdigest()[:24]


def _save_atomic(path: Path, array: np.ndarray) -> None:
    """Write ``array`` as ``.npy`` to ``path`` through a temporary file and a rename."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            np.save(handle, array)
        os.replace(tmp, path)
    except OSError as exc:
        raise DatasetError(
            f"cannot write cache file {path}: {exc.strerror}; check the cache folder"
        ) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
