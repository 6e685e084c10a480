"""Run the benchmarks (every benchmarks/bench_*.py, or those named) one after the other.

Each benchmark prints its own table: timings of the alternatives side by side in one run, with
their ratios, so that a number never depends on which machine ran it alone. Each runs in its own
process with ``--out OUT/<name>`` (its files) and its printed table is kept in OUT/<name>.txt.
Nothing is written into docs/ unless OUT is there.

    python benchmarks/run_all.py -o results/bench            # all of them (about an hour on 2 cores)
    python benchmarks/run_all.py --quick                     # small points only (a few minutes)
    python benchmarks/run_all.py --only bench_timeloop bench_mesh2d
    python benchmarks/run_all.py --list
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import DEFAULT_OUT, out_dir  # noqa: E402


def benchmarks() -> dict[str, Path]:
    return {path.stem: path for path in sorted(HERE.glob("bench_*.py"))}


def summary_line(path: Path) -> str:
    """The first line of a benchmark's docstring."""
    import ast

    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def main(argv: list[str] | None = None) -> int:
    found = benchmarks()
    first, _, rest = __doc__.strip().partition("\n")
    p = argparse.ArgumentParser(prog="benchmarks/run_all.py", description=first, epilog=rest.strip(),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-o", "--out", type=Path, default=DEFAULT_OUT,
                   help=f"folder for every benchmark's files and printed table (default: {DEFAULT_OUT})")
    p.add_argument("--quick", action="store_true", help="pass --quick to every benchmark (small points only)")
    p.add_argument("--only", nargs="+", metavar="NAME", choices=sorted(found),
                   help=f"run only these ({', '.join(found)})")
    p.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = p.parse_args(argv)
    if args.list:
        for name, path in found.items():
            print(f"{name:20s} {summary_line(path)}")
        return 0
    failed = []
    for name in args.only or list(found):
        folder = out_dir(args.out / name)
        cmd = [sys.executable, str(found[name]), "--out", str(folder)] + (["--quick"] if args.quick else [])
        print(f"== {name}", flush=True)
        with open(args.out / f"{name}.txt", "w") as log:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for line in proc.stdout:
                print(line, end="", flush=True)
                log.write(line)
            if proc.wait() != 0:
                failed.append(name)
                print(f"== {name} failed (exit status {proc.returncode})", flush=True)
    print(f"== tables in {args.out}/<name>.txt" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
