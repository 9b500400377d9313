"""Results table (stdout), results files (<device>.json and <device>.md), run metadata."""
from __future__ import annotations

import datetime
import json
import os
import re
import subprocess
from pathlib import Path

INTERP_NOTE = "interpreter: timings are not performance numbers"
_DTYPE = {"torch.bfloat16": "bf16", "torch.float16": "fp16", "torch.float32": "fp32",
          "torch.float64": "fp64"}


def device_slug(name: str, interpreted: bool) -> str:
    if interpreted:
        return "cpu-interpreter"
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_") or "unknown"


def repo_root() -> Path | None:
    """The checkout this package runs from (src layout), or None when installed."""
    root = Path(__file__).resolve().parents[3]
    return root if (root / "pyproject.toml").is_file() else None


def default_out_dir() -> Path:
    return (repo_root() or Path.cwd()) / "benchmarks" / "results"


def git_commit() -> str:
    """Short HEAD, "+dirty" when the tree has changes; "unknown" without git or a repo.
    TRIFORGE_COMMIT overrides: the GPU machine gets a copy of the tree without .git."""
    if os.environ.get("TRIFORGE_COMMIT"):
        return os.environ["TRIFORGE_COMMIT"]
    cwd = repo_root() or Path.cwd()
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=cwd, capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def short_dtype(dtype) -> str:
    return _DTYPE.get(str(dtype), str(dtype))


# -- formatting -------------------------------------------------------------------------------
def _f(v, fmt):
    return "-" if v is None else format(v, fmt)


CASE_COLS = ("case", "dtype", "shape", "torch ms", "triforge ms", "speedup", "GB/s", "% copy",
             "TFLOP/s", "path", "check")


def case_row(r: dict) -> list[str]:
    shape = "x".join(str(d) for d in r["shape"])
    return [r["name"], r["dtype"], shape, _f(r.get("torch_ms"), ".4f"), _f(r.get("triforge_ms"), ".4f"),
            _f(r.get("speedup"), ".3f"), _f(r.get("triforge_GB_s"), ".0f"),
            _f(r.get("pct_copy_ceiling"), ".1f"), _f(r.get("triforge_TFLOP_s"), ".1f"),
            r.get("path", "-"), r.get("check", "-")]


def case_table(res: dict):
    """(header, rows); the TFLOP/s column only when some case counts FLOPs."""
    cols, rows = CASE_COLS, [case_row(r) for r in res["cases"]]
    if not any("triforge_TFLOP_s" in r for r in res["cases"]):
        i = cols.index("TFLOP/s")
        cols, rows = cols[:i] + cols[i + 1:], [row[:i] + row[i + 1:] for row in rows]
    if any("commit" in r for r in res["cases"]):   # a merged file: each row's own run
        cols, rows = cols + ("commit",), [row + [r.get("commit", "-")] for row, r in zip(rows, res["cases"])]
    return cols, rows


def host_rows(host: dict) -> list[list[str]]:
    return [[k, _f(v["us"], ".2f")] for k, v in host["items"].items()] + \
           [[k, _f(v, ".2f")] for k, v in host.get("derived", {}).items()]


def text_table(header, rows) -> str:
    w = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda cells: "  ".join(str(c).ljust(n) for c, n in zip(cells, w)).rstrip()
    return "\n".join([line(header), line(["-" * n for n in w])] + [line(r) for r in rows])


def md_table(header, rows) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def summary_lines(res: dict) -> list[str]:
    lines = [f"device: {res['device']} ({res['backend']}, {res['arch']})",
             f"torch {res['torch']}, triton {res['triton']}, triforge {res['triforge']}, "
             f"commit {res['commit']}, {res['date']}",
             f"timing: {res['timing']}"]
    if res.get("copy_ceiling"):
        c = res["copy_ceiling"]
        lines.append(f"copy ceiling: {c['GB_s']:.0f} GB/s (read+write, {c['bytes'] / 2**30:.2f} GiB moved "
                     f"in {c['ms']:.3f} ms)")
    if res["interpreter"]:
        lines.append(f"*** {INTERP_NOTE} ***")
    return lines


def write(res: dict, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    base = out_dir / res["device_slug"]
    jpath, mpath = base.with_suffix(".json"), base.with_suffix(".md")
    tmp = jpath.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(res, indent=1, default=str) + "\n")
    os.replace(tmp, jpath)
    md = [f"# triforge benchmarks: {res['device']}", ""] + [f"- {l}" for l in summary_lines(res)]
    md += ["", "speedup = torch ms / triforge ms; GB/s and % copy are triforge's; "
           "path = where the case's ops ran under triforge.", ""]
    md += [md_table(*case_table(res)), ""]
    if res.get("host"):
        h = res["host"]
        md += [f"## Host time per call (us), {h['numel']} elements {h['dtype']}, "
               f"{h['calls']} calls x {h['rounds']} rounds, median"
               + (f" (commit {h['commit']}, {h['date']})" if h.get("commit") else ""), "",
               md_table(("item", "us"), host_rows(h)), ""]
    mpath.write_text("\n".join(md))
    return jpath, mpath
