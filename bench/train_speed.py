"""Print training throughput (s/step and audio-seconds per second) of each model and precision.

Run: ``python bench/train_speed.py [--steps 3] [--batch-size 4] [--segment-s 10]
[--models fcnn,crnn,note,note-harmonic] [--precisions fp32,bf16]``. ``fcnn``/``crnn`` are
the paper models (frame and notes heads), ``note`` the shipped note model (freq trunk, full
heads) and ``note-harmonic`` it with the harmonic view. Batches of random audio with sparse
random labels go through the training loop's own :func:`pianotx.training.loop.train_step`
(features, forward, loss, zero_grad, backward, clip, step, schedule); on CPU, and on CUDA
when one is present. Data loading is not included (see ``bench_data.py``). The CPU's bf16
flags decide what ``--precision auto`` trains in; both are timed here regardless.
"""

from __future__ import annotations

import argparse
import time
from types import SimpleNamespace

import torch

from pianotx.audio.features import LogMel
from pianotx.model.networks import build_model, count_parameters
from pianotx.training.config import TrainConfig, cpu_bf16_flags, read_cpuinfo
from pianotx.training.loop import train_step
from pianotx.training.setup import build_optimizer

MODELS = {
    "fcnn": [dict(arch="fcnn", heads="frame"), dict(arch="fcnn", heads="notes")],
    "crnn": [dict(arch="crnn", heads="frame"), dict(arch="crnn", heads="notes")],
    "note": [dict(arch="fcnn", heads="full", trunk="freq", soft_frames=2)],
    "note-harmonic": [dict(arch="fcnn", heads="full", trunk="freq", soft_frames=2, harmonic=True)],
}


def random_batch(batch_size: int, segment_s: float, generator: torch.Generator) -> dict:
    """Audio ``(B, samples)`` and every head's rolls ``(B, frames, 88 or 1)``."""
    n_samples = int(segment_s * 16_000)
    frames = n_samples // 160 + 1
    rolls = (torch.rand(batch_size, frames, 88, generator=generator) < 0.03).float()
    return {"audio": 0.1 * torch.randn(batch_size, n_samples, generator=generator),
            "frame": rolls, "onset": rolls, "offset": rolls, "velocity": 0.5 * rolls,
            "pedal": rolls[..., :1]}


def bench(options: dict, precision: str, device: torch.device, *, steps: int,
          batch_size: int, segment_s: float) -> str:
    config = TrainConfig(data="-", batch_size=batch_size, segment_s=segment_s, **options)
    model_config = config.model_config()
    torch.manual_seed(0)
    model = build_model(model_config).to(device).train()
    optimizer, scheduler = build_optimizer(model, config, total_steps=steps + 1)
    run = SimpleNamespace(
        config=config, ctx=SimpleNamespace(device=device), net=model, model=model,
        features=LogMel(model_config.feature_config()).to(device), optimizer=optimizer,
        scheduler=scheduler, step=0, reference_losses=[], precision=precision,
    )
    generator = torch.Generator().manual_seed(0)
    train_step(run, random_batch(batch_size, segment_s, generator))  # warm-up
    batches = [random_batch(batch_size, segment_s, generator) for _ in range(steps)]
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for batch in batches:
        train_step(run, batch)
    if device.type == "cuda":
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    name = f"{options['arch']}/{options.get('trunk', 'paper')}/{options['heads']}" + (
        "+harmonic" if options.get("harmonic") else "")
    return (f"{device.type:5} {precision:5} {name:28} {count_parameters(model):>10,} params  "
            f"{elapsed / steps:6.3f} s/step  {steps * batch_size * segment_s / elapsed:7.1f} audio-s/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--segment-s", type=float, default=10.0)
    parser.add_argument("--models", default="fcnn,crnn")
    parser.add_argument("--precisions", default="fp32,bf16")
    args = parser.parse_args()
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    print(f"training throughput: batch {args.batch_size} x {args.segment_s:g} s, {args.steps} "
          f"timed steps, {torch.get_num_threads()} CPU threads, native bf16: "
          f"{', '.join(cpu_bf16_flags(read_cpuinfo())) or 'none'}")
    for device in devices:
        for name in args.models.split(","):
            for options in MODELS[name]:
                for precision in args.precisions.split(","):
                    print(bench(options, precision, device, steps=args.steps,
                                batch_size=args.batch_size, segment_s=args.segment_s), flush=True)


if __name__ == "__main__":
    main()
