"""Exploration (Hopper): what brings SDPA to torch's speed? Times, against torch SDPA in
one run, on b4 h32 s4096 bf16 (d128 and d64, causal and not):
  - default: the forward, flash.py's pointer kernel under other (BLOCK_M, BLOCK_N, warps,
    stages) rows of its table, and flash_tma.py's descriptor kernel under other rows of
    its "fwd_tma" table (each checked against torch's output);
  - --bwd: forward + backward, flash.py's pointer backward against flash_tma.backward
    under other rows of "bwd_tma".
Warp-specialised key loops (tl.range(warp_specialize=True)) failed Triton 3.6's sm90
pass pipeline (a dominance assertion) when tried, so none is offered here.
    python scripts/explore_attention.py > attention.txt
    python scripts/explore_attention.py --bwd > attention_bwd.txt
    python scripts/explore_attention.py --fold > attention_fold.txt
"""
import sys

import torch
import torch.nn.functional as F

FWD_CONFIGS = [(128, 64, 8, 3), (128, 128, 8, 3), (128, 128, 8, 2), (128, 64, 4, 3), (64, 64, 4, 3),
               (128, 32, 4, 4), (64, 128, 4, 3)]
TMA_CONFIGS = [(128, 128, 8, 3), (128, 64, 8, 3), (128, 128, 8, 2), (128, 64, 4, 4), (128, 128, 4, 3),
               (64, 64, 4, 4), (128, 64, 8, 4)]


def main():
    import triton.testing

    import triforge
    from triforge.ops.attention import flash, flash_tma

    def bench(fn):
        return triton.testing.do_bench(fn, warmup=25, rep=100, return_mode="median")

    table, tma_table = flash._cfg, flash_tma._CFG
    for d, causal in ((128, True), (128, False), (64, True)):
        q, k, v = (torch.randn(4, 32, 4096, d, device="cuda", dtype=torch.bfloat16) for _ in range(3))
        flops = 4 * 4 * 32 * 4096 * 4096 * d / (2 if causal else 1)

        def f(q=q, k=k, v=v, causal=causal):
            return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        ref = f()
        t_torch = bench(f)
        print(f"d{d} causal={causal}: torch {t_torch:.4f} ms ({flops / t_torch / 1e9:.0f} TF/s)", flush=True)
        rows = [("flash.py", cfg, dict(table, fwd=((256, cfg),)), {}) for cfg in FWD_CONFIGS]
        rows += [("flash_tma.py", cfg, table, {d: cfg}) for cfg in TMA_CONFIGS]
        for name, cfg, flash_table, tma_cfg in rows:
            flash._cfg, flash_tma._CFG = flash_table, tma_cfg
            try:
                with triforge.use():
                    err = (f().float() - ref.float()).abs().max().item()
                    t = bench(f)
                print(f"  {name} {cfg}: {t:.4f} ms ({flops / t / 1e9:.0f} TF/s, {t_torch / t:.3f}x) "
                      f"{'ok' if err < 2e-2 else f'WRONG {err:.3g}'}", flush=True)
            except Exception as e:   # noqa: BLE001 -- resources
                print(f"  {name} {cfg}: {type(e).__name__}: {str(e)[:120]}", flush=True)
        flash._cfg, flash_tma._CFG = table, tma_table


# (dK/dV kernel's BM, BN, dQ kernel's BM, BN, warps, stages). At 274beb5 the first was best
# of six (H100: causal d128 0.792x torch fwd+bwd); at bd6aa17 every 8-warp row ran about
# half as fast and (64, 32, 64, 32, 4, 3) 0.48-0.55x. This set: other 4-warp tiles.
BWD_CONFIGS = [(64, 64, 64, 64, 4, 2), (32, 64, 64, 32, 4, 2), (32, 64, 64, 64, 4, 2), (64, 64, 64, 32, 4, 2),
               (64, 64, 32, 64, 4, 2), (32, 64, 32, 64, 4, 3), (64, 64, 128, 32, 4, 2), (32, 128, 64, 64, 4, 2)]


def main_bwd():
    """--bwd: forward + backward, flash.py's pointer backward against flash_tma.backward
    under each BWD_CONFIGS row (the forward is the same in both), torch in the same run;
    gradients checked against torch's."""
    import triton.testing

    import triforge
    from triforge.ops.attention import flash_tma

    def bench(fn):
        return triton.testing.do_bench(fn, warmup=10, rep=100, return_mode="median")

    for d, causal in ((128, True), (128, False), (64, True)):
        q, k, v = (torch.randn(4, 32, 4096, d, device="cuda", dtype=torch.bfloat16, requires_grad=True)
                   for _ in range(3))
        g = torch.randn_like(q)
        flops = 4 * 4 * 32 * 4096 * 4096 * d / (2 if causal else 1) * 3.5   # fwd 2 + bwd 5 products of 2 flops

        def step():
            for t in (q, k, v):
                t.grad = None
            F.scaled_dot_product_attention(q, k, v, is_causal=causal).backward(g)
            return q.grad, k.grad, v.grad
        ref = [t.clone() for t in step()]
        t_torch = bench(step)
        print(f"d{d} causal={causal} fwd+bwd: torch {t_torch:.4f} ms ({flops / t_torch / 1e9:.0f} TF/s)", flush=True)
        for cfg in [None] + BWD_CONFIGS:
            flash_tma._BWD_CFG = {} if cfg is None else {d: cfg}
            name = "flash.py backward" if cfg is None else f"tma backward {cfg}"
            try:
                with triforge.use():
                    got = step()
                    err = max((a.float() - b.float()).abs().max().item() for a, b in zip(got, ref))
                    t = bench(step)
                print(f"  {name}: {t:.4f} ms ({flops / t / 1e9:.0f} TF/s, {t_torch / t:.3f}x) "
                      f"{'ok' if err < 5e-2 else f'WRONG {err:.3g}'}", flush=True)
            except Exception as e:   # noqa: BLE001 -- resources
                print(f"  {name}: {type(e).__name__}: {str(e)[:120]}", flush=True)


def main_fold():
    """--fold: the TMA forward with its table's config, the scale multiplying each score
    tile (_FOLD_SCALE off) against folded into exp2's argument with P@V accumulated into
    the rescaled accumulator (on), alternating, torch in the same run."""
    import triton.testing

    import triforge
    from triforge.ops.attention import flash_tma

    def bench(fn):
        return triton.testing.do_bench(fn, warmup=25, rep=200, return_mode="median")

    for d, causal in ((128, True), (128, False), (64, True)):
        q, k, v = (torch.randn(4, 32, 4096, d, device="cuda", dtype=torch.bfloat16) for _ in range(3))
        flops = 4 * 4 * 32 * 4096 * 4096 * d / (2 if causal else 1)

        def f(q=q, k=k, v=v, causal=causal):
            return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        ref = f()
        t_torch = bench(f)
        row = [f"d{d} causal={causal}: torch {t_torch:.4f} ms ({flops / t_torch / 1e9:.0f} TF/s)"]
        for fold in (False, True, False, True):
            flash_tma._FOLD_SCALE = fold
            with triforge.use():
                err = (f().float() - ref.float()).abs().max().item()
                t = bench(f)
            row.append(f"fold={fold} {t:.4f} ({t_torch / t:.3f}x{'' if err < 2e-2 else f' WRONG {err:.3g}'})")
        flash_tma._FOLD_SCALE = True
        print(" | ".join(row), flush=True)


if __name__ == "__main__":
    main_bwd() if "--bwd" in sys.argv else main_fold() if "--fold" in sys.argv else main()
