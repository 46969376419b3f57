"""Training the beat tracker's network on annotated performances (ASAP).

Random crops of performances, changed the way a transcription or another pianist would
change them (tempo, transposition, loudness, timing jitter, dropped notes, octave and
twelfth doubles) -> rhythm features -> :class:`~pianotx.model.beatnet.BeatNet` ->
cross-entropy against soft beat/downbeat classes. The loop keeps ``best.pt`` by the
held-out loss; ``export_beatnet`` writes the ONNX file ``pianotx score`` runs.
"""

from __future__ import annotations

import io
import json
import math
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, NamedTuple, Sequence

import numpy as np
import torch

from pianotx.data.asap import AnnotatedPerformance
from pianotx.errors import TrainingError
from pianotx.files import write_bytes_atomic
from pianotx.model.beatnet import BeatNet, BeatNetConfig, split_heads
from pianotx.score.rhythm import FPS, beat_targets, frame_features, meter_targets, tempo_targets


@dataclass(frozen=True)
class BeatTrainConfig:
    """Everything that shapes a beat-tracker run; saved with its checkpoints."""

    steps: int = 3000
    batch_size: int = 16
    crop_s: float = 30.0
    crop_notes: int = 400  # the note network's window
    lr: float = 1e-3
    warmup_steps: int = 100
    seed: int = 0
    val_every: int = 250
    tempo_range: tuple[float, float] = (0.8, 1.25)  # time scale of a crop
    transpose: int = 6  # semitones either way
    max_drop: float = 0.15  # share of notes dropped, up to
    max_extra: float = 0.10  # share of notes doubled at +12 or +19 semitones, up to
    max_jitter_s: float = 0.015  # onset jitter (standard deviation), up to
    tempo_weight: float = 0.5  # of the tempo head's loss (networks with one)
    meter_weight: float = 0.5  # of the bar-length and division heads' losses
    extra_share: float = 0.0  # of the crops drawn from the extra pieces (performances rendered from scores)


class Piece(NamedTuple):
    """A performance as arrays: notes ``(n_notes,)`` and annotations."""

    onset_s: np.ndarray
    offset_s: np.ndarray
    pitch: np.ndarray
    velocity: np.ndarray
    beats_s: np.ndarray
    downbeats_s: np.ndarray
    signatures: tuple[tuple[float, str], ...] = ()


def as_piece(performance: AnnotatedPerformance) -> Piece:
    """The arrays of one annotated performance."""
    notes = performance.notes
    return Piece(np.array([n.onset_s for n in notes]), np.array([n.offset_s for n in notes]),
                 np.array([n.pitch for n in notes]), np.array([n.velocity for n in notes], dtype=float),
                 performance.annotations.beats_s, performance.annotations.downbeats_s,
                 performance.annotations.signatures)


def augment(piece: Piece, rng: np.random.Generator, config: BeatTrainConfig) -> Piece:
    """A transcription-like variant of a piece (times scaled, notes moved, dropped, doubled)."""
    scale = math.exp(rng.uniform(*np.log(config.tempo_range)))
    n = len(piece.onset_s)
    keep = rng.random(n) >= rng.uniform(0, config.max_drop)
    onset = piece.onset_s + rng.normal(0, rng.uniform(0, config.max_jitter_s), n)
    length = (piece.offset_s - piece.onset_s) * np.exp(rng.normal(0, 0.3, n))
    pitch = piece.pitch + rng.integers(-config.transpose, config.transpose + 1)
    velocity = piece.velocity * rng.uniform(0.7, 1.3) + rng.normal(0, 8, n)
    extra = rng.random(n) < rng.uniform(0, config.max_extra)
    up = rng.choice([12, 19], size=int(extra.sum()))
    onset = np.concatenate([onset[keep], onset[extra]])
    length = np.concatenate([length[keep], length[extra]])
    pitch = np.concatenate([pitch[keep], pitch[extra] + up])
    velocity = np.concatenate([velocity[keep], velocity[extra] * 0.6])
    inside = (pitch >= 21) & (pitch <= 108)
    onset, length = onset[inside] * scale, np.maximum(length[inside], 0.02) * scale
    return Piece(onset, onset + length, pitch[inside], np.clip(velocity[inside], 1, 127),
                 piece.beats_s * scale, piece.downbeats_s * scale,
                 tuple((start * scale, sig) for start, sig in piece.signatures))


