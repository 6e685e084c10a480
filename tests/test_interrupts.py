"""Ctrl-C, SIGTERM and a killed sweep (docs/outputs.md, "How commands end"): one line
``ecmsim: interrupted``, exit status 128 + the signal, no staging folder left behind, and no
point of a sweep running on after its sweep is gone. The time loop's checkpoint on Ctrl-C and
the equal resumed result are in tests/test_cycling.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, SCENARIOS

FLAT = str(SCENARIOS / "flat_bilayer.toml")
#: gmsh takes several seconds on this window: a signal a second after "meshing" lands inside it.
FINE = ["--set", "mesh.size_m=0.1e-6", "--set", "mesh.interface_size_m=0.1e-6"]
ENV = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")


def _signal_after(cmd: list[str], marker: str, signum: int, delay_s: float, cwd: Path) -> tuple[int, str, float]:
    """Run ``cmd``, send ``signum`` ``delay_s`` after a stdout line containing ``marker``;
    (exit status, stderr, seconds from the signal to the end)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, cwd=cwd)
    sent = None
    for line in proc.stdout:
        if marker in line:
            time.sleep(delay_s)
            proc.send_signal(signum)
            sent = time.monotonic()
            break
    _, err = proc.communicate(timeout=300)
    assert sent is not None, f"no line with {marker!r}: {err}"
    return proc.returncode, err, time.monotonic() - sent


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_a_signal_inside_gmsh_ends_a_run_cleanly_and_at_once(tmp_path, signame):
    signum = getattr(signal, signame)
    out = tmp_path / "out"
    status, err, seconds = _signal_after([sys.executable, "-m", "ecmsim", "run", FLAT, "-o", str(out), *FINE],
                                         "meshing", signum, 1.0, tmp_path)
    assert status == 128 + signum and err.strip() == "ecmsim: interrupted", (status, err)
    assert seconds < 10
    assert sorted(p.name for p in tmp_path.iterdir()) == []      # no out, no out.partial-*


def test_ctrl_c_inside_mesh_leaves_no_staging_folder(tmp_path):
    image = ROOT / "meshes" / "li_pll_cycled.png"
    status, err, _ = _signal_after([sys.executable, "-m", "ecmsim", "mesh", str(image), "--size", "50nm",
                                    "--interface-size", "50nm", "--max-cells", "50000000", "-o", str(tmp_path / "m.msh")],
                                   "meshing", signal.SIGINT, 1.0, tmp_path)
    assert status == 130 and err.strip() == "ecmsim: interrupted", (status, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _start_sweep(tmp_path: Path) -> tuple[subprocess.Popen, int]:
    """A sweep of one slow point; returns the sweep and the point's process once it runs."""
    proc = subprocess.Popen([sys.executable, "-m", "ecmsim", "sweep", FLAT, "-o", str(tmp_path / "sw"), "-j", "1",
                             "--set", "loading.stack_pressure_Pa=1e6,2e6", *FINE], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=ENV, cwd=tmp_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        kids = _children(proc.pid)
        if kids and list((tmp_path / "sw" / "points").glob("*.partial-*")):
            return proc, kids[0]
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("the point did not start")


def test_a_point_dies_with_its_sweep_even_on_sigkill(tmp_path):
    proc, child = _start_sweep(tmp_path)
    time.sleep(0.5)
    proc.kill()
    proc.communicate()
    deadline = time.monotonic() + 20
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child), "the point runs on after its sweep was killed"
    assert not list((tmp_path / "sw" / "points").glob("*.partial-*"))   # it removed its staging folder


def test_ctrl_c_stops_a_sweep_and_its_points(tmp_path):
    proc, child = _start_sweep(tmp_path)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err.strip().endswith("ecmsim: interrupted"), (proc.returncode, err)
    deadline = time.monotonic() + 20
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child)
    assert not list((tmp_path / "sw" / "points").glob("*.partial-*"))
