"""The benchmark runner end to end, in-process, on tiny shapes (--quick).

Under the interpreter its timings mean nothing; what is checked is that it runs,
writes the results files, and turns a wrong triforge result into a failure.
"""
import json

import torch

import triforge
from triforge.bench import cases as C
from triforge.bench.__main__ import main

TOP_KEYS = {"device", "device_slug", "interpreter", "torch", "triton", "commit", "date",
            "copy_ceiling", "cases", "host", "ok"}
CASE_KEYS = {"name", "group", "dtype", "shape", "torch_ms", "triforge_ms", "speedup", "bytes",
             "triforge_GB_s", "pct_copy_ceiling", "path", "check"}


def _load(out):
    files = sorted(out.glob("*.json"))
    assert len(files) == 1, files
    assert files[0].with_suffix(".md").is_file()
    return json.loads(files[0].read_text())


def test_quick_run_writes_results(tmp_path, capsys):
    rc = main(["--quick", "--ops", "add,softmax", "--out", str(tmp_path)])
    res = _load(tmp_path)
    assert rc == 0, [c for c in res["cases"] if c["check"] != "ok"]
    assert TOP_KEYS <= res.keys()
    assert res["copy_ceiling"]["GB_s"] > 0
    names = {c["name"] for c in res["cases"]}
    assert names == {c.name for c in C.CASES if c.group in ("add", "softmax")}
    for c in res["cases"]:
        assert CASE_KEYS <= c.keys(), c
        assert c["check"] == "ok", c
    paths = {c["name"]: c["path"] for c in res["cases"]}
    assert paths["add"] == "triforge"
    assert paths["add a + b.T"] in ("triforge", "aten fallback")   # fallback until strided add lands
    if triforge.backend().interpreted:
        assert res["device_slug"] == "cpu-interpreter" and res["note"]
    host = res["host"]["items"]
    for k in ("torch x + y", "triforge x + y", "torch softmax", "triforge softmax",
              "add: torch.empty_like", "add: Launcher launch", "add: impl direct (no dispatcher)",
              "add: triton JITFunction launch"):
        assert host[k]["us"] > 0, k
    assert "add: hop = dispatched (Python entry) - direct" in res["host"]["derived"]
    assert "triforge ms" in capsys.readouterr().out


def test_mismatch_is_a_failure(tmp_path, monkeypatch):
    # Differs only while triforge is enabled: the runner's check must catch it.
    def wrong(a, b):
        return a + b + (1 if triforge.enabled_ops() else 0)
    flop_case = C.Case("mm", "add", (64, 64), C.two, torch.mm, flops=lambda s: 2 * s[0] * s[1] * s[1])
    not_yet = C.Case("future op", "add", (64, 64), C.one, torch.neg, ops=("no_such_op",))
    monkeypatch.setattr(C, "CASES", [C.Case("wrong add", "add", (64, 64), C.two, wrong), flop_case, not_yet])
    rc = main(["--quick", "--no-host", "--dtypes", "fp32", "--out", str(tmp_path)])
    res = _load(tmp_path)
    assert rc == 1
    assert res["ok"] is False
    bad, mm = res["cases"]
    assert (bad["check"], bad["dtype"]) == ("MISMATCH", "fp32")
    assert bad["triforge_ms"] > 0   # a mismatch is still timed and reported
    # A FLOP case reports TFLOP/s; no triforge op ran in it, and the path says so.
    assert (mm["check"], mm["path"]) == ("ok", "aten (op not reached)")
    assert mm["triforge_TFLOP_s"] > 0 and "bytes" not in mm
    # A case whose op triforge does not declare yet is listed as skipped, not run.
    assert [s["name"] for s in res["skipped"]] == ["future op"]


def test_merge_keeps_each_rows_run(tmp_path):
    """Rows keep the commit of the run that measured them, also when an earlier merge's
    file is merged again with a newer run."""
    from triforge.bench.merge import merge

    def run(commit, date, names):
        cases = [{"name": n, "dtype": "bf16", "check": "ok", "torch_ms": 1.0, "triforge_ms": 1.0} for n in names]
        return {"device": "gpu", "commit": commit, "date": date, "cases": cases, "host": None}
    paths = []
    for i, (commit, names) in enumerate((("a1", ["x", "y"]), ("b2", ["y"]))):
        paths.append(tmp_path / f"{commit}.json")
        paths[-1].write_text(json.dumps(run(commit, f"2026-01-0{i + 1}", names)))
    first = merge([str(p) for p in paths])
    assert {c["name"]: c["commit"] for c in first["cases"]} == {"x": "a1", "y": "b2"}
    (tmp_path / "merged.json").write_text(json.dumps(first))
    (tmp_path / "c3.json").write_text(json.dumps(run("c3", "2026-01-03", ["z"])))
    again = merge([str(tmp_path / "merged.json"), str(tmp_path / "c3.json")])
    assert {c["name"]: c["commit"] for c in again["cases"]} == {"x": "a1", "y": "b2", "z": "c3"}
