"""Exploration (GPU): where does the topk bound pass (ops/sort/radix_select.py) spend its
time? Times one pass over 4096 x 128256 bf16 rows, persistent programs as the real
kernel, with pieces of the pass added one at a time (each variant's result is kept
alive through a per-program output, not checked):
  0 load only; 1 + keys, group maxima and the running maxima; 2 + tau by counting each
  block and the count of passing elements; 3 + the atomic slots and stores (the real
  pass at bd6aa17); 4 = 3 with tau recounted every 4th block only; 5 = 2 with slots by a
  cumsum instead of atomics (H100 at d9e2104: 2.22 ms where 3 took 1.52).
    python scripts/explore_topk.py > topk_ablation.txt
"""
import torch
import triton
import triton.language as tl
import triton.testing

from triforge.ops.sort.keys import key, packed
from triforge.ops.sort.radix_select import _kth_largest, radix_topk


@triton.jit
def _pass_kernel(x_ptr, buf_ptr, cnt_ptr, out_ptr, rows, N, K, VAR: tl.constexpr, BLOCK: tl.constexpr,
                 KB: tl.constexpr, CAP: tl.constexpr):
    pid = tl.program_id(0)
    progs = tl.num_programs(0)
    buf = buf_ptr + pid.to(tl.int64) * CAP
    cnt = cnt_ptr + pid
    G: tl.constexpr = BLOCK // KB
    acc = tl.zeros((), tl.uint32)
    for i in range(tl.cdiv(rows - pid, progs)):
        row_base = (pid + i * progs).to(tl.int64) * N
        best = tl.zeros((KB,), tl.uint32)
        tau = tl.zeros((), tl.uint32)
        for start in range(0, N, BLOCK):
            cols = start + tl.arange(0, BLOCK)
            m = cols < N
            v = tl.load(x_ptr + row_base + cols, mask=m, other=0)
            if VAR == 0:
                acc = tl.maximum(acc, tl.max(v.to(tl.int16, bitcast=True).to(tl.uint32)))
            else:
                k = tl.where(m, key(v, 16, True), 0)
                best = tl.maximum(best, tl.max(tl.reshape(k, (KB, G)), 1))
                if VAR >= 2:
                    if VAR == 4:
                        if (start // BLOCK) % 4 == 0:
                            tau = _kth_largest(best, K)
                    else:
                        tau = _kth_largest(best, K)
                    sel = m & (k >= tau)
                    if VAR == 2:
                        acc += tl.sum(sel.to(tl.uint32))
                    elif VAR == 5:
                        pos = acc.to(tl.int32) + tl.cumsum(sel.to(tl.int32), 0) - 1
                        tl.store(buf + pos, packed(k, cols, 16), mask=sel & (pos < CAP))
                        acc += tl.sum(sel.to(tl.uint32))
                    else:
                        pos = tl.atomic_add(cnt + tl.zeros((BLOCK,), tl.int32), 1, mask=sel, sem="relaxed")
                        tl.store(buf + pos, packed(k, cols, 16), mask=sel & (pos < CAP))
        acc += tl.max(best)
    tl.store(out_ptr + pid, acc)


def main():
    rows, n, k = 4096, 128256, 50
    x = torch.randn(rows, n, device="cuda", dtype=torch.bfloat16)
    t_torch = triton.testing.do_bench(lambda: torch.topk(x, k), warmup=10, rep=60, return_mode="median")
    nbytes = x.numel() * x.element_size()
    print(f"{rows}x{n} bf16 k={k}: torch {t_torch:.4f} ms", flush=True)
    v = torch.empty((rows, k), dtype=x.dtype, device="cuda")
    i = torch.empty((rows, k), dtype=torch.int64, device="cuda")
    sms = torch.cuda.get_device_properties(0).multi_processor_count
    for block, warps, per_sm in ((2048, 4, 8), (4096, 4, 4), (1024, 4, 16), (2048, 8, 4)):
        t = triton.testing.do_bench(lambda: radix_topk(x, k, True, v, i, cap=1024, block=block, warps=warps,
                                                       per_sm=per_sm), warmup=10, rep=60,
                                    return_mode="median")
        print(f" block={block} warps={warps} per_sm={per_sm}: radix_topk {t:.4f} ms", flush=True)
        progs = sms * per_sm
        buf = torch.empty((progs, 1024), dtype=torch.uint64, device="cuda")
        cnt = torch.zeros(progs, dtype=torch.int32, device="cuda")
        out = torch.empty(progs, dtype=torch.uint32, device="cuda")
        for var in range(6):
            def run(var=var):
                cnt.zero_()
                _pass_kernel[(progs,)](x, buf, cnt, out, rows, n, k, var, block, 64, 1024, num_warps=warps)
            try:
                t = triton.testing.do_bench(run, warmup=10, rep=60, return_mode="median")
                print(f"  variant {var}: {t:.4f} ms ({nbytes / t / 1e6:.0f} GB/s)", flush=True)
            except Exception as e:   # noqa: BLE001
                print(f"  variant {var}: {type(e).__name__} {str(e)[:120]}", flush=True)


if __name__ == "__main__":
    main()
