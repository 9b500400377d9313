"""triforge's benchmark runner: `python -m triforge.bench --help`.

cases.py holds the case table, timing.py the measurement helpers, report.py the
table and results files; __main__.py ties them together.
"""


def main(argv=None) -> int:
    # Imported lazily so `python -m triforge.bench` does not load __main__ twice.
    from .__main__ import main as _main
    return _main(argv)