def crop_example(piece: Piece, start_s: float, n_frames: int) -> tuple[np.ndarray, ...]:
    """The excerpt starting at ``start_s``: features ``(n_frames, F)``, beat targets
    ``(n_frames, 3)``, a loss mask ``(n_frames,)`` (frames outside the annotated beats are
    masked), tempo targets ``(n_frames, K)`` and meter targets ``(n_frames, 2)``."""
    end_s = start_s + n_frames / FPS
    near = (piece.offset_s > start_s) & (piece.onset_s < end_s)
    features = frame_features(piece.onset_s[near] - start_s, piece.offset_s[near] - start_s,
                              piece.pitch[near], piece.velocity[near], n_frames)
    beats = piece.beats_s - start_s
    targets = beat_targets(beats, piece.downbeats_s - start_s, n_frames)
    period = float(np.median(np.diff(piece.beats_s))) if len(piece.beats_s) > 1 else 1.0
    times = np.arange(n_frames) / FPS
    mask = (times >= beats[0] - period / 2) & (times <= beats[-1] + period / 2)
    signatures = tuple((at - start_s, sig) for at, sig in piece.signatures)
    return (features, targets, mask.astype(np.float32), tempo_targets(beats, n_frames),
            meter_targets(signatures, n_frames))


def draw_chances(fit: Sequence[Piece], extra: Sequence[Piece], share: float,
                 size: Callable[[Piece], float]) -> np.ndarray:
    """Each piece's chance of being drawn (``fit`` then ``extra``): in proportion to its
    ``size`` within each list, the ``extra`` pieces together ``share`` of the time."""
    def within(pieces: Sequence[Piece]) -> np.ndarray:
        sizes = np.array([size(p) for p in pieces], dtype=float)
        return sizes / sizes.sum()
    if not extra:
        return within(fit)
    return np.concatenate([(1 - share) * within(fit), share * within(extra)])


def beat_span(piece: Piece) -> float:
    return float(piece.beats_s[-1] - piece.beats_s[0])


def sample_batch(pieces: Sequence[Piece], rng: np.random.Generator,
                 config: BeatTrainConfig, chances: np.ndarray | None = None) -> tuple[torch.Tensor, ...]:
    """A batch of augmented crops, pieces drawn by ``chances`` (default: in proportion to
    their length)."""
    if chances is None:
        chances = draw_chances(pieces, (), 0.0, beat_span)
    n_frames = int(config.crop_s * FPS)
    out = []
    for index in rng.choice(len(pieces), size=config.batch_size, p=chances):
        piece = augment(pieces[index], rng, config)
        low = piece.beats_s[0] - 0.2 * config.crop_s  # pieces shorter than a crop start before their first beat
        start = rng.uniform(low, max(low, piece.beats_s[-1] - 0.5 * config.crop_s))
        out.append(crop_example(piece, start, n_frames))
    return tuple(torch.from_numpy(np.stack(column)) for column in zip(*out))


