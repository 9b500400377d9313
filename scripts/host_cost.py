"""Host cost (GPU): wall time per call of calls small enough that the host, not the GPU,
sets the pace -- the main job's Python-path ops at its sizes -- torch against triforge in
the same process, alternating, median of rounds.
    python scripts/host_cost.py [rounds] > host.txt
"""
import statistics
import sys
import time

import torch
import torch.nn.functional as F

import triforge


def sdpa_fwd_bwd():
    q, k, v = (torch.randn(4, 16, 512, 64, device="cuda", dtype=torch.bfloat16, requires_grad=True) for _ in range(3))
    g = torch.randn(4, 16, 512, 64, device="cuda", dtype=torch.bfloat16)

    def f():
        F.scaled_dot_product_attention(q, k, v, is_causal=True).backward(g)
    return f


def sdpa_fwd():
    q, k, v = (torch.randn(4, 16, 512, 64, device="cuda", dtype=torch.bfloat16) for _ in range(3))
    return lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True)


CASES = {"sdpa fwd+bwd b4 h16 s512 d64": sdpa_fwd_bwd, "sdpa fwd": sdpa_fwd}


def per_call(fn, n=50):
    fn()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) / n * 1e6


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    print(torch.cuda.get_device_name(), flush=True)
    for name, make in CASES.items():
        fn = make()
        with triforge.use():
            for _ in range(3):
                fn()
        t, tf = [], []
        for _ in range(rounds):
            t.append(per_call(fn))
            with triforge.use():
                tf.append(per_call(fn))
        a, b = statistics.median(t), statistics.median(tf)
        print(f"{name:32s} torch {a:8.1f} us  triforge {b:8.1f} us  (rounds: torch "
              f"{' '.join(f'{x:.0f}' for x in t)}; triforge {' '.join(f'{x:.0f}' for x in tf)})", flush=True)


if __name__ == "__main__":
    main()
