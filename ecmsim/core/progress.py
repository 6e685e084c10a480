"""Progress lines on stdout from rank 0: ``[ecmsim   1.2 s] meshing ...``.

stdout, so that stderr carries nothing but errors (one line each, see :mod:`ecmsim.cli`)."""

from __future__ import annotations

import sys
import time


class Progress:
    """Prints timed progress lines on rank 0 unless quiet; keeps the time of each stage."""

    def __init__(self, quiet: bool = False, rank: int = 0):
        self.quiet = quiet or rank != 0
        self.start = time.perf_counter()
        self.last = self.start
        self.timings_s: dict[str, float] = {}

    def __call__(self, message: str) -> None:
        if not self.quiet:
            print(f"[ecmsim {time.perf_counter() - self.start:6.1f} s] {message}", file=sys.stdout, flush=True)

    def done(self, stage: str) -> float:
        """Record the time since the previous ``done`` under ``stage`` [s]."""
        now = time.perf_counter()
        self.timings_s[stage] = now - self.last
        self.last = now
        return self.timings_s[stage]

    @property
    def elapsed_s(self) -> float:
        return time.perf_counter() - self.start
