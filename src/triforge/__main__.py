"""python -m triforge [demo] [flags]   forward + backward of a small Llama, torch vs triforge
python -m triforge ops              the aten overloads triforge implements on this backend
"""
from __future__ import annotations

import sys


def ops_table() -> str:
    """One row per declared aten overload: overload, implementing module, backends."""
    import triforge
    from triforge.registry import declarations

    b = triforge.backend()   # detect first: kernels must be defined after TRITON_INTERPRET is set
    decls = declarations()
    rows = [(ov, d.module, ", ".join(d.backends) if d.backends else "all") for ov, d in decls.items()]
    head = ("aten overload", "module", "backends")
    w = [max(len(r[i]) for r in [head, *rows]) for i in range(2)]
    lines = [f"{head[0]:<{w[0]}}  {head[1]:<{w[1]}}  {head[2]}"]
    lines.append("-" * len(lines[0]))
    lines += [f"{ov:<{w[0]}}  {mod:<{w[1]}}  {bk}" for ov, mod, bk in rows]
    n_ops = len({d.base for d in decls.values()})
    lines.append(f"{len(decls)} aten overloads ({n_ops} ops) declared for backend {b.name} ({b.arch})")
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help", "help"):
        print(__doc__.rstrip())
        return 0
    if argv and argv[0] == "ops":
        if len(argv) > 1:
            print("usage: python -m triforge ops", file=sys.stderr)
            return 2
        print(ops_table())
        return 0
    if argv and argv[0] == "demo":
        argv = argv[1:]
    from triforge import demo
    return demo.main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
