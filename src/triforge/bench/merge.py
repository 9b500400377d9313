"""Merge result files of several runs on one device into one:
    python -m triforge.bench.merge OUT_DIR run1.json run2.json ...
A case (name, dtype) measured in several runs keeps its latest run's row; a merged file
may be merged again (its rows keep their own commits). Each row
keeps the commit and date of its run (ratios are always from one run: torch and
triforge timed together), so a merged table never mixes a case's numbers."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from . import report


def merge(paths: list[str]) -> dict:
    runs = [json.loads(Path(p).read_text()) for p in paths]
    devices = {r["device"] for r in runs}
    if len(devices) != 1:
        raise SystemExit(f"results of different devices: {sorted(devices)}")
    runs.sort(key=lambda r: r["date"])
    out = dict(runs[-1])
    cases: dict = {}
    for r in runs:
        for c in r["cases"]:
            # a case of an earlier merge keeps its own run's commit and date
            cases[(c["name"], c["dtype"])] = dict(c, commit=c.get("commit", r["commit"]), date=c.get("date", r["date"]))
    out["cases"] = list(cases.values())
    out["host"] = next((r["host"] for r in reversed(runs) if r.get("host")), None)
    out["commit"] = ", ".join(dict.fromkeys(r["commit"] for r in runs))
    out["date"] = f"{runs[0]['date']} .. {runs[-1]['date']}"
    out["merged_from"] = [{"commit": r["commit"], "date": r["date"], "argv": r.get("argv")} for r in runs]
    out["ok"] = all(c.get("check") == "ok" for c in out["cases"])
    return out


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2:
        raise SystemExit(__doc__)
    res = merge(argv[1:])
    for p in report.write(res, Path(argv[0])):
        print("wrote", p)


if __name__ == "__main__":
    main()
