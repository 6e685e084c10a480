"""The suite's own scheduling rule (tests/conftest.py): an ``mpirun`` launch inside a test runs alone.

Three processes play two xdist workers on the run's lock files: a reader (any test, holding the
shared lock), a test whose launch enters :func:`conftest.mpi_alone`, and a second reader that starts
while the launch waits. The launch must wait for the first reader's test to end, and the second
reader must wait for the launch to end (the turnstile: a stream of tests cannot starve a launch).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

SCRIPT = r"""
import fcntl, sys, time
from pathlib import Path
folder, role, hold = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
turnstile, shared = (open(folder / f"ecmsim-tests-{n}.lock", "a") for n in ("turnstile", "shared"))
log = folder / "log"

def say(word):
    with open(log, "a") as f:
        f.write(f"{role} {word}\n")

# what the hook does at the start of every test
fcntl.flock(turnstile, fcntl.LOCK_EX)
fcntl.flock(shared, fcntl.LOCK_SH)
fcntl.flock(turnstile, fcntl.LOCK_UN)
if role == "launch":
    sys.path.insert(0, sys.argv[4])
    import conftest
    conftest._HOLDING[:] = [(turnstile, shared)]
    say("waiting")
    with conftest.mpi_alone():
        say("start")
        time.sleep(hold)
        say("end")
else:
    say("start")
    time.sleep(hold)
    say("end")
fcntl.flock(shared, fcntl.LOCK_UN)
"""


def _wait_for(log: Path, line: str, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if log.exists() and line in log.read_text().splitlines():
            return
        time.sleep(0.02)
    raise AssertionError(f"{line!r} never logged: {log.read_text() if log.exists() else ''}")


def test_an_mpirun_launch_waits_for_running_tests_and_holds_new_ones_off(tmp_path):
    script = tmp_path / "player.py"
    script.write_text(SCRIPT)
    log = tmp_path / "log"

    def start(role: str, hold: float):
        return subprocess.Popen([sys.executable, str(script), str(tmp_path), role, str(hold), str(HERE)])

    first = start("first", 1.5)
    _wait_for(log, "first start")
    launch = start("launch", 1.0)
    _wait_for(log, "launch waiting")
    time.sleep(0.3)                       # the launch now holds the turnstile, waiting for the first test
    second = start("second", 0.1)
    for p in (first, launch, second):
        assert p.wait(timeout=120) == 0
    order = log.read_text().split("\n")[:-1]
    assert order == ["first start", "launch waiting", "first end", "launch start", "launch end",
                     "second start", "second end"], order
