"""The end-to-end demo (small Llama, forward + backward, torch vs triforge) and the CLI."""
from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import triforge
from triforge import demo
from triforge.models.llama import Llama, LlamaConfig, make_batch

SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture(scope="module")
def demo_run():
    """demo.main([]) once, in-process: (exit code, its DemoResult, what it printed)."""
    results = []
    real_run = demo.run

    def recording_run(*args, **kwargs):
        results.append(real_run(*args, **kwargs))
        return results[-1]

    out = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(out):
        mp.setattr(demo, "run", recording_run)
        rc = demo.main([])
    assert len(results) == 1
    return rc, results[0], out.getvalue()


def test_demo_exits_zero(demo_run):
    rc, res, _ = demo_run
    assert res.failures == []
    assert rc == 0


def test_demo_served_by_triforge(demo_run):
    _, res, _ = demo_run
    served = res.coverage.served()
    for op in ("scaled_dot_product_attention", "cross_entropy_loss", "mm", "embedding",
               "embedding_dense_backward", "add.Tensor", "mul.Tensor", "silu_backward"):
        assert served.get(op, 0) > 0, f"{op} not served by triforge: {served}"
    # the issues' "done when": nothing of the main job falls back or lacks a kernel
    assert res.coverage.fell_back() == {} and res.coverage.missing() == {}, str(res.coverage)
    assert triforge.enabled_ops() == frozenset()   # the demo leaves triforge as it found it


def test_demo_matches_torch(demo_run):
    _, res, _ = demo_run
    tol = demo.TOLERANCES[res.dtype]
    assert torch.isfinite(res.tf.loss) and torch.isfinite(res.ref.loss)
    assert res.loss_cmp.max_rel <= tol
    assert res.logits_cmp.max_rel <= tol
    names = {n for n, _ in Llama(res.cfg).named_parameters()}
    assert {c.name.removeprefix("grad ") for c in res.grad_cmps} == names
    assert all(c.max_rel <= tol for c in res.grad_cmps)


def test_demo_prints_report(demo_run):
    _, res, text = demo_run
    assert res.backend.name in text
    assert "aten op" in text and "scaled_dot_product_attention" in text     # the coverage table
    assert "distinct served by triforge" in text
    assert "OK:" in text


def test_demo_fails_on_mismatch():
    c = demo.compare("x", torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.1]), 1e-4)
    assert not c.ok and c.max_abs == pytest.approx(0.1) and c.max_rel == pytest.approx(0.1 / 2.1)
    nan = demo.compare("x", torch.tensor([float("nan")]), torch.tensor([1.0]), 1e-4)
    assert not nan.ok


def test_ops_cli_lists_registry():
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    p = subprocess.run([sys.executable, "-m", "triforge", "ops"], capture_output=True, text=True,
                       env=env, timeout=300)
    assert p.returncode == 0, p.stderr
    rows = {line.split()[0]: line for line in p.stdout.splitlines() if line.strip()}
    for ov in ("add.Tensor", "mul.Tensor", "_softmax", "_softmax_backward_data"):
        assert ov in rows
    assert "triforge.ops.softmax" in rows["_softmax"]
    assert "aten overloads" in p.stdout.splitlines()[-1]


# -- the model itself (plain torch, no triforge) ----------------------------------------
def test_llama_init_is_deterministic():
    cfg = LlamaConfig.tiny()
    a, b = Llama(cfg), Llama(cfg)
    for (n, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        assert torch.equal(p, q), n
    c = Llama(LlamaConfig.tiny(seed=1))
    assert not torch.equal(a.lm_head.weight, c.lm_head.weight)


def test_llama_is_causal():
    cfg = LlamaConfig.tiny()
    model = Llama(cfg)
    ids, labels = make_batch(cfg)
    logits, loss = model(ids, labels)
    assert logits.shape == (cfg.batch_size, cfg.seq_len, cfg.vocab_size) and loss.ndim == 0
    ids2 = ids.clone()
    ids2[:, -1] = (ids2[:, -1] + 1) % cfg.vocab_size   # change only the last token
    logits2, _ = model(ids2)
    torch.testing.assert_close(logits2[:, :-1], logits[:, :-1], rtol=0, atol=0)
    assert not torch.equal(logits2[:, -1], logits[:, -1])
