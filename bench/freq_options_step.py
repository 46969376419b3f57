"""Print the CPU training-step cost of the freq-trunk note FCNN's options.

Run: ``python bench/freq_options_step.py [threads] [batch_size]`` (defaults 2 and 8).
Today's note model (trunk freq, heads full, head_kernel 5, hidden 256) and the same with
``diff_input``, with ``temporal_head='dilated'`` and with both: forward, BCE loss over every
head, backward, on random log-mel batches of 5 s segments (501 frames; the log-mel front
end and the optimizer step are left out, being the same for every variant). The variants
take turns step by step; prints the median wall and CPU time of 10 steps after 3 warm-ups
and the load average before and after, since a shared machine skews the figures.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

import torch
from torch.nn import functional as F

from pianotx.config import ModelConfig
from pianotx.model.networks import build_model, count_parameters

N_FRAMES = 501  # 5 s at 100 frames/s with the centred STFT's extra frame
WARMUP, STEPS = 3, 10
VARIANTS = {"today": {}, "+ diff_input": {"diff_input": True},
            "+ dilated": {"temporal_head": "dilated"},
            "+ both": {"diff_input": True, "temporal_head": "dilated"}}


def _step(net: torch.nn.Module, mel: torch.Tensor) -> None:
    out = net(mel)
    loss = sum(F.binary_cross_entropy_with_logits(v, torch.zeros_like(v)) for v in out.values())
    net.zero_grad(set_to_none=True)
    loss.backward()


def main() -> None:
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    batch_size = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    torch.set_num_threads(threads)
    nets = {}
    for name, options in VARIANTS.items():
        torch.manual_seed(0)
        nets[name] = build_model(ModelConfig(arch="fcnn", heads="full", trunk="freq",
                                             head_kernel=5, **options)).train()
    mel = torch.randn(batch_size, N_FRAMES, 229) - 4.0
    wall: dict[str, list[float]] = {name: [] for name in nets}
    cpu: dict[str, list[float]] = {name: [] for name in nets}
    print(f"threads {threads}, batch {batch_size} x 5 s, load average before "
          f"{os.getloadavg()}")
    # Variants take turns step by step, so a neighbour's burst of load hits them alike.
    for i in range(WARMUP + STEPS):
        for name, net in nets.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            _step(net, mel)
            if i >= WARMUP:
                wall[name].append(1000 * (time.perf_counter() - start))
                cpu[name].append(1000 * (time.process_time() - start_cpu))
    for name, net in nets.items():
        print(f"{name:14} {count_parameters(net):>9,} params  median "
              f"{statistics.median(wall[name]):6.0f} ms/step wall "
              f"(min {min(wall[name]):.0f}, max {max(wall[name]):.0f}), "
              f"{statistics.median(cpu[name]):6.0f} ms CPU")
    print(f"load average after {os.getloadavg()}")


if __name__ == "__main__":
    main()