def masked_loss(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Cross-entropy against soft class targets, averaged over the unmasked frames."""
    per_frame = -(targets * torch.log_softmax(logits, dim=-1)).sum(-1)
    return (per_frame * mask).sum() / mask.sum().clamp(min=1.0)


def head_losses(logits: torch.Tensor, batch: Sequence[torch.Tensor],
                net_config: BeatNetConfig) -> dict[str, torch.Tensor]:
    """The loss of each head of ``net_config`` on a batch of :func:`crop_example` columns:
    beats (soft classes, masked outside the annotations), tempo (soft classes, where
    annotated) and bar length and division (classes, where the signature is one of them)."""
    _, beat, mask, tempo, meter = batch
    heads = split_heads(logits, net_config)
    losses = {"beat": masked_loss(heads["beat"], beat, mask)}
    if "tempo" in heads:
        losses["tempo"] = masked_loss(heads["tempo"], tempo, (tempo.sum(-1) > 0).float())
    if "bar" in heads:
        for name, column in (("bar", 0), ("division", 1)):
            target = meter[..., column]
            known = (target >= 0).float()
            one_hot = torch.nn.functional.one_hot(target.clamp(min=0), heads[name].shape[-1]).float()
            losses[name] = masked_loss(heads[name], one_hot, mask * known)
    return losses


def total_loss(losses: dict[str, torch.Tensor], config: BeatTrainConfig) -> torch.Tensor:
    weight = {"beat": 1.0, "tempo": config.tempo_weight, "bar": config.meter_weight,
              "division": config.meter_weight}
    return sum(weight[name] * value for name, value in losses.items())


def held_out_examples(pieces: Sequence[Piece], *, crop_s: float = 60.0) -> list[tuple]:
    """Fixed, unaugmented crops (one per minute of each piece) for the held-out loss."""
    n_frames = int(crop_s * FPS)
    return [crop_example(p, start, n_frames) for p in pieces
            for start in np.arange(p.beats_s[0], p.beats_s[-1] - crop_s / 2, crop_s)]


def evaluate_loss(net: BeatNet, examples: Sequence[tuple]) -> dict[str, float]:
    """Frame-weighted mean of each head's loss over the held-out examples."""
    net.eval()
    totals: dict[str, float] = {}
    frames = 0.0
    with torch.no_grad():
        for example in examples:
            batch = [torch.from_numpy(column)[None] for column in example]
            weight = float(example[2].sum())
            for name, value in head_losses(net(batch[0]), batch, net.config).items():
                totals[name] = totals.get(name, 0.0) + float(value) * weight
            frames += weight
    net.train()
    return {name: value / max(frames, 1.0) for name, value in totals.items()}


def train_beatnet(fit: Sequence[Piece], check: Sequence[Piece], out: Path, *,
                  extra: Sequence[Piece] = (),
                  config: BeatTrainConfig = BeatTrainConfig(),
                  net_config: BeatNetConfig = BeatNetConfig(),
                  on_event: Callable[[dict], None] | None = None, resume: bool = False) -> Path:
    """Train on ``fit``, keep ``out/best.pt`` by the beat loss on ``check``; return its path.

    ``extra``: more pieces (performances rendered from scores), drawn for
    ``config.extra_share`` of the crops. Checkpoints are plain state dicts with both configs.
    ``out/metrics.jsonl`` logs the training and held-out losses. ``resume``: go on from
    ``out/last.pt`` (:func:`training_loop`).
    """
    if not fit or not check:
        raise TrainingError("the beat tracker needs training and held-out performances")
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    net = BeatNet(net_config)
    optimizer = torch.optim.AdamW(net.parameters(), lr=config.lr, weight_decay=1e-4)
    examples = held_out_examples(check)
    pieces = [*fit, *extra]
    chances = draw_chances(fit, extra, config.extra_share, beat_span)

    def batch_loss() -> torch.Tensor:
        batch = sample_batch(pieces, rng, config, chances)
        return total_loss(head_losses(net(batch[0]), batch, net_config), config)

    return training_loop(net, optimizer, batch_loss, lambda: evaluate_loss(net, examples), out,
                         config=config, net_config=asdict(net_config), rng=rng, on_event=on_event,
                         resume=resume)


def training_loop(net: torch.nn.Module, optimizer: torch.optim.Optimizer,
                  batch_loss: Callable[[], torch.Tensor], held_out: Callable[[], dict[str, float]],
                  out: Path, *, config: BeatTrainConfig, net_config: dict, rng: np.random.Generator,
                  on_event: Callable[[dict], None] | None = None, resume: bool = False) -> Path:
    """``config.steps`` steps on ``batch_loss`` (warm-up, then a cosine rate; gradients clipped
    to norm 1); every ``config.val_every`` steps the ``held_out`` losses (``beat`` the one that
    picks ``out/best.pt``) are logged to ``out/metrics.jsonl`` and the state saved.

    ``out/last.pt`` also holds the optimizer, schedule and random states (``rng`` draws the
    batches), so that with ``resume`` a run stopped after a save goes on from there exactly as
    if it had not stopped."""

    def rate(step: int) -> float:
        warm = min(1.0, (step + 1) / config.warmup_steps)
        return warm * 0.5 * (1 + math.cos(math.pi * min(1.0, step / config.steps)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, rate)
    best, first = math.inf, 1
    if resume and (out / "last.pt").exists():
        best, first = _resume(out / "last.pt", net, optimizer, scheduler, rng, asdict(config), net_config)
    running, started = [], time.perf_counter()

    def resume_state(best_loss: float) -> dict:
        return {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "best": best_loss,
                "numpy_rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state()}

    with open(out / "metrics.jsonl", "a") as log:
        for step in range(first, config.steps + 1):
            loss = batch_loss()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            running.append(loss.item())
            if step % config.val_every and step != config.steps:
                continue
            held = held_out()
            record = {"step": step, "train_loss": float(np.mean(running)), "held_out_loss": held["beat"],
                      **{f"held_out_{name}": value for name, value in held.items() if name != "beat"},
                      "minutes": (time.perf_counter() - started) / 60}
            running = []
            best = save_progress(out, log, record, {"state_dict": net.state_dict(), "net_config": net_config,
                                                    "train_config": asdict(config), "step": step}, best,
                                 resume_state=resume_state)
            if on_event:
                on_event(record)
    return out / "best.pt"


def _resume(path: Path, net: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler,
            rng: np.random.Generator, train_config: dict, net_config: dict) -> tuple[float, int]:
    """Load a run's ``last.pt`` into the training objects; the best loss and the next step."""
    saved = torch.load(path, map_location="cpu", weights_only=True)
    if "optimizer" not in saved:
        raise TrainingError(f"{path} was saved without its optimizer state (an older run); train "
                            "into a new folder")
    if saved["net_config"] != net_config or saved["train_config"] != train_config:
        raise TrainingError(f"{path} is another run's (other settings); resume with the same "
                            "settings or train into a new folder")
    net.load_state_dict(saved["state_dict"], strict=True)
    optimizer.load_state_dict(saved["optimizer"])
    scheduler.load_state_dict(saved["scheduler"])
    rng.bit_generator.state = saved["numpy_rng"]
    torch.set_rng_state(saved["torch_rng"])
    return float(saved["best"]), int(saved["step"]) + 1


def save_progress(out: Path, log, record: dict, state: dict, best: float, *,
                  resume_state: Callable[[float], dict]) -> float:
    """Log ``record`` (a JSON line), save ``state`` as ``out/last.pt`` (with
    ``resume_state(best loss)``) and, where its held-out loss is below ``best``, as
    ``out/best.pt``; return the best loss so far."""
    log.write(json.dumps(record) + "\n")
    log.flush()
    new_best = min(best, record["held_out_loss"])
    torch.save(state | resume_state(new_best), out / "last.pt")
    if record["held_out_loss"] < best:
        torch.save(state, out / "best.pt")
    return new_best


def load_beatnet(path: Path) -> BeatNet:
    """A trained network from a checkpoint of :func:`train_beatnet` (strict)."""
    saved = torch.load(path, map_location="cpu", weights_only=True)
    net = BeatNet(BeatNetConfig(**saved["net_config"]))
    net.load_state_dict(saved["state_dict"], strict=True)
    return net.eval()


def export_beatnet(checkpoint: Path | Sequence[Path], target: Path, *, metadata: dict | None = None) -> None:
    """Write the network as ONNX (``features (1, n_frames, F)`` -> ``probabilities
    (1, n_frames, 3)`` and, where the network has them, ``tempo``, ``bar`` and ``division``,
    each a softmax; frames dynamic), with ``metadata`` as JSON. Several checkpoints (with the
    same heads) make one ensemble: each head's probabilities are their mean."""

    nets = load_members(checkpoint, load_beatnet)
    heads = nets[0].config.head_sizes
    if any(net.config.head_sizes != heads or net.config.n_features != nets[0].config.n_features
           for net in nets):
        raise TrainingError("an ensemble needs networks with the same features and heads")

    names = ["probabilities" if name == "beat" else name for name in heads]

    class Probabilities(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.nets = torch.nn.ModuleList(nets)

        def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, ...]:
            total = None
            for net in self.nets:
                logits = split_heads(net(features), net.config).values()
                probs = [torch.softmax(value, dim=-1) for value in logits]
                total = probs if total is None else [a + b for a, b in zip(total, probs)]
            return tuple(value / len(self.nets) for value in total)

    export_onnx(Probabilities().eval(), torch.zeros(1, 500, nets[0].config.n_features), target,
                outputs=names, axis="frames", metadata=metadata)


def load_members(checkpoint: Path | Sequence[Path], load: Callable[[Path], torch.nn.Module]) -> list:
    """The networks of one checkpoint or of several (an ensemble), each read by ``load``."""
    paths = [checkpoint] if isinstance(checkpoint, (str, Path)) else list(checkpoint)
    return [load(Path(path)) for path in paths]


def export_onnx(module: torch.nn.Module, example: torch.Tensor, target: Path, *, outputs: list[str],
                axis: str, metadata: dict | None) -> None:
    """Export ``module`` (input ``features``, its step axis ``axis`` dynamic, as are the
    ``outputs``') to ONNX opset 17 at ``target`` (:func:`write_onnx`)."""
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")  # the legacy exporter's notices (GRU batch size, deprecation)
        torch.onnx.export(module, (example,), buffer, input_names=["features"], output_names=outputs,
                          opset_version=17, dynamo=False,
                          dynamic_axes={name: {1: axis} for name in ["features", *outputs]})
    write_onnx(buffer.getvalue(), Path(target), metadata or {})


def write_onnx(model_bytes: bytes, target: Path, metadata: dict) -> None:
    """Write an exported ONNX model with ``metadata`` as JSON under the key ``pianotx`` (replacing
    what that key held; other keys are kept)."""
    import onnx

    model = onnx.load_from_string(model_bytes)
    kept = [(entry.key, entry.value) for entry in model.metadata_props if entry.key != "pianotx"]
    del model.metadata_props[:]
    for key, value in kept:
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    entry = model.metadata_props.add()
    entry.key, entry.value = "pianotx", json.dumps(metadata)
    write_bytes_atomic(target, model.SerializeToString(), overwrite=True)


def update_decode(target: Path, settings: dict) -> dict:
    """Store DBN ``settings`` (:data:`pianotx.score.tracker.DECODE_DEFAULTS` names, chosen on
    the held-out folders) in an exported frame network's metadata, over those it holds;
    returns the metadata written."""
    import onnx

    from pianotx.score.tracker import DECODE_DEFAULTS

    unknown = sorted(set(settings) - set(DECODE_DEFAULTS))
    if unknown:
        raise TrainingError(f"unknown beat-tracker setting {unknown[0]!r}; use one of "
                            f"{', '.join(DECODE_DEFAULTS)}")
    model_bytes = Path(target).read_bytes()
    stored = {entry.key: entry.value for entry in onnx.load_from_string(model_bytes).metadata_props}
    metadata = json.loads(stored.get("pianotx", "{}"))
    metadata["decode"] = metadata.get("decode", {}) | settings
    write_onnx(model_bytes, Path(target), metadata)
    return metadata
