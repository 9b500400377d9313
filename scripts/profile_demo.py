"""Profile (GPU): the main job's train step (demo.py, gpu config, bf16) on torch and on
triforge -- wall time per step, the device time its kernels took (their sum: wall time
far above it means the step waits on the host), and the kernels by device time.
    python scripts/profile_demo.py [top] > profile.txt
"""
import contextlib
import sys
import time
from collections import defaultdict

import torch
from torch.profiler import ProfilerActivity, profile

import triforge
from triforge.models.llama import Llama, LlamaConfig, make_batch


def step(model, ids, labels):
    for p in model.parameters():
        p.grad = None
    _, loss = model(ids, labels)
    loss.backward()


def measure(model, ids, labels, use, top):
    with triforge.use() if use else contextlib.nullcontext():
        for _ in range(3):
            step(model, ids, labels)
        torch.cuda.synchronize()
        walls = []
        for _ in range(7):
            t0 = time.perf_counter()
            step(model, ids, labels)
            torch.cuda.synchronize()
            walls.append(time.perf_counter() - t0)
        with profile(activities=[ProfilerActivity.CUDA, ProfilerActivity.CPU]) as prof:
            step(model, ids, labels)
            torch.cuda.synchronize()
    per = defaultdict(lambda: [0.0, 0])
    host = defaultdict(lambda: [0.0, 0])
    for e in prof.events():
        if e.device_type == torch.autograd.DeviceType.CUDA:
            per[e.name][0] += e.time_range.elapsed_us()
            per[e.name][1] += 1
        elif e.name.startswith("aten::") or "Backward" in e.name:
            host[e.name][0] += e.cpu_time_total   # inclusive: nested ops count in their caller too
            host[e.name][1] += 1
    busy = sum(t for t, _ in per.values())
    walls.sort()
    print(f"## {'triforge' if use else 'torch'}: wall {walls[len(walls) // 2] * 1e3:.2f} ms (median of 7), "
          f"kernels {busy / 1e3:.2f} ms in {sum(c for _, c in per.values())} launches")
    for name, (t, c) in sorted(per.items(), key=lambda kv: -kv[1][0])[:top]:
        print(f"  {t / 1e3:8.3f} ms  {c:4d}x  {name[:110]}")
    print("  host (CPU time of the step's ops, inclusive, under the profiler):")
    for name, (t, c) in sorted(host.items(), key=lambda kv: -kv[1][0])[:top]:
        print(f"  {t / 1e3:8.3f} ms  {c:4d}x  {t / c:8.1f} us each  {name[:80]}")
    return busy


def main():
    top = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    print(torch.cuda.get_device_name(), flush=True)
    cfg = LlamaConfig.gpu()
    model = Llama(cfg).to(device="cuda", dtype=torch.bfloat16)
    ids, labels = make_batch(cfg, "cuda")
    for use in (False, True, False, True):
        measure(model, ids, labels, use, top)


if __name__ == "__main__":
    main()
