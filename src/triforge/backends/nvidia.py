"""NVIDIA GPUs through Triton's CUDA backend."""
from __future__ import annotations

import torch

from .base import Backend

_FAMILIES = {8: "ampere", 9: "hopper", 10: "blackwell", 12: "blackwell"}

# Per-family tables; a family missing here uses "default".
TABLES = {
    "default": {
        "elementwise": {"BLOCK": 2048, "num_warps": 8},
        # half types that scatter_add/index_add/index_put accumulate by atomics of their own
        # (fp16 red.add on sm70+; bf16 has one from sm90, a compare-and-swap loop before)
        "index": {"half_atomics": ("float16",)},
        "softmax": {"max_single_block": 16384, "chunk": 4096, "num_warps": 8},
        # Swept on the H200 (scripts/sweep_reduction.py), 16384x4096 bf16 unless noted:
        # row/col_warps 4 over 8: sum dim=-1 0.050 -> 0.0435 ms, amax 0.071 -> 0.064, argmax
        # over 128256 columns 0.355 -> 0.338; split rows until 8 programs per SM (1056, was
        # 264): sum all 0.081 -> 0.048, sum dim=0 0.060 -> 0.050, 8x1M 0.018 -> 0.013.
        # 128 bf16 inner columns = 256-byte rows per column tile (not swept). num_warps: scans.
        "reduction": {"tile": 4096, "max_block_r": 4096, "col_block": 128, "target_programs": 1056,
                      "split_min_r": 8192, "num_warps": 8, "row_warps": 4, "col_warps": 4,
                      "scan_tile": 4096, "scan_max_block": 1024, "row_stages": 3},
        # backward programs swept on the H200 (scripts/sweep_reduction.py norm), 16384x4096
        # bf16, next rows prefetched: 264 -> rms_norm bwd 0.1209 ms, layer_norm 0.1334;
        # 528 -> 0.1299 / 0.1513; 132 -> 0.1474 / 0.1585. H100 at f91c582 (dw/db column
        # sums in one launch): 264 -> 0.1529 / 0.1548, 198 -> 0.1558 / 0.2035, 132/16
        # warps/8192 -> 0.1708 / 0.1591. split_programs (few long rows, norm/split.py):
        # H100 at ec96bd7, 8x131072 layer_norm fwd/bwd 0.0115 / 0.0294 ms at 512-2048
        # alike (one program a row: 0.0762 / 0.0945)
        # cross_entropy forward writing the gradient: its block and warps (H100 sweep at
        # 5a0bdee, 4096x128256 bf16 fwd+bwd: 16384/16 1.038 ms, 8192/16 1.046, 4096/16
        # 1.082, 32768/16 1.106, 65536/32 1.81)
        "loss": {"ce_grad_block": 16384, "ce_grad_warps": 16},
        # as Hopper's (measured there only)
        "walk": {"min_bytes": 98304, "bwd_min_bytes": 65536, "chunk_bytes": 32768, "num_warps": 32,
                 "per_sm": 1},
        # One block up to 8192 elements; longer rows streamed on 16 warps: H100
        # explore_group_norm.py, 64x512x1024 bf16 in 32 groups (rows of 16384), fwd /
        # fwd+bwd: one block on 8 warps 0.0748 / 0.3917 ms, on 16 0.0755 / 0.2932;
        # streamed on 8 warps 0.0664 / 0.3449, on 16 0.0566 / 0.2949 (torch 0.172 / 0.463)
        "norm": {"max_single_block": 8192, "chunk": 4096, "num_warps": 8, "stream_warps": 16, "row_groups": 528,
                 "bwd_row_groups": 264},
        # matmul rows: (BLOCK_M, BLOCK_N, BLOCK_K, GROUP_M, warps, stages); the first row is
        # used untuned. Not swept: starting points (Ampere: cp.async pipelined mma.sync).
        "matmul": {
            "tiled16": [(128, 128, 32, 8, 4, 4), (128, 256, 32, 8, 8, 3), (64, 128, 32, 8, 4, 4)],
            "tiled32": [(128, 64, 32, 8, 4, 3), (64, 128, 32, 8, 4, 3), (64, 64, 32, 8, 4, 4)],
            "fp64": [(32, 32, 8, 8, 4, 2)],
            "skinny": [(16, 64, 128, 1, 4, 4), (16, 128, 64, 1, 4, 4), (16, 32, 256, 1, 4, 3)],
            "skinny_fp64": [(16, 32, 16, 1, 4, 2)],
            # float32 IEEE decode (no tl.dot, see gemm.py): the H100's best, not re-swept here
            "skinny_gemv": [(1, 16, 512, 1, 4, 3, 1), (1, 32, 128, 1, 4, 3, 1)],
            "skinny_gemv16": [(1, 4, 2048, 1, 4, 3, 1), (1, 8, 1024, 1, 4, 3, 1)],
            "skinny_fma3": [(8, 64, 32, 8, 4, 3, 2)],
            "skinny_m": 64, "waves": 4,
        },
    },
    "hopper": {
        # Swept on H100 (scripts/sweep_matmul.py, 12 configs, bf16, torch/cuBLAS same run):
        # 256x128x64 w8 s3 best at 4096^2x4096 (0.91x), 14336->4096 (0.95x), ->128256 (0.85x);
        # 128x128x64 G16 w4 s5 best at 4096->14336 (0.90x); 128x128x64 w4 s4 at 8192^3 (0.82x).
        # The classic kernel tops out there: cuBLAS parity needs a TMA/warp-specialised one.
        # Skinny (decode, weight-streaming): 16x64x256 w4 s3 0.94x at M=1, 16x32x512 0.94x at
        # M=8 and 1.08x at M=8 x 128256 out.
        "matmul": {
            "tiled16": [(256, 128, 64, 8, 8, 3), (128, 128, 64, 16, 4, 5), (128, 128, 64, 8, 4, 4),
                        (256, 128, 32, 8, 8, 4)],
            "tiled32": [(128, 128, 32, 8, 8, 3), (128, 64, 32, 8, 4, 4), (64, 128, 32, 8, 4, 4)],
            # (a 7th entry: split K until that many programs per SM instead of "waves"; not
            # yet timed: decode sits at 0.78-0.94x cuBLAS with 4, the tuner now also tries 2 and 8)
            # rows 8-9 from explore_decode.py narrow at 12baae3: M=32 4096->14336 0.989x with
            # 16-column tiles and 2 warps (the table's best 0.93x in the bench); rows 10-11 from
            # explore_decode.py wide at e480ebb (long K blocks, unsplit): M=8 4096->14336 0.991x,
            # M=32 4096->4096 0.960x (none of nine reached 1.0x)
            "skinny": [(16, 64, 256, 1, 4, 3), (16, 32, 512, 1, 4, 3), (16, 64, 128, 1, 8, 4),
                       (16, 64, 128, 1, 4, 4), (16, 64, 256, 1, 4, 3, 2), (16, 64, 256, 1, 4, 3, 8),
                       (16, 32, 512, 1, 4, 3, 8), (16, 16, 256, 1, 2, 3, 4), (16, 32, 256, 1, 2, 3, 4),
                       (16, 32, 512, 1, 2, 3, 1), (16, 16, 1024, 1, 4, 3, 1), (16, 64, 256, 1, 4, 1)],
            # read_policy 2: weights of 64 MB and up load evict_first (gemm.READ_POLICY). H100,
            # explore_decode.py policy at d346a9d, x torch, off -> on: the GEMV (M=1) 4096->14336
            # 1.027 -> 1.085, 14336->4096 1.043 -> 1.149, 8192->28672 1.086 -> 1.070; pipelined
            # tl.dot rows unchanged (a pipelined load drops the hint), one-stage rows gain: the
            # last row above, M=8 14336->4096 0.939 -> 1.029
            "read_policy": 2,
            # float32 IEEE decode (gemm.py): H100, scripts/explore_fp32.py gemv at 54db378, x
            # cuBLAS with its workspace summed by torch: 16x512 blocks, no split, 0.98-1.07x on
            # 4096->14336 / 14336->4096 / 4096^2 / 8192->28672; 32x128 1.03x on the first.
            # fma3 (explore_fp32.py fma3p at f7b4f27, 3-d operand tiles): M=8 8x64x32 split for 2
            # per SM 1.14x, 4x64x32 unsplit 1.17x, 8x32x32 2 warps 1.13x; M=32 16x64x8 0.67x,
            # 0.71x on 4096->4096 (the FMA dot 0.38x). Through gemm (fma3rows at 2b76848), x cuBLAS
            # against the FMA dot: M=16 0.92 / 0.53, M=32 0.68 / 0.38 (16x32x8 2 warps), M=48
            # 4096->4096 0.50 / 0.42, M=64 0.36 / 0.33 -- so every skinny row count takes it.
            # (1x4 and 1x8 tiles of 512-1024 K not timed in float32: candidates after the bf16 ones)
            "skinny_gemv": [(1, 16, 512, 1, 4, 3, 1), (1, 32, 128, 1, 4, 3, 1), (1, 32, 256, 1, 4, 3, 2),
                            (1, 16, 256, 1, 2, 3, 2), (1, 4, 1024, 1, 4, 3, 1), (1, 8, 512, 1, 4, 3, 1)],
            # 16-bit GEMV (explore_fp32.py gemv16 narrow at 1e295d1, bf16, x cuBLAS; the tl.dot
            # split-K path in the same run 0.936 / 0.976 / 1.025 / 1.011x): 4 columns x 2048 K,
            # unsplit, on 4096->14336 / 14336->4096 / 4096^2 / 8192->28672: 1.053 / 1.065 /
            # 1.104 / 1.071x; 4x1024 and 8x1024 within 1-2% of it
            "skinny_gemv16": [(1, 4, 2048, 1, 4, 3, 1), (1, 4, 1024, 1, 4, 3, 1), (1, 8, 1024, 1, 4, 3, 1)],
            "skinny_fma3": [(8, 64, 32, 8, 4, 3, 2), (4, 64, 32, 8, 4, 3, 1), (8, 32, 32, 8, 2, 3, 2),
                            (16, 64, 8, 8, 4, 3, 2), (16, 64, 8, 8, 4, 3, 4), (16, 32, 8, 8, 2, 3, 2)],
            "fma3_max_m": 64,
            # float64 on the DMMA through tl.dot (gemm._F64_DOT). H100 explore_fp64.py at 18458fa,
            # x cuBLAS, 2048^3 / 4096^3 / 4096^3 B transposed: 128x64x16 0.87 / 0.92 / 1.02,
            # 64x128x16 0.87 / 0.92 / 1.01, 64x64x16 0.84 / 0.87 / 0.92; BLOCK_K 8 does not
            # compile as a dot; the FMA tiles before: 0.007-0.008 (0.4 TFLOP/s)
            "fp64_dot": True,
            "fp64": [(128, 64, 16, 8, 4, 3), (64, 128, 16, 8, 4, 3), (64, 64, 16, 8, 4, 3)],
            "skinny_fp64": [(16, 64, 16, 1, 4, 3), (16, 32, 16, 1, 4, 2)],
            # float32 with TF32 off as tf32x3 (gemm.py's x3). H100 explore_fp32_x3.py at bdf20f3,
            # x cuBLAS (IEEE): F.linear 4096 tokens 4096->4096 / ->14336 / 14336->4096 1.648 /
            # 1.636 / 1.608 with 128x128x64 s2 (1.60 / 1.61 / 1.59 with 128x128x32 s4; 1.65 / 1.59 /
            # 1.57 with 128x64x32); bmm 32x4096x128x4096 1.44; mm 4096^3 / 8192^3 transposed
            # (c.T = b.T @ a.T) 1.51 / 1.59 with 128x128x32 s4; dy.T @ x on a copy of x 1.40
            "fp32_x3": True, "fp32_x3_copy_bytes": 1 << 30,
            "tiled32_x3": [(128, 128, 64, 8, 8, 2), (128, 128, 32, 8, 8, 4), (128, 64, 32, 8, 4, 4)],
            # skinny rows (explore_fp32.py tensor() at 54db378, x cuBLAS): M=8 4096->14336 1.48
            # (16x64x64, 4 per SM), M=32 1.73 (32x64x64: BLOCK_M follows M), M=32 4096->4096 1.22
            # (16x128x64); one row keeps the GEMV (tf32x3 0.94 there)
            "skinny_x3": [(16, 64, 64, 1, 4, 3, 4), (16, 128, 64, 1, 4, 3, 4), (16, 64, 128, 1, 4, 3, 2)],
            "skinny_m": 64, "waves": 4,
            # the TMA kernel (kernels_tma.py): (BM, BN, BK, GROUP_M, warps, stages, warp-specialised,
            # flattened). H100 bf16 (scripts/explore_tma_gemm.py at 97ec9b2), x cuBLAS: WS+flat
            # 0.97 at 8192^3, 1.01 at 4096->128256, 0.89 at 4096->14336 where plain reached 0.98;
            # WS alone 1.005 at 14336->4096; G16 flat 0.99 at 4096->4096.
            # 9th entry: C stored as two half-width blocks (kernels_tma SUB). explore_tma_epilogue.py
            # at 3a9f445, x cuBLAS, WS+flat without / with it: 4096 tokens 14336->4096 0.972 / 1.090,
            # 4096->4096 0.973 / 0.995, 4096->14336 0.928 / 0.926, 8192^3 1.008 / 1.023, bmm
            # 32x4096x128x4096 0.909 / 0.924 (one run; the first row alone moved 0.975 -> 0.928 at
            # 4096->14336 between two runs). Two persistent programs per SM (128x128 tiles):
            # 0.53-1.01x, not kept; a 4th stage (room made by SUB) 0.82-1.00x
            "tma16": [(128, 256, 64, 8, 8, 3, 1, 1, 1), (128, 256, 64, 8, 8, 3, 1, 1), (128, 256, 64, 8, 8, 3, 0, 0),
                      (128, 256, 64, 8, 8, 3, 1, 0), (128, 256, 64, 16, 8, 3, 0, 1)],
            # from 2^34 multiply-adds (~50 us of work): at 2^32 the main job's 2048x1024x2816
            # products took it, so 195 mm calls a step ran Python (no C++ repeat) and the step
            # took 18.0 ms against torch's 15.2 (H100, 125eaeb; before the TMA path, H200:
            # 8.9 against 11.2). Since dd4f013 those calls repeat in C++; at c6d733d
            # (explore_tma_threshold.py) the step took 14.30 / 14.34 / 14.11 ms at 2^34 /
            # 2^30 / 0: no gain from a lower threshold.
            "tma_min_flops": 1 << 34,
        },
        # Not swept yet. With these, add 8192^2 bf16 reached 97.7% of the copy ceiling
        # and softmax 16384x4096 95% on an H100 (benchmarks/results).
        "elementwise": {"BLOCK": 2048, "num_warps": 8},
        "index": {"half_atomics": ("float16", "bfloat16")},
        "softmax": {"max_single_block": 16384, "chunk": 4096, "num_warps": 8},
        # Swept on the H200 (scripts/sweep_reduction.py), 16384x4096 bf16 unless noted:
        # row/col_warps 4 over 8: sum dim=-1 0.050 -> 0.0435 ms, amax 0.071 -> 0.064, argmax
        # over 128256 columns 0.355 -> 0.338; split rows until 8 programs per SM (1056, was
        # 264): sum all 0.081 -> 0.048, sum dim=0 0.060 -> 0.050, 8x1M 0.018 -> 0.013.
        # 128 bf16 inner columns = 256-byte rows per column tile (not swept). num_warps: scans.
        "reduction": {"tile": 4096, "max_block_r": 4096, "col_block": 128, "target_programs": 1056,
                      "split_min_r": 8192, "num_warps": 8, "row_warps": 8, "col_warps": 4,
                      "scan_tile": 4096, "scan_max_block": 1024, "row_stages": 3,
                      # row_warps 8 once reads are evict_first: H100 sweep_reduction.py reduction at
                      # 566a74f, row/col warps 8 against 4 (torch): sum dim=-1 0.0494 / 0.0522 ms
                      # (0.0600), amax 0.0519 / 0.0524 (0.0658), argmax vocab 0.3609 / 0.3785
                      # (0.5260); sum dim=0 (column tiles) 0.0669 / 0.0622, so col_warps stays 4.
                      # read_policy 2: inputs of 64 MB and up load evict_first (engine.READ_POLICY).
                      # H100 explore_read_policy.py at 521e68c, 16384x4096 bf16, us (torch): sum
                      # dim=-1 55.9 -> 51.8 (58.9; one-tile rows unpipelined, else the hint is
                      # lost), amax 56.2 -> 51.9 (64.0), sum all 60.9 -> 57.0 (61.3), sum dim=0
                      # 64.3 -> 61.1 (69.5); argmax over 128256 columns 372.9 / 373.5 (528.8)
                      "read_policy": 2},
        # backward programs swept on the H200 (scripts/sweep_reduction.py norm), 16384x4096
        # bf16, next rows prefetched: 264 -> rms_norm bwd 0.1209 ms, layer_norm 0.1334;
        # 528 -> 0.1299 / 0.1513; 132 -> 0.1474 / 0.1585. H100 at f91c582 (dw/db column
        # sums in one launch): 264 -> 0.1529 / 0.1548, 198 -> 0.1558 / 0.2035, 132/16
        # warps/8192 -> 0.1708 / 0.1591. split_programs (few long rows, norm/split.py):
        # H100 at ec96bd7, 8x131072 layer_norm fwd/bwd 0.0115 / 0.0294 ms at 512-2048
        # alike (one program a row: 0.0762 / 0.0945)
        # cross_entropy forward writing the gradient: its block and warps (H100 sweep at
        # 5a0bdee, 4096x128256 bf16 fwd+bwd: 16384/16 1.038 ms, 8192/16 1.046, 4096/16
        # 1.082, 32768/16 1.106, 65536/32 1.81). ce_grad_hints (cross_entropy._ce_fwd_kernel's
        # HINTS): H100 explore_ce_hints.py at d8d0a90, median of 3 alternating rounds, torch
        # 3.159 ms: none 1.0395, 7 (first pass evict_last, gradient stores streaming, second
        # pass evict_first) 0.9403, 5 0.9674, 3 0.9725, 1 0.9780, 2 1.0322; 7 at 8192/16 0.9650
        "loss": {"ce_grad_block": 16384, "ce_grad_warps": 16, "ce_grad_hints": 7},
        # persistent walk over many long rows (ops/blocks.py walk_plan, swept there):
        # softmax and layer/rms/group norm forward, rows of min_bytes and up (softmax
        # backward: bwd_min_bytes, softmax.py); chunk_bytes a step
        "walk": {"min_bytes": 98304, "bwd_min_bytes": 65536, "chunk_bytes": 32768, "num_warps": 32,
                 "per_sm": 1},
        # One block up to 8192 elements; longer rows streamed on 16 warps: H100
        # explore_group_norm.py, 64x512x1024 bf16 in 32 groups (rows of 16384), fwd /
        # fwd+bwd: one block on 8 warps 0.0748 / 0.3917 ms, on 16 0.0755 / 0.2932;
        # streamed on 8 warps 0.0664 / 0.3449, on 16 0.0566 / 0.2949 (torch 0.172 / 0.463)
        "norm": {"max_single_block": 8192, "chunk": 4096, "num_warps": 8, "stream_warps": 16, "row_groups": 528,
                 "bwd_row_groups": 264},
        # Not swept: starting points. fwd per head-dim bound: (BLOCK_M, BLOCK_N, warps,
        # stages); bwd: (dKdV BLOCK_M, BLOCK_N, dQ BLOCK_M, BLOCK_N, warps, stages).
        "attention": {
            "fwd": ((64, (128, 64, 4, 3)), (128, (128, 64, 8, 3)), (256, (64, 32, 4, 2))),
            "bwd": ((64, (32, 128, 128, 32, 4, 3)), (128, (32, 64, 64, 32, 4, 2)),
                    (256, (16, 32, 32, 16, 4, 1))),
            # the TMA forward (flash_tma.py), head dim -> (BM, BN, warps, stages): H100
            # explore_attention.py at 456d859, b4 h32 s4096 bf16, best of 7 each
            "fwd_tma": ((64, (128, 64, 8, 4)), (128, (128, 128, 8, 3))),
            # the TMA backward: H100 explore_attention.py --bwd at 274beb5, fwd+bwd x torch,
            # flash.py's backward -> this row (best of 6): d128 causal 0.698 -> 0.792,
            # non-causal 0.779 -> 0.825, d64 causal 0.764 -> 0.890
            "bwd_tma": ((64, (64, 64, 64, 64, 4, 2)), (128, (64, 64, 64, 64, 4, 2))),
            # float32 (tf32x3) tiles of unmasked calls: H100 explore_attention_fp32.py --cfg at
            # 33221a4, x torch's float32 SDPA; the half rows clamped (64x32, 8 warps at d128)
            # before: fwd d64 causal 1.19 -> 1.43 (64x64, 4 warps), d128 causal 0.43 -> 0.76,
            # d128 full 0.41 -> 0.86 (128x32, 8 warps; 128x64 overflows shared memory);
            # fwd+bwd d64 1.05 -> 1.10 (64-row blocks), d128 keeps 32x32 (0.66-0.71; larger
            # blocks 0.46-0.67)
            "fwd32": ((64, (64, 64, 4, 2)), (128, (128, 32, 8, 2)), (256, (64, 32, 4, 2))),
            "bwd32": ((64, (64, 64, 64, 64, 4, 1)), (128, (32, 32, 32, 32, 4, 1)), (256, (16, 32, 32, 16, 4, 1))),
        },
        # Not swept: starting points (Q = Philox counters per program; race = multinomial).
        # H100 sweep at a432211 (scripts/sweep_random.py, 8192^2 bf16 p=0.1, torch 0.1386 ms):
        # dropout Q=1024 4 warps 0.1243 ms, 90% of the copy ceiling (Q=256: 0.1338). One
        # multinomial sample of 256 x 128256 (torch 0.3054): 16 pieces per SM, Q=512, 4
        # warps 0.1294 ms (2.36x); one program per row 0.1908.
        "random": {"Q": 256, "num_warps": 4, "dropout_Q": 1024, "race_Q": 512, "race_warps": 4, "race_waves": 16},
        # topk of long rows, H100 (scripts/sweep_topk.py, 4096 x 128256 bf16 k=50, torch
        # 3.85 ms): the bound pass (now gone) reached 1.64 ms (ad0e39c); group maxima
        # (group_select.py) 0.61 unfused at a6ac3e9; 32-bit words 0.557 (6.9x), fp32 fused
        # 0.811 (7.6x) at 15e5198. Past k = 256 (groups of 4, three levels) 0.78x at
        # 5003dfa, the radix select 0.31x at 15e5198: both sent to ATen.
        # pack32: the single-block sort of 16384 x 4096 bf16 6.11 -> 5.44 ms (torch 1.36)
        # sort_warps: full sorts' warps by (word bits, block), H100 explore_sort_warps.py at
        # d3394a1, x torch: bf16 16384x4096 0.251 at 8 -> 0.379 at 16; 65536x1024 1.058 ->
        # 1.119 at 4; 262144x256 3.571 -> 4.778 at 4; fp32 16384x4096 0.272 -> 0.353 at 4;
        # fp32 65536x1024 best at 8 (0.854)
        "sort": {"max_single_block": 4096, "chunk": 4096, "num_warps": 8,
                 "sort_warps": {(32, 256): 4, (32, 4096): 16, (64, 256): 8, (64, 4096): 4},
                 "radix_block": 1024, "radix_warps": 4, "radix_cap": 1024, "radix_per_sm": 16, "pack32": True,
                 "radix_topk": False, "group_max_kb": 256,
                 # the full radix sort (sort/radix_sort.py): off until explore_vocab_sort.py
                 # has checked and timed it on a GPU
                 "radix_sort": False,
                 # full sorts on the network (sort._network_ok; sort-crossover-at-e0ae0b4.txt)
                 "network_max_n": 1024, "network_max_rows": {(64, 1024): 2048},
                 # kthvalue/median (select.py) warps by (key bits, block), H100 explore_select.py
                 # (sweeps-NVIDIA_H100_80GB_HBM3/select-radix-working-tree.txt),
                 # us (x torch) by warps: 4096x4096 bf16 median 2 192.5, 4 288.3, 8 129.0 (2.76x),
                 # 16 224.3; fp32 4 324.6, 8 273.8 (1.33x), 16 374.0; 64x16384 fp32 8 108.9, 16
                 # 44.3 (1.36x), bf16 8 33.4 (1.57x), 16 46.5 (2 and 4 warps spill: 0.1-2 ms);
                 # 16384x1024 fp16 1 148.5, 2 124.9 (4.31x), 4 147.0; 65536x256 bf16 1 158.2
                 # (3.59x), 2 219.3, 4 249.5; 65536x37 fp32 1 189.3 (0.85x), 2 296.3, 4 472.2
                 "select_max": 16384,
                 "select_warps": {(16, 1): 1, (16, 1024): 2, (16, 4096): 8, (32, 1): 1, (32, 1024): 2,
                                  (32, 4096): 8, (32, 16384): 16},
                 "group": {16: {"fuse": False, "descend_warps": 2}, 32: {"fuse": True, "chunk": 8192}}},
    },
}


def make() -> Backend:
    idx = torch.cuda.current_device()
    major, minor = torch.cuda.get_device_capability(idx)
    family = _FAMILIES.get(major, "cuda")
    return Backend(
        name="nvidia", device_type="cuda", dispatch_key="CUDA", arch=f"sm{major}{minor}",
        family=family, device_name=torch.cuda.get_device_name(idx),
        supports_fp64=True, supports_bf16=major >= 8, interpreted=False,
        tables=TABLES.get(family, TABLES["default"]),
    )
