"""Ctrl-C and SIGTERM: every command ends with ``ecmsim: interrupted`` and nothing half-written.

:func:`handle_signals` (installed by the command line for the length of one command) turns
SIGINT and SIGTERM into :class:`Interrupted` (a ``KeyboardInterrupt``), raised in the main thread;
the result-folder code removes its staging folder on the way out, a time loop checkpoints its last
accepted step, and the command line prints ``ecmsim: interrupted`` and exits with 128 + the
signal number (130 for Ctrl-C, 143 for SIGTERM; docs/outputs.md). :data:`state` remembers that a
signal came, so an error that an interrupt caused on its way through compiled code (PETSc turns
a ``KeyboardInterrupt`` inside its callbacks into an error code, a Newton solve then "fails") is
reported as the interrupt it is: :func:`check` raises it again.

Python runs signal handlers only between bytecodes of the main thread, so a gmsh ``generate`` or
a factorisation that runs for minutes would hold Ctrl-C until it returns. Inside
:func:`hard_interrupt` a watcher thread (woken through :func:`signal.set_wakeup_fd`, which the
interpreter writes to as soon as the signal arrives) runs the registered clean-ups
(:func:`on_hard_exit`: the staging folders), prints the line and ends the process at once with
the same status.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived; ``signum`` says which (the exit status is 128 + signum)."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)

    @property
    def exit_status(self) -> int:
        return 128 + self.signum


class _State:
    signum: int | None = None       # the signal that came (None: none)
    hard = False                    # inside hard_interrupt
    deferred = 0                    # depth of :func:`deferred` blocks: a signal is remembered, raised at their end
    pending = False                 # a signal came inside a deferred block
    cleanups: dict[int, Callable[[], object]] = {}
    lock = threading.Lock()
    pipe: tuple[int, int] | None = None


state = _State()
SIGNALS = (signal.SIGINT, signal.SIGTERM)


def raise_interrupt(signum: int = signal.SIGINT) -> None:
    """Remember ``signum`` and raise :class:`Interrupted` (for a handler of one's own, the sweep's)."""
    state.signum = int(signum)
    raise Interrupted(signum)


def _raise(signum, frame) -> None:
    if state.deferred:
        state.signum, state.pending = int(signum), True
        return
    raise_interrupt(signum)


@contextmanager
def deferred() -> Iterator[None]:
    """A block that a signal does not cut in two (committing a time step and writing its history row):
    SIGINT/SIGTERM inside it is remembered and raised as :class:`Interrupted` when the block ends."""
    state.deferred += 1
    try:
        yield
    finally:
        state.deferred -= 1
    if not state.deferred and state.pending:
        state.pending = False
        raise Interrupted(state.signum)


@contextmanager
def handle_signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise :class:`Interrupted` inside the block (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    state.signum, state.pending = None, False
    previous = {s: signal.signal(s, _raise) for s in SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def reclaim() -> None:
    """Put the handlers back at the C level after a library replaced them (PETSc does for SIGTERM
    when it is imported); a no-op outside :func:`handle_signals`."""
    if threading.current_thread() is not threading.main_thread():
        return
    for s in SIGNALS:
        if signal.getsignal(s) is _raise:
            signal.signal(s, _raise)


def check() -> None:
    """Raise :class:`Interrupted` again if a signal came (an error on its way out was its doing)."""
    if state.signum is not None:
        raise Interrupted(state.signum)


def interrupted_status() -> int | None:
    """128 + the signal that came, or None."""
    return None if state.signum is None else 128 + state.signum


@contextmanager
def on_hard_exit(cleanup: Callable[[], object]) -> Iterator[None]:
    """Run ``cleanup`` if a signal ends the process inside :func:`hard_interrupt` in the block."""
    key = id(cleanup)
    state.cleanups[key] = cleanup
    try:
        yield
    finally:
        state.cleanups.pop(key, None)


@contextmanager
def hard_interrupt() -> Iterator[None]:
    """A signal ends the process at once inside the block (see the module docstring); only while
    :func:`handle_signals` is in force in the main thread, else a no-op."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is not _raise:
        yield
        return
    _start_watcher()
    previous_fd = signal.set_wakeup_fd(state.pipe[1], warn_on_full_buffer=False)
    with state.lock:
        state.hard = True
    try:
        yield
    finally:
        with state.lock:   # the watcher either exited the process already, or will not
            state.hard = False
        signal.set_wakeup_fd(previous_fd)


def _start_watcher() -> None:
    if state.pipe is not None:
        return
    read, write = os.pipe()
    os.set_blocking(write, False)
    state.pipe = (read, write)
    threading.Thread(target=_watch, args=(read,), name="ecmsim-interrupt", daemon=True).start()


def _watch(read: int) -> None:
    while True:
        data = os.read(read, 64)
        signums = [b for b in data if b in SIGNALS]
        if not signums:
            continue
        with state.lock:
            if not state.hard:
                continue  # the main thread is back in Python: its handler raises Interrupted
            for cleanup in list(state.cleanups.values()):
                try:
                    cleanup()
                except Exception:  # noqa: BLE001 - ending anyway; the rest must still run
                    pass
            if _rank() == 0:
                print("ecmsim: interrupted", file=sys.stderr, flush=True)
            os._exit(128 + signums[0])


#: Set by ``ecmsim sweep`` and ``ecmsim study`` for their runs: the parent's process id.
PARENT_ENV = "ECMSIM_DIE_WITH_PARENT"


def die_with_parent() -> None:
    """A run started by a sweep gets SIGTERM when the sweep dies, even by SIGKILL (Linux
    ``PR_SET_PDEATHSIG``), so no point runs on, reparented, after its sweep is gone."""
    parent = os.environ.get(PARENT_ENV, "")
    if not parent.isdigit() or not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)   # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        return
    if os.getppid() != int(parent):   # the sweep died before prctl: follow it now
        os.kill(os.getpid(), signal.SIGTERM)


def _rank() -> int:
    mpi = sys.modules.get("mpi4py.MPI")
    if mpi is not None and mpi.Is_initialized():
        return mpi.COMM_WORLD.rank
    for var in ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    return 0
