"""Checkpoints of time-dependent runs and ``ecmsim run ... --resume``.

A run with a ``[protocol]`` writing into ``OUT`` keeps its checkpoints in the sibling folder
``OUT.checkpoint/`` (never inside the result: the result folder is staged and appears only when
complete, docs/outputs.md). A checkpoint is written after an accepted time step at most every
``protocol.checkpoint_interval_s`` seconds of wall time, and at the end of every protocol step:

- every rank writes its own state (``rank<r>.npz``: the mechanics' quadrature states, displacement
  and predictor; the plated thickness and dead Li of the cycling problem) and rank 0 the loop state
  (``loop.json``: time, protocol step index, its end time, the next dt, the history rows; and the
  interface profile rows) into ``step-<n>.tmp/``;
- after a barrier rank 0 renames that folder to ``step-<n>/`` (one atomic rename: a checkpoint
  folder without ``.tmp`` is always complete) and removes the older ones.

``--resume`` picks the newest ``step-<n>/``, checks that it belongs to the same scenario (input
hash) and the same number of MPI ranks (the quadrature states are per rank), restores the
problems and continues the time loop from the next time step. The resumed run writes the whole
result (history.csv from t = 0, since the rows are in the checkpoint); the field series
(``fields/series.pvd``) starts at the resumed time. The checkpoint folder is removed when the run
has finished and its result folder is in place.

Test hook: ``ECMSIM_TEST_KILL_AFTER_CHECKPOINT=<n>`` makes the process SIGKILL itself right after
writing checkpoint step ``n`` (a real, uncatchable kill at a reproducible point).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import time
import zipfile
from pathlib import Path

import numpy as np

from ecmsim.core.errors import EcmsimError


class ResumeError(EcmsimError):
    """No usable checkpoint for ``--resume`` (exit status 2)."""


def checkpoint_folder(out_dir: Path) -> Path:
    return Path(out_dir).with_name(Path(out_dir).name + ".checkpoint")


def _complete(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.is_dir() and re.fullmatch(r"step-\d+", p.name)]
    return sorted(found, key=lambda p: int(p.name.split("-")[1]))


class Checkpointer:
    """Writes checkpoints of ``problems`` (each with ``checkpoint_state()``/``restore_state()``)."""

    def __init__(self, out_dir: Path, comm, problems: dict, input_hash: str, interval_s: float,
                 extra_rows: list | None = None, protocol_end_s: float = math.inf):
        self.folder = checkpoint_folder(out_dir)
        self.comm = comm
        self.problems = problems
        self.input_hash = input_hash
        self.interval_s = interval_s
        self.extra_rows = extra_rows if extra_rows is not None else []
        self.protocol_end_s = protocol_end_s
        self._last_wall = time.monotonic()
        self._last_n = None     # the history index of the newest checkpoint written
        self._kill_at = int(os.environ.get("ECMSIM_TEST_KILL_AFTER_CHECKPOINT", "-1"))

    def start_fresh(self) -> None:
        """Remove the checkpoints of an earlier run into the same folder (a run without --resume)."""
        if self.comm.rank == 0 and self.folder.exists():
            shutil.rmtree(self.folder, ignore_errors=True)
        self.comm.barrier()

    def __call__(self, loop) -> None:
        step_done = loop.t_s >= loop.step_end_s - 1e-9 * max(loop.step_end_s, 1.0)
        due = time.monotonic() - self._last_wall >= self.interval_s
        flag = self.comm.bcast(bool(due or step_done), root=0)     # the same decision on every rank
        if flag:
            self.write(loop)

    def save_last(self, loop) -> None:
        """Checkpoint the last accepted step unless it is already (an interrupted serial run: the
        committed states of the problems are the accepted step's, whatever the step under way did)."""
        if loop.history and self._last_n != len(loop.history) - 1 and len(loop.history) > 1:
            self.write(loop)

    def write(self, loop) -> None:
        comm = self.comm
        n = len(loop.history) - 1
        tmp = self.folder / f"step-{n}.tmp"
        if comm.rank == 0:
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
        comm.barrier()
        arrays = {f"{name}.{key}": value for name, p in self.problems.items()
                  for key, value in p.checkpoint_state().items()}
        np.savez(tmp / f"rank{comm.rank}.npz", **arrays)
        if comm.rank == 0:
            meta = {"input_hash": self.input_hash, "mpi_ranks": comm.size, "t_s": loop.t_s,
                    "step_index": loop.step_index, "step_end_s": loop.step_end_s, "next_dt_s": loop.next_dt_s,
                    **loop.control_state(),
                    # the counts as of the last accepted step (a step under way is done again on resume)
                    "rejected_steps": loop.history[-1].get("rejected_steps", loop._rejected),
                    "steps_above_tolerance": loop.history[-1].get("steps_above_tolerance", loop._inaccurate),
                    "history": loop.history}
            (tmp / "loop.json").write_text(json.dumps(meta))
            np.save(tmp / "rows.npy", np.concatenate(self.extra_rows) if self.extra_rows else np.zeros((0, 0)))
        comm.barrier()
        if comm.rank == 0:
            final = self.folder / f"step-{n}"
            os.replace(tmp, final)
            for old in _complete(self.folder):
                if old != final:
                    shutil.rmtree(old, ignore_errors=True)
        comm.barrier()
        self._last_wall = time.monotonic()
        self._last_n = n
        if n == self._kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    def load(self) -> dict:
        """Restore the problems from the newest checkpoint; returns the loop state for TimeLoop.run."""
        comm = self.comm
        found = _complete(self.folder)
        if not found:
            raise ResumeError(f"--resume: no checkpoint in {self.folder} (run without --resume to start from t = 0)")
        latest = found[-1]
        meta = self._read_meta(latest)
        if meta["input_hash"] != self.input_hash:
            raise ResumeError(f"--resume: the checkpoint in {latest} belongs to another scenario or other --set "
                              f"values (input hash differs); run without --resume")
        if meta["mpi_ranks"] != comm.size:
            raise ResumeError(f"--resume: the checkpoint in {latest} was written by {meta['mpi_ranks']} MPI rank(s); "
                              f"resume with the same number (now {comm.size})")
        try:
            data = np.load(latest / f"rank{comm.rank}.npz")
            for name, p in self.problems.items():
                p.restore_state({key.split(".", 1)[1]: data[key] for key in data.files if key.startswith(name + ".")})
            rows = np.load(latest / "rows.npy")
        except (OSError, ValueError, EOFError, KeyError, IndexError, zipfile.BadZipFile) as err:
            raise ResumeError(f"--resume: the checkpoint in {latest} is damaged ({type(err).__name__}: {err}); "
                              "delete it, or run without --resume") from None
        self.extra_rows[:] = [rows] if rows.size else []
        self._last_n = len(meta["history"]) - 1
        return meta

    def _read_meta(self, latest: Path) -> dict:
        """``loop.json`` of a checkpoint, checked: ResumeError (one line) if it cannot be continued."""
        def damaged(why: str) -> ResumeError:
            return ResumeError(f"--resume: the checkpoint in {latest} is damaged ({why}); delete it, or run "
                               "without --resume")

        try:
            meta = json.loads((latest / "loop.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise damaged(f"loop.json: {err}") from None
        if not isinstance(meta, dict):
            raise damaged("loop.json is not an object")
        numbers = ("t_s", "step_end_s", "next_dt_s")
        counts = ("step_index", "mpi_ranks", "rejected_steps", "steps_above_tolerance")
        if any(not isinstance(meta.get(k), (int, float)) or isinstance(meta.get(k), bool) for k in numbers + counts) \
                or not isinstance(meta.get("history"), list) or not isinstance(meta.get("input_hash"), str):
            raise damaged("loop.json lacks a field or has one of the wrong type")
        t, end = float(meta["t_s"]), float(meta["step_end_s"])
        if not all(math.isfinite(float(meta[k])) for k in numbers) or meta["next_dt_s"] <= 0:
            raise damaged(f"time t = {meta['t_s']}, step end {meta['step_end_s']}, next dt {meta['next_dt_s']}")
        limit = self.protocol_end_s * (1 + 1e-9) + 1e-9
        if not 0 <= t <= end <= limit:
            raise damaged(f"time t = {t:g} s, step end {end:g} s: outside the protocol's 0 ... "
                          f"{self.protocol_end_s:g} s")
        return meta

    def finish(self) -> None:
        """Remove the checkpoint folder (the result is in place)."""
        if self.comm.rank == 0:
            shutil.rmtree(self.folder, ignore_errors=True)


__all__ = ["Checkpointer", "ResumeError", "checkpoint_folder"]
