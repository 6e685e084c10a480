"""Shared test helpers: running the CLI in a subprocess, locating mpirun, repository paths."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


def shipped_scenarios() -> list[Path]:
    """The scenario files in scenarios/ (study files, which list [[run]]s, are not scenarios)."""
    return sorted(p for p in SCENARIOS.glob("*.toml") if "\n[[run]]" not in p.read_text())


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """``python -m ecmsim ARGS`` in a subprocess (text output captured)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "ecmsim", *args], cwd=cwd or ROOT, capture_output=True,
                          text=True, timeout=timeout, env=env)


def run_cli_on_terminal(*args: str, cwd: Path | None = None, timeout: float = 600, cols: int = 120) -> tuple[int, str]:
    """``python -m ecmsim ARGS`` with stdout on a pseudo-terminal of ``cols`` columns (what a person
    at a terminal sees); returns (exit status, the screen output with each line's last redraw)."""
    import fcntl
    import pty
    import select
    import struct
    import termios
    import time

    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for name in ("COLUMNS", "LINES"):   # they override the terminal's size; pytest-xdist's workers set 80 x 24
        env.pop(name, None)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, cols, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "ecmsim", *args], cwd=cwd or ROOT, stdout=slave,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=env)
    os.close(slave)
    out, end = b"", time.monotonic() + timeout
    while time.monotonic() < end:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:      # the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    else:
        proc.kill()
    rc = proc.wait()
    os.close(master)
    return rc, out.decode("utf-8", "replace").replace("\r\n", "\n")


def mpirun() -> str | None:
    """The mpirun beside this Python (the MPICH wheel puts it in the venv), else on PATH."""
    here = Path(sys.executable).parent / "mpirun"
    return str(here) if here.exists() else shutil.which("mpirun")


