"""What every benchmark shares: its command line, its output folder, and timing whole commands.

Every ``benchmarks/bench_*.py`` takes ``--out DIR`` (where its files go: default
``results/benchmarks/<name>`` under the current folder; a benchmark never writes into docs/
unless that folder is given) and ``--quick`` (small points only, for a first look), and prints its
table on stdout. ``benchmarks/run_all.py`` runs them all in turn.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The default parent of every benchmark's output folder (relative to the current folder).
DEFAULT_OUT = Path("results") / "benchmarks"


def parser(doc: str, name: str) -> argparse.ArgumentParser:
    """An argument parser with the benchmark's docstring as help and the shared options."""
    first, _, rest = doc.strip().partition("\n")
    p = argparse.ArgumentParser(prog=f"benchmarks/{name}.py", description=first,
                                epilog=rest.strip() or None, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-o", "--out", type=Path, default=DEFAULT_OUT / name,
                   help=f"folder for the benchmark's files (default: {DEFAULT_OUT / name}); "
                        "docs/ only when given here")
    p.add_argument("--quick", action="store_true", help="small points only (a first look, about a minute)")
    return p


def out_dir(path: Path) -> Path:
    """Create the output folder (and its parents) and return it."""
    path.mkdir(parents=True, exist_ok=True)
    return path


def venv_tool(name: str) -> str:
    """A program beside the running Python (``mpirun`` of the MPICH wheel), else the one on PATH."""
    import shutil

    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name) or name


@dataclass
class Timing:
    """One finished command: wall and CPU seconds (user + system of it and its children)."""

    wall_s: float
    cpu_s: float
    returncode: int


def run_timed(cmd: list[str], cwd: Path | None = None, env: dict | None = None,
              timeout: float | None = None) -> Timing:
    """Run ``cmd`` to the end (output discarded) and time it from outside, the whole process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          timeout=timeout)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        print(f"  command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-1500:]}", flush=True)
    return Timing(wall, cpu, proc.returncode)


def alternate(commands: dict[str, list[str]], repeat: int, envs: dict[str, dict] | None = None,
              companion: list[str] | None = None, **kw) -> dict[str, list[Timing]]:
    """Run the commands in turn (A B C A B C ...), ``repeat`` rounds after one warm-up round, so
    that a change of the machine's load touches all of them alike. Returns name -> timings.

    ``envs``: name -> the environment of that command (one command under several environments is
    the same command under several names). ``companion``: a command started beside each timed run,
    in that run's environment, and stopped when it ends (a run as one of two at once)."""
    def timed(name: str) -> Timing:
        env = (envs or {}).get(name, kw.get("env"))
        other = (subprocess.Popen(companion, cwd=kw.get("cwd"), env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL) if companion else None)
        try:
            return run_timed(commands[name], **{**kw, "env": env})
        finally:
            if other is not None:
                other.terminate()
                other.wait()

    for name in commands:          # warm-up: form caches, page cache, numba
        timed(name)
    out: dict[str, list[Timing]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name in commands:
            out[name].append(timed(name))
    return out


def median(values) -> float:
    return statistics.median(values)


def ratios(a: list[Timing], b: list[Timing], key: str = "wall_s") -> list[float]:
    """Round by round ratios a/b (the runs of one round ran next to each other)."""
    return [getattr(x, key) / getattr(y, key) for x, y in zip(a, b, strict=True)]


def load_average() -> float:
    return os.getloadavg()[0]


__all__ = ["ROOT", "DEFAULT_OUT", "parser", "out_dir", "venv_tool", "Timing", "run_timed", "alternate", "median",
           "ratios", "load_average"]
