"""Print training throughput (audio-seconds per second) of each architecture and head set.

Run: ``python bench/train_speed.py [steps] [batch_size]`` (defaults 3 and 4). Paper-size
models (width 1.0), batches of 10 s segments of random audio with sparse random labels,
through the training loop's own :func:`pianotx.training.loop.train_step` (forward, loss,
zero_grad, backward, clip, step, schedule); on CPU, and on CUDA (bf16 autocast) when one
is present. Data loading is not included (see ``bench_data.py``).
"""

from __future__ import annotations

import sys
import time
from types import SimpleNamespace

import torch

from pianotx.config import FeatureConfig
from pianotx.audio.features import LogMel
from pianotx.model.networks import build_model, count_parameters
from pianotx.training.config import TrainConfig
from pianotx.training.loop import train_step
from pianotx.training.setup import build_optimizer

SEGMENT_S = 10.0


def random_batch(batch_size: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Audio ``(B, 160000)`` and frame/onset/offset/velocity rolls ``(B, 1001, 88)``."""
    n_samples = int(SEGMENT_S * 16_000)
    frames = n_samples // 160 + 1
    rolls = (torch.rand(batch_size, frames, 88, generator=generator) < 0.03).float()
    return {"audio": 0.1 * torch.randn(batch_size, n_samples, generator=generator),
            "frame": rolls, "onset": rolls, "offset": rolls, "velocity": 0.5 * rolls}


def bench(arch: str, heads: str, device: torch.device, *, steps: int, batch_size: int) -> str:
    config = TrainConfig(data="-", arch=arch, heads=heads, batch_size=batch_size)
    torch.manual_seed(0)
    model = build_model(config.model_config()).to(device).train()
    optimizer, scheduler = build_optimizer(model, config)
    run = SimpleNamespace(
        config=config, ctx=SimpleNamespace(device=device), net=model, model=model,
        features=LogMel(FeatureConfig()).to(device), optimizer=optimizer, scheduler=scheduler,
        step=0, reference_losses=[],
    )
    generator = torch.Generator().manual_seed(0)
    train_step(run, random_batch(batch_size, generator))  # warm-up (allocations, cuDNN)
    batches = [random_batch(batch_size, generator) for _ in range(steps)]
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for batch in batches:
        train_step(run, batch)
    if device.type == "cuda":
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    audio_s = steps * batch_size * SEGMENT_S
    return (f"{device.type:5} {arch:5} {heads:6} {count_parameters(model):>9,} params  "
            f"{steps / elapsed:7.3f} steps/s  {audio_s / elapsed:8.1f} audio-s/s")


def main() -> None:
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    batch_size = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    devices = [torch.device("cpu")]
    if torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    print(f"training throughput: batch {batch_size} x {SEGMENT_S:g} s, {steps} timed steps, "
          f"{torch.get_num_threads()} CPU threads")
    for device in devices:
        for arch in ("fcnn", "crnn"):
            for heads in ("frame", "notes"):
                print(bench(arch, heads, device, steps=steps, batch_size=batch_size), flush=True)


if __name__ == "__main__":
    main()