def run_cli_mpi(n: int, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return run_process([mpirun(), "-n", str(n), sys.executable, "-m", "ecmsim", *args], cwd=ROOT,
                       capture_output=True, text=True, timeout=timeout, env=env)


def run_process(argv, **kwargs) -> subprocess.CompletedProcess:
    """``subprocess.run(argv, **kwargs)``; an ``mpirun``/``mpiexec`` launch runs alone (:func:`mpi_alone`)."""
    if Path(str(argv[0])).name in ("mpirun", "mpiexec"):
        with mpi_alone():
            return subprocess.run(argv, **kwargs)
    return subprocess.run(argv, **kwargs)


def read_summary(folder: Path) -> dict:
    return json.loads((Path(folder) / "summary.json").read_text())


def assert_one_line_error(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    """Exit code 2, exactly one line on stderr starting with 'ecmsim: error:', no traceback."""
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("ecmsim: error: "), lines[0]
    for frag in fragments:
        assert frag in lines[0], (frag, lines[0])


@pytest.fixture
def have_mpirun():
    """mpirun, else skip; under CI (the CI variable set) a missing mpirun fails: the parallel tests
    must not vanish silently where they are meant to run (the MPICH wheel puts mpirun in the venv)."""
    if mpirun() is None:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but no mpirun beside {sys.executable} or on PATH: the MPI tests cannot run")
        pytest.skip("no mpirun")
    return mpirun()


def assert_same_metrics(a: dict, b: dict, rel: float) -> None:
    """Every metric of summary ``a`` equal in summary ``b`` to ``rel``, with the absolute floor of its own
    scale (:func:`metric_tolerance`): two equivalent runs (serial and parallel, resumed and uninterrupted)."""
    for key, value in a["metrics"].items():
        assert b["metrics"][key] == pytest.approx(value, rel=rel, abs=metric_tolerance(key, a)), key


def metric_tolerance(key: str, summary: dict) -> float:
    """Absolute agreement expected of a metric between two equivalent runs, from its own scale:
    stresses to 1e-8 of the stack pressure, lengths to 1e-10 of the window width, dimensionless
    values to 1e-8 (the relative part of the comparison handles values far from zero)."""
    pressure = summary["metrics"]["stack_pressure_Pa"]
    length = (summary["scenario"]["geometry"].get("width_m") or summary["metrics"].get("interface_length_m")
              or summary["mesh"].get("width_m") or 1e-5)   # windows without an interface: ~10 um
    if key.endswith("_N_per_m"):
        return 1e-8 * pressure * length
    if key.endswith("_Pa"):
        return 1e-8 * pressure
    if key.endswith("_m"):
        return 1e-10 * length
    return 1e-8


#: The flat 3D window shared by the 3D tests (tests/test_contact_3d.py, tests/test_scale.py):
#: stack pressure [Pa], width, electrode and electrolyte heights, depth [m].
FLAT3D_P = 2.4e6
FLAT3D_W, FLAT3D_H_ELECTRODE, FLAT3D_H_ELECTROLYTE, FLAT3D_DEPTH = 40e-6, 15e-6, 20e-6, 10e-6


@pytest.fixture(scope="session")
def flat3d():
    """The flat Li/PLL window extruded to 3D, meshed once for the whole session."""
    from ecmsim.core.fem import MPI
    from ecmsim.geometry import generators
    from ecmsim.mesh import MeshOptions, mesh_geometry

    return mesh_geometry(generators.flat(FLAT3D_W, FLAT3D_H_ELECTRODE, FLAT3D_H_ELECTROLYTE),
                         MeshOptions(size_m=5e-6, depth_m=FLAT3D_DEPTH), MPI.COMM_WORLD)



def chromium_or_skip() -> str:
    """Headless Chromium for the browser tests. Locally a missing browser skips them; in CI
    (``$CI`` set, as .ci/run does) it fails them: tools/ensure-chromium.sh installs it there,
    and a browser test that skips in CI guards nothing."""
    import shutil

    found = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("no chromium on PATH in CI: tools/ensure-chromium.sh could not install it")
    pytest.skip("no chromium on PATH (make test installs it in CI as root: tools/ensure-chromium.sh)")


def call_cli(capsys, *args) -> tuple[int, str, str]:
    """``ecmsim ARGS`` in this process (fast: no interpreter start, no re-import): (exit status,
    stdout, stderr)."""
    from ecmsim import cli

    try:
        status = cli.main([str(a) for a in args])
    except SystemExit as exit_:
        status = exit_.code
    out, err = capsys.readouterr()
    return status, out, err


# --- Running the suite on several cores (``make test``: pytest-xdist, ``-n auto --dist loadgroup``) ---
#
# Rules applied when xdist runs the suite (docs/benchmarks.md, "The test suite"):
# - a test that launches ``mpirun`` (it asks for the ``have_mpirun`` fixture) is marked ``mpi``; each
#   launch (through run_process / run_cli_mpi) runs alone: the other workers finish their current test
#   and wait (a readers-writer lock on a file shared by the workers), while the test's serial part runs
#   beside them. The ranks then have the cores to themselves, as in a serial run:
#   MPICH's ranks spin while they wait for each other, and beside another busy worker two ranks
#   on two cores ran 2-3.6 times longer and burnt that CPU;
# - a test that uses a module- or class-scoped fixture runs on the worker that holds the rest of
#   its module, so that fixture (a solved run that several tests read) is computed once;
# - every other test is a unit of its own; the units holding a ``slow`` or ``mpi`` test start first,
#   so that no long test starts last while the other worker idles.

def _launches_mpirun(item) -> bool:
    return "have_mpirun" in getattr(item, "fixturenames", ())


def _group(item) -> str | None:
    infos = getattr(item, "_fixtureinfo", None)
    defs = infos.name2fixturedefs.values() if infos else ()
    if any(d[-1].scope in ("module", "class") for d in defs if d):
        return item.nodeid.split("::")[0]
    return None


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _launches_mpirun(item) and item.get_closest_marker("mpi") is None:
            item.add_marker(pytest.mark.mpi)
    if not getattr(config.option, "loadgroup", False):   # set by xdist on its workers for --dist loadgroup
        return
    units: dict[str, list] = {}
    for item in items:
        group = _group(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
        units.setdefault(group or item.nodeid, []).append(item)
    long_first = sorted(units.values(), key=lambda unit: not any(
        i.get_closest_marker("slow") or i.get_closest_marker("mpi") for i in unit))   # stable: file order
    items[:] = [item for unit in long_first for item in unit]


_LOCK_FILES: list = []


def _run_locks(config):
    """(turnstile, shared) open files that every worker of this xdist run locks; None outside xdist."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None:
        return None
    if not _LOCK_FILES:   # the workers' temporary folders (.../popen-gwN) share this run's parent
        folder = Path(config.option.basetemp).parent
        _LOCK_FILES.extend(open(folder / f"ecmsim-tests-{name}.lock", "a") for name in ("turnstile", "shared"))
    return _LOCK_FILES


#: the (turnstile, shared) lock files while this worker runs a test holding ``shared`` shared; empty otherwise
_HOLDING: list = []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Every test holds the shared lock shared; an ``mpirun`` launch inside it (:func:`mpi_alone`, through
    :func:`run_process` / :func:`run_cli_mpi`) holds it alone for the launch only, so the serial part of an
    ``mpi`` test runs beside the other workers. The turnstile keeps a waiting launch from being starved by
    the other workers' stream of tests."""
    import fcntl

    locks = _run_locks(item.config)
    if locks is None:
        return (yield)
    turnstile, shared = locks
    fcntl.flock(turnstile, fcntl.LOCK_EX)
    try:
        fcntl.flock(shared, fcntl.LOCK_SH)
    finally:
        fcntl.flock(turnstile, fcntl.LOCK_UN)
    _HOLDING[:] = [locks]
    try:
        return (yield)
    finally:
        _HOLDING.clear()
        fcntl.flock(shared, fcntl.LOCK_UN)


@contextlib.contextmanager
def mpi_alone():
    """Inside a test under xdist: the other workers finish their current test and wait while the block
    runs (an mpirun launch: MPICH's ranks spin while they wait for each other, and beside a busy worker
    two ranks on two cores ran 2-3.6 times longer). Outside xdist: nothing."""
    import fcntl

    if not _HOLDING:
        yield
        return
    turnstile, shared = _HOLDING[0]
    fcntl.flock(shared, fcntl.LOCK_UN)
    fcntl.flock(turnstile, fcntl.LOCK_EX)      # no new reader gets in; the current ones finish their test
    try:
        fcntl.flock(shared, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(shared, fcntl.LOCK_SH)  # back to a reader before anyone else passes the turnstile
    finally:
        fcntl.flock(turnstile, fcntl.LOCK_UN)
