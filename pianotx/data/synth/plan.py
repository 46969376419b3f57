"""What a synthetic dataset holds: items, their splits and timbres, and each item's music.

Splits are by piece: a procedural piece exists in one item only, and a corpus work is
hashed into one split, so no piece is in two splits. Validation and test are rendered with
a held-out timbre that training never hears. Everything here is deterministic by seed.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np

from pianotx.config import SAMPLE_RATE
from pianotx.music.notes import Note, Pedal
from pianotx.errors import SynthError
from pianotx.data.synth.splits import SPLIT_CYCLE, split_of

CORPUS_CATEGORIES = {"keyboard": 0.3, "chorale": 0.3, "quartet": 0.15, "folk": 0.25}
DEFAULT_TIMBRES = ("musescore", "fluidr3", "timgm6mb", "merlin", "salamander", "iowa")
DEFAULT_HELDOUT = "iowa"
MAX_HOURS = 1000.0  # five MAESTROs; about 10 h of rendering on two cores


@dataclass(frozen=True)
class SynthConfig:
    """What to make: total hours, seed, the held-out timbre and the music mix."""

    hours: float
    seed: int = 0
    heldout: str | None = DEFAULT_HELDOUT
    corpus_share: float = 0.3
    midi_share: float = 0.85
    piece_s: tuple[float, float] = (60.0, 180.0)
    peak_dbfs: tuple[float, float] = (-12.0, -1.0)
    reverb_chance: float = 0.5
    dynamics: tuple[float, float] = (1.0, 1.0)  # per-item factor on played velocities
    sample_rate: int = SAMPLE_RATE
    year: int = 2024

    def __post_init__(self) -> None:
        if not 0 < self.hours <= MAX_HOURS:  # also false for nan; inf would plan forever
            raise SynthError(f"hours must be a number more than 0 and at most {MAX_HOURS:g}, "
                             f"got {self.hours}")
        if self.seed < 0:
            raise SynthError(f"seed must be 0 or more, got {self.seed}")
        if not 0.0 <= self.corpus_share <= 1.0:
            raise SynthError(f"corpus_share must lie in [0, 1], got {self.corpus_share}")
        if not 0.0 <= self.midi_share <= 1.0:
            raise SynthError(f"midi_share must lie in [0, 1], got {self.midi_share}")
        low, high = self.dynamics
        if not 0.0 < low <= high < math.inf:
            raise SynthError(f"dynamics must be two finite factors 0 < low <= high, got {low}, {high}")


class Item(NamedTuple):
    """One planned audio + MIDI pair."""

    name: str
    split: str
    timbre: str
    source: str  # "procedural", "corpus/<category>" or "midi/<collection>"
    seed: int
    target_s: float
    works: tuple = ()  # corpus works tried in order, or (Recording, start fraction)


def split_timbres(timbres: Sequence[str], heldout: str | None) -> dict[str, list[str]]:
    """Timbres used per split: validation and test get only the held-out one, if any."""
    if heldout is None:
        return {split: list(timbres) for split in ("train", "validation", "test")}
    if heldout not in timbres:
        raise SynthError(
            f"held-out timbre {heldout!r} is not among the timbres ({', '.join(timbres)}); "
            "add it to them or choose another held-out timbre (or none)")
    train = [t for t in timbres if t != heldout]
    if not train:
        raise SynthError(f"no training timbre is left besides the held-out {heldout!r}; add timbres")
    return {"train": train, "validation": [heldout], "test": [heldout]}


def plan(
    config: SynthConfig, timbres: Sequence[str], works: Sequence = (), recordings: Sequence = ()
) -> list[Item]:
    """Plan items until their target durations add up to ``config.hours``.

    With ``recordings``, a share ``config.midi_share`` of the items are segments of real
    performances, each from a recording of the item's split (each recording is used once
    before any is used again); the others are procedural or corpus music as before.

    Parameters
    ----------
    config : SynthConfig
    timbres : sequence of str
        Names of the available timbres.
    works : sequence of corpus.Work
        Corpus works to draw from (empty: procedural music only).
    recordings : sequence of midisource.Recording
        Performance MIDI to cut segments from (empty: none).

    Returns
    -------
    list of Item
        Deterministic for a given config, timbres and works.
    """
    from pianotx.data.synth.corpus import work_id

    rng = np.random.default_rng(config.seed)
    by_split = split_timbres(timbres, config.heldout)
    pools = {(split_of(work_id(w)), w.category): [] for w in works}
    for w in works:
        pools[(split_of(work_id(w)), w.category)].append(w)
    takes = _recording_queues(recordings, rng)
    items, total_s, counts = [], 0.0, {}
    while total_s < config.hours * 3600:
        index = len(items)
        split = SPLIT_CYCLE[index % len(SPLIT_CYCLE)]
        names = by_split[split]
        timbre = names[counts.get(split, 0) % len(names)]
        counts[split] = counts.get(split, 0) + 1
        target_s = float(rng.uniform(*config.piece_s))
        item_seed = int(rng.integers(2**31))
        source, chosen = "procedural", ()
        category = str(rng.choice(list(CORPUS_CATEGORIES), p=list(CORPUS_CATEGORIES.values())))
        pool = pools.get((split, category), [])
        if rng.random() < config.corpus_share and pool:
            source = f"corpus/{category}"
            chosen = tuple(pool[int(k)] for k in rng.permutation(len(pool))[:16])
        if takes.get(split) and rng.random() < config.midi_share:
            recording = takes[split].pop()
            takes[split].insert(0, recording)  # cycle: used again only after all others
            source, chosen = f"midi/{recording.collection}", (recording, float(rng.random()))
        name = f"synth-{config.seed}-{index:05d}-{timbre}"
        items.append(Item(name, split, timbre, source, item_seed, target_s, chosen))
        total_s += target_s
    return items


def scale_dynamics(notes: Sequence[Note], factor: float) -> list[Note]:
    """The notes played ``factor`` times as loud in MIDI velocity (rounded, kept in 1..127).

    Applied before rendering, so audio and labels agree: a factor below 1 is a softer
    performance of the same music (real recordings hold far more soft notes than MAESTRO).
    """
    return [n._replace(velocity=int(np.clip(round(n.velocity * factor), 1, 127))) for n in notes]


def dynamics_factor(item: Item, dynamics: tuple[float, float]) -> float:
    """The item's velocity factor, drawn from ``dynamics`` by its own seed (1 for (1, 1))."""
    low, high = dynamics
    if low == high:
        return float(low)
    return float(np.random.default_rng([item.seed, 2]).uniform(low, high))


