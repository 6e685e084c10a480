"""The benchmarks' command lines (no timing here: speed is measured in benchmarks/, never in tests).

Every ``benchmarks/bench_*.py`` and ``run_all.py`` answers ``--help`` without starting to measure,
and offers ``--out`` (outputs never into docs/ by default) and ``--quick``."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT

BENCH = ROOT / "benchmarks"
SCRIPTS = sorted(p.name for p in BENCH.glob("bench_*.py")) + ["run_all.py"]


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_without_measuring(script, tmp_path):
    proc = subprocess.run([sys.executable, str(BENCH / script), "--help"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "--out" in proc.stdout and "--quick" in proc.stdout, proc.stdout
    assert "(default: results/benchmarks" in " ".join(proc.stdout.split()), proc.stdout   # not docs/
    assert not any(tmp_path.iterdir())               # nothing written


def test_run_all_lists_every_benchmark(tmp_path):
    proc = subprocess.run([sys.executable, str(BENCH / "run_all.py"), "--list"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert [ln.split()[0] for ln in proc.stdout.splitlines()] == [s[:-3] for s in SCRIPTS[:-1]]
