"""Print the CPU training-step cost of the freq-trunk note FCNN's options.

Run: ``python bench/freq_options_step.py [threads] [batch_size]`` (defaults 2 and 8).
Today's note model (trunk freq, heads full, head_kernel 5, hidden 256) and the same with
``diff_input``, with ``temporal_head='dilated'`` and with both: forward, BCE loss over every
head, backward, on random log-mel batches of 5 s segments (501 frames; the log-mel front
end and the optimizer step are left out, being the same for every variant). Prints the
median of 10 steps after 3 warm-ups, and the load average before and after, since a
shared machine skews the figures.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

import torch
from torch.nn import functional as F

from pianotx.config import ModelConfig
from pianotx.models import build_model, count_parameters

N_FRAMES = 501  # 5 s at 100 frames/s with the centred STFT's extra frame
VARIANTS = {"today": {}, "+ diff_input": {"diff_input": True},
            "+ dilated": {"temporal_head": "dilated"},
            "+ both": {"diff_input": True, "temporal_head": "dilated"}}


def step_ms(options: dict, *, batch_size: int, warmup: int = 3, steps: int = 10) -> tuple:
    config = ModelConfig(arch="fcnn", heads="full", trunk="freq", head_kernel=5,
                         gru_hidden=128, **options)
    torch.manual_seed(0)
    net = build_model(config).train()
    mel = torch.randn(batch_size, N_FRAMES, config.n_mels) - 4.0
    times = []
    for i in range(warmup + steps):
        start = time.perf_counter()
        out = net(mel)
        loss = sum(F.binary_cross_entropy_with_logits(v, torch.zeros_like(v)) for v in out.values())
        net.zero_grad(set_to_none=True)
        loss.backward()
        if i >= warmup:
            times.append(1000 * (time.perf_counter() - start))
    return count_parameters(net), statistics.median(times), min(times), max(times)


def main() -> None:
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    batch_size = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    torch.set_num_threads(threads)
    print(f"threads {threads}, batch {batch_size} x 5 s, load average {os.getloadavg()}")
    for name, options in VARIANTS.items():
        params, median, low, high = step_ms(options, batch_size=batch_size)
        print(f"{name:14} {params:>9,} params  median {median:7.0f} ms/step "
              f"(min {low:.0f}, max {high:.0f})  load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