def _recording_queues(recordings: Sequence, rng: np.random.Generator) -> dict[str, list]:
    """Per split, the recordings in a seeded random order (taken from the end)."""
    if not recordings:
        return {}
    queues: dict[str, list] = {}
    for recording in recordings:
        queues.setdefault(recording.split, []).append(recording)
    return {split: [queue[int(k)] for k in rng.permutation(len(queue))]
            for split, queue in sorted(queues.items())}


def compose(item: Item, *, corpus_cache: Path | None = None) -> tuple[list[Note], list[Pedal], str, str, str]:
    """Make an item's performed notes and pedals; also its composer, title and piece id.

    ``corpus_cache`` is the folder of parsed corpus works (``None``: parse every time).
    """
    from pianotx.data.synth.humanize import crop, humanize
    from pianotx.data.synth.music import generate_piece

    if item.source.startswith("midi/"):
        return _performance_segment(item)
    rng = np.random.default_rng(item.seed)
    if item.source == "procedural":
        piece = generate_piece(rng, duration_s=item.target_s)
        notes, pedals = humanize(piece.notes, piece.pedals, rng)
        return notes, pedals, "pianotx procedural", f"Procedural piece {item.seed}", item.name
    notes, pedals, titles, composers, ids = _corpus_medley(item, rng, corpus_cache)
    notes, pedals = crop(notes, pedals, item.target_s)
    return notes, pedals, " / ".join(dict.fromkeys(composers)), " / ".join(titles), " + ".join(ids)


def _performance_segment(item: Item) -> tuple[list[Note], list[Pedal], str, str, str]:
    """A segment of about ``item.target_s`` of a real performance, played as recorded."""
    from pianotx.music.midi import read_midi
    from pianotx.data.synth.midisource import cut_segment, segment_start

    recording, fraction = item.works
    performance = read_midi(Path(recording.path))
    if not performance.notes:
        raise SynthError(f"{recording.path} holds no notes; remove it from the MIDI folder")
    duration_s = max(n.offset_s for n in performance.notes)
    start_s = segment_start(duration_s, item.target_s, fraction)
    notes, pedals = cut_segment(performance.notes, performance.pedals,
                                start_s=start_s, length_s=item.target_s)
    if not notes:  # a long silence: take the start instead
        start_s = 0.0
        notes, pedals = cut_segment(performance.notes, performance.pedals,
                                    start_s=0.0, length_s=item.target_s)
    title = f"{recording.title} [{start_s:.1f}-{start_s + item.target_s:.1f} s]"
    piece_id = f"{recording.piece_id}@{Path(recording.path).name}:{start_s:.1f}"
    return notes, pedals, recording.composer or recording.collection, title, piece_id


def _corpus_medley(item: Item, rng: np.random.Generator, cache_dir: Path | None):
    """Concatenate humanized corpus works (with a short gap) until ``item.target_s``."""
    from pianotx.data.synth.corpus import load_work, work_id
    from pianotx.data.synth.humanize import humanize, window_pedals

    notes, pedals, titles, composers, ids, start = [], [], [], [], [], 0.0
    for work in item.works:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                score = load_work(work, rng, cache_dir=cache_dir)
            except SynthError:
                continue
        if not score.notes:
            continue
        end = max(n.offset_s for n in score.notes)
        played, held = humanize(score.notes, window_pedals(end, rng) if rng.random() < 0.75 else [], rng)
        notes += [n._replace(onset_s=n.onset_s + start, offset_s=n.offset_s + start) for n in played]
        pedals += [p._replace(onset_s=p.onset_s + start, offset_s=p.offset_s + start) for p in held]
        titles.append(score.title)
        composers.append(score.composer)
        ids.append(work_id(work))
        start = max(n.offset_s for n in notes) + float(rng.uniform(1.0, 2.5))
        if start >= item.target_s:
            break
    if not notes:
        raise SynthError(f"no corpus work of item {item.name} could be read")
    return notes, pedals, titles, composers, ids
