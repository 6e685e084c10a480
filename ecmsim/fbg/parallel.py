"""Process parallelism for numpy kernels made of many short calls: fork, compute, pipe back.

Threads do not speed up :func:`ecmsim.fbg.tmm.transfer_matrix`: it makes ~30 numpy calls of a
few microseconds per section, and two threads spend the gain handing the GIL to each other
(measured on 2 cores: no speed-up), while two forked processes each run at full speed.

:func:`map_in_processes` runs the first item here and the others in forked children, each of
which sends its pickled result through a pipe and leaves with ``os._exit``. Everything runs
here instead where ``fork`` is missing, under MPI (the ranks already share the cores, and
forking an initialised MPI process is unsafe), and for a child that fails or takes far longer
than this process took for its own item (then it is killed): a result never depends on them.

Forking a process that has other threads is unsafe if the child needs a lock one of them
holds. numpy's OpenBLAS keeps idle worker threads; the children here call only elementwise
numpy functions and pickle, never BLAS, so Python's warning about it is silenced for this call.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

#: A child may take this many times this process's own time (plus a minute) before it is
#: presumed stuck, killed, and its item computed here.
PATIENCE_FACTOR = 10.0
PATIENCE_EXTRA_S = 60.0


def map_in_processes(fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
    """``[fn(item) for item in items]``, the items after the first in forked children."""
    if len(items) < 2 or not hasattr(os, "fork") or _under_mpi():
        return [fn(item) for item in items]
    children: list[tuple[int, int]] = []
    try:
        for item in items[1:]:
            children.append(_fork(fn, item))
        start = time.monotonic()
        results = [fn(items[0])]
        deadline = time.monotonic() + PATIENCE_FACTOR * (time.monotonic() - start) + PATIENCE_EXTRA_S
        for item, (pid, read_end) in zip(items[1:], children):
            data = _read_until(read_end, deadline)
            if data is None:
                os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            results.append(pickle.loads(data) if data and status == 0 else fn(item))
        children = []
        return results
    finally:
        for pid, read_end in children:                      # interrupted: leave no orphans
            for cleanup in (lambda: os.kill(pid, signal.SIGKILL), lambda: os.waitpid(pid, 0)):
                try:
                    cleanup()
                except OSError:
                    pass


def _under_mpi() -> bool:
    """True when MPI is loaded here or an MPI launcher started this process (its ranks already
    share the cores, and forking an initialised MPI process is unsafe)."""
    if "mpi4py" in sys.modules:
        return True
    return any(var in os.environ for var in ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK"))


def _fork(fn: Callable[[Any], Any], item: Any) -> tuple[int, int]:
    """Start a child computing fn(item); returns (pid, read end of its pipe)."""
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*multi-threaded, use of fork\(\)", category=DeprecationWarning)
        pid = os.fork()
    if pid == 0:                                            # child: compute, send, leave
        status = 1
        try:
            os.close(read_end)
            with os.fdopen(write_end, "wb") as pipe:
                pickle.dump(fn(item), pipe, protocol=pickle.HIGHEST_PROTOCOL)
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    return pid, read_end


def _read_until(fd: int, deadline: float) -> bytes | None:
    """Everything from ``fd`` up to end of file, or None at the deadline; closes ``fd``."""
    chunks = []
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            data = os.read(fd, 1 << 20)
            if not data:
                return b"".join(chunks)
            chunks.append(data)
    finally:
        os.close(fd)
