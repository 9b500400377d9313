"""Autotuning with an on-disk cache.

The cache lives in $TRIFORGE_CACHE_DIR (default: ~/.cache/triforge), one JSON file
per (backend, device, triton version, kernel name, kernel source hash). A key is a
tuple of bucketed shape facts chosen by the op. Files are written atomically
(temp file + os.replace); a corrupt or stale file is ignored and rewritten.
Under the interpreter timings mean nothing, so the first config (the heuristic)
is used unless a timer is supplied (tests do that).
"""
from __future__ import annotations

import functools
import json
import os
import re
import tempfile
import threading
from typing import Any, Callable, Sequence

from ..backends import current as _backend

_FORMAT = 1
_lock = threading.Lock()


def cache_dir() -> str:
    d = os.environ.get("TRIFORGE_CACHE_DIR")
    if not d:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        d = os.path.join(base, "triforge")
    return d


def bucket(n: int) -> int:
    """Next power of two: shapes in one bucket share a tuned config."""
    return 1 if n <= 1 else 1 << (int(n) - 1).bit_length()


def _slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", s)


def _triton_version() -> str:
    import triton
    return triton.__version__


class Tuner:
    """Picks, per key, the fastest of `configs` and remembers it in memory and on disk."""

    def __init__(self, name: str, src_hash: str, configs: Sequence[dict[str, Any]], rep_ms: int = 20):
        if not configs:
            raise ValueError("Tuner needs at least one config")
        self.name, self.src_hash, self.configs = name, src_hash, list(configs)
        self.rep_ms = rep_ms   # timing per config: long enough to rank configs a few % apart
        self._mem: dict[tuple, dict] | None = None

    def path(self) -> str:
        b = _backend()
        sub = _slug(f"{b.name}-{b.device_name}-triton{_triton_version()}")
        return os.path.join(cache_dir(), sub, _slug(f"{self.name}-{self.src_hash}") + ".json")

    def _load(self) -> dict[tuple, dict]:
        try:
            with open(self.path()) as f:
                data = json.load(f)
            if data.get("format") != _FORMAT or data.get("src_hash") != self.src_hash:
                return {}
            known = [json.dumps(c, sort_keys=True) for c in self.configs]
            out = {}
            for k, cfg in data["entries"].items():
                if json.dumps(cfg, sort_keys=True) in known:  # a config no longer offered is stale
                    out[tuple(json.loads(k))] = cfg
            return out
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return {}

    def _save(self):
        path = self.path()
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = {"format": _FORMAT, "src_hash": self.src_hash,
                "entries": {json.dumps(list(k)): v for k, v in self._mem.items()}}
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(data, f, indent=1, sort_keys=True)
            os.replace(tmp, path)
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass

    def best(self, key: tuple, run: Callable[[dict], Any],
             timer: Callable[[Callable[[], Any]], float] | None = None) -> dict:
        """Config for `key`; `run(cfg)` launches the op once with that config."""
        mem = self._mem
        if mem is not None:
            hit = mem.get(key)
            if hit is not None:
                return hit
        with _lock:
            if self._mem is None:
                self._mem = self._load()
            hit = self._mem.get(key)
            if hit is not None:
                return hit
            if timer is None:
                if _backend().interpreted or len(self.configs) == 1 or _capturing():
                    return self.configs[0]
                timer = functools.partial(_do_bench, rep=self.rep_ms)
            times = []
            for cfg in self.configs:
                try:
                    times.append(timer(lambda: run(cfg)))
                except Exception:  # a config that fails to compile (resources) is skipped
                    times.append(float("inf"))
            best = self.configs[min(range(len(times)), key=times.__getitem__)]
            self._mem[key] = best
            self._save()
            return best


def _capturing() -> bool:
    import torch
    return torch.cuda.is_available() and torch.cuda.is_current_stream_capturing()


def _do_bench(fn, rep=20) -> float:
    import triton.testing
    return triton.testing.do_bench(fn, warmup=5, rep=rep, return_mode="median")
