"""Ctrl-C inside long compiled calls (gmsh, the direct solver).

Python runs its SIGINT handler (``KeyboardInterrupt``) only between bytecodes of the main
thread, so a gmsh ``generate`` or a factorisation that runs for minutes ignores Ctrl-C until it
returns. Inside :func:`hard_interrupt` SIGINT has its default action instead: the process ends
at once (status 130 in the shell, as for any program stopped by Ctrl-C). Nothing is lost by
this: results are written into a staging folder that becomes the result folder only when a run
has finished, so an interrupted run never leaves a half-written result behind.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def hard_interrupt() -> Iterator[None]:
    """SIGINT ends the process immediately inside the block (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is not signal.default_int_handler:  # someone else (a test runner, an app) owns SIGINT
        yield
        return
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
