"""Progress on stdout from rank 0: timed lines ``[ecmsim   1.2 s] meshing ...`` and, on a
terminal, a live bar with the time left (tqdm).

stdout, so that stderr carries nothing but errors (one line each, see :mod:`ecmsim.cli`).

- ``-q`` (``quiet``): nothing at all.
- stdout a terminal: the stage lines, and for long loops (the time steps of a run, the runs of a
  sweep or study) one live bar with the elapsed and remaining time; the per-step lines that the
  bar replaces are not printed.
- stdout not a terminal (a log file, a pipe, a notebook cell, CI): the stage lines and the
  per-step lines (with their own "~N s left"), no bar: no carriage returns in logs.
"""

from __future__ import annotations

import sys
import time


def on_terminal(stream=None) -> bool:
    """True if ``stream`` (default stdout) is an interactive terminal."""
    stream = stream or sys.stdout
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _columns() -> int:
    import os
    try:
        return os.get_terminal_size(sys.stdout.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return 0


class Bar:
    """A live progress bar (tqdm) over ``total`` units, or nothing when not ``enabled``.

    ``update_to(n, **postfix)`` moves it to ``n`` (time simulated, runs finished...); ``write(line)``
    prints a line above it; ``close()`` leaves the finished bar on the screen."""

    def __init__(self, total: float, desc: str, unit: str, enabled: bool, bar_format: str | None = None):
        self._bar = None
        if enabled and total > 0:
            import shutil

            from tqdm import tqdm

            # a terminal that reports no size (0 columns, e.g. a bare pseudo-terminal) gets 80
            sized = shutil.get_terminal_size().columns == _columns()
            self._bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stdout, dynamic_ncols=sized,
                             ncols=None if sized else shutil.get_terminal_size().columns,
                             nrows=None if sized else 24, leave=True,
                             bar_format=bar_format, smoothing=0.1, mininterval=0.2)

    @property
    def live(self) -> bool:
        return self._bar is not None

    def update_to(self, n: float, **postfix) -> None:
        if self._bar is None:
            return
        self._bar.n = min(n, self._bar.total)
        if postfix:
            self._bar.set_postfix_str(", ".join(f"{k} {v}" for k, v in postfix.items()), refresh=False)
        self._bar.refresh()

    def write(self, line: str) -> None:
        if self._bar is None:
            print(line, file=sys.stdout, flush=True)
        else:
            self._bar.write(line, file=sys.stdout)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Bar:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Progress:
    """Prints timed progress lines on rank 0 unless quiet; keeps the time of each stage; opens the
    live bar of a long loop (:meth:`bar`) when stdout is a terminal."""

    def __init__(self, quiet: bool = False, rank: int = 0, live: bool | None = None):
        self.quiet = quiet or rank != 0
        self.live = (not self.quiet) and (on_terminal() if live is None else live)
        self.start = time.perf_counter()
        self.last = self.start
        self.timings_s: dict[str, float] = {}
        self._bar: Bar | None = None

    def __call__(self, message: str) -> None:
        if self.quiet:
            return
        line = f"[ecmsim {time.perf_counter() - self.start:6.1f} s] {message}"
        if self._bar is not None and self._bar.live:
            self._bar.write(line)
        else:
            print(line, file=sys.stdout, flush=True)

    def detail(self, message: str) -> None:
        """A line the live bar stands for (one per time step): printed only without a bar."""
        if self._bar is None or not self._bar.live:
            self(message)

    def bar(self, total: float, desc: str, unit: str = "s", bar_format: str | None = None) -> Bar:
        """The live bar of a loop over ``total`` units (a context manager; nothing when not live)."""
        self._bar = Bar(total, desc, unit, self.live, bar_format)
        return self._bar

    def done(self, stage: str) -> float:
        """Record the time since the previous ``done`` under ``stage`` [s]."""
        now = time.perf_counter()
        self.timings_s[stage] = now - self.last
        self.last = now
        return self.timings_s[stage]

    @property
    def elapsed_s(self) -> float:
        return time.perf_counter() - self.start


#: The time loop's bar: simulated time done and in total, wall time elapsed and left.
SIMULATED_TIME_BAR = ("{desc} {percentage:3.0f}%|{bar}| t {n:.4g}/{total:.4g} s "
                      "[{elapsed} elapsed, {remaining} left{postfix}]")
#: The bar of a sweep or study: runs finished, wall time elapsed and left.
RUNS_BAR = "{desc}: {n_fmt}/{total_fmt} run(s) |{bar}| [{elapsed} elapsed, {remaining} left{postfix}]"
