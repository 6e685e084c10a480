"""The one interface of a stage, and the run it belongs to.

A stage is set up once, takes part in every time step, and writes its files:

- ``setup(run)``: build what the stage needs (mesh, forms, problems); reads what earlier stages put
  on the :class:`Run` and puts its own products there (``run.tmesh``, ``run.mechanics``...).
- the time-loop verbs of :class:`~ecmsim.run.timeloop.TimeProblem`: ``advance(t, dt, step)``,
  ``error_indicator()``, ``accept()``, ``reject()``, ``metrics()``; a stage without time
  dependence keeps the defaults (nothing to do, no error). :attr:`Stage.loop_order` orders the
  stages within a step (a stage that loads another advances first, staggered coupling).
- ``on_step(run, row)`` after every accepted step (field snapshots, interface histories).
- ``finish(run)`` after the last step: the metrics of the final state into ``run.metrics``.
- ``write(run)``: the stage's files into ``run.folder``; returns their names. The collective part
  (gathers, parallel writers) is done here; file work that one rank does alone can be queued with
  :meth:`Run.write_alone` and runs after every stage has written, so that the ranks write
  different files at the same time instead of waiting for rank 0 in turn.
- ``close()``: collective PETSc teardown.

Stages that keep state worth resuming offer ``checkpoint_state()`` / ``restore_state()`` and set
:attr:`Stage.checkpointed` (see :mod:`ecmsim.run.checkpoint`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Run:
    """One run of a scenario: its inputs, its staging folder, and what the stages hand each other.

    Attributes set by the stages (None until then): ``geometry`` (window facts: ``width_m``,
    ``description``), ``tmesh`` (TaggedMesh), ``materials`` (region -> Material), ``mechanics``
    (the mechanics problem), ``solution`` (its final ElasticSolution), ``profile`` (the interface
    profile), ``contact`` (the interface's ContactProfile), ``history`` (accepted time steps).
    """

    scn: Any
    source: Path
    folder: Path
    comm: Any
    progress: Any
    overrides: list[str] | None = None
    out_dir: Path | None = None
    protocol: Any = None
    geometry: Any = None
    tmesh: Any = None
    materials: dict | None = None
    mechanics: Any = None
    solution: Any = None
    profile: Any = None
    contact: Any = None
    history: list[dict] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    #: extra top-level keys of summary.json (``mesh``, ``solver``, ``states``, ``fbg`` ...)
    summary: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    #: (rank, work, stage, said) queued by :meth:`write_alone`
    alone: list = field(default_factory=list)

    def write_alone(self, rank: int, work, stage: str, said: str) -> None:
        """Queue file work that only ``rank`` does (``rank`` modulo the number of ranks: -1 is the
        last rank of a parallel run, rank 0 of a serial one): ``work()`` returns the names of the
        files it wrote. Run by :meth:`run_alone` after every stage's collective writing; its time is
        ``stage``'s in summary.json's timings_s and in the progress line ``said (1.2 s)``."""
        self.alone.append((rank % self.comm.size, work, stage, said))

    def discard_alone(self) -> None:
        """Drop the queued work that was not run (a run that failed): each ``work.discard()``, if it has one."""
        for _, work, _, _ in self.alone:
            getattr(work, "discard", lambda: None)()
        self.alone.clear()

    def run_alone(self) -> list[str]:
        """Every rank does its queued work (:meth:`write_alone`), then all hear of the others: the
        names of the files written (on rank 0; in queue order per rank, rank 0 first) and the times,
        or the failure of any rank, raised on every rank (no rank waits for one that has stopped)."""
        import time

        from ecmsim.core.errors import EcmsimError

        names, times, failure, info = [], [], None, None
        try:
            for rank, work, stage, said in self.alone:
                if rank == self.comm.rank:
                    start = time.perf_counter()
                    names += work()
                    times.append((stage, said, time.perf_counter() - start))
        except Exception as err:  # noqa: BLE001 - re-raised below, after every rank has heard of it
            failure, info = err, (isinstance(err, EcmsimError), " ".join(str(err).split()) or type(err).__name__)
        finally:
            self.alone.clear()
        parts = self.comm.allgather((names, times, info)) if self.comm.size > 1 else [(names, times, info)]
        if failure is not None:
            raise failure
        for rank, (_, _, other) in enumerate(parts):
            if other is not None:
                if other[0]:
                    raise EcmsimError(f"MPI rank {rank}: {other[1]}")
                raise RuntimeError(f"MPI rank {rank} failed writing its files: {other[1]}")
        for _, done, _ in parts:
            for stage, said, seconds in done:
                self.progress.timings_s[stage] = self.progress.timings_s.get(stage, 0.0) + seconds
                self.progress(f"{said} ({seconds:.1f} s)")
        self.progress.last = time.perf_counter()
        return [name for part, _, _ in parts for name in part] if self.comm.rank == 0 else []

    @property
    def title(self) -> str:
        """The plot title: the scenario's title and the ``--set`` overrides of this run."""
        from ecmsim.core.figures import run_title
        return run_title(self.scn.title, self.overrides)


class StepVerbs:
    """The time loop's verbs (:class:`ecmsim.run.timeloop.TimeProblem`) for something without time-dependent
    state: a step solves nothing, has no error and nothing to accept, reject or report."""

    def advance(self, t_s: float, dt_s: float, step) -> int:
        return 0

    def error_indicator(self) -> float:
        return 0.0

    def accept(self) -> None:
        pass

    def reject(self) -> None:
        pass

    def metrics(self) -> dict[str, float]:
        return {}


class Stage(StepVerbs):
    """A stage of a run (module docstring); every method has a do-nothing default."""

    #: name in progress lines, checkpoints and the loop order
    name = "stage"
    #: position within a time step (lower first)
    loop_order = 1
    #: has ``checkpoint_state`` / ``restore_state`` (a run is resumable if all such stages are)
    checkpointed = False
    #: holds time-dependent state that checkpoints must carry (a stage without it needs none)
    stateful = False

    def setup(self, run: Run) -> None:
        pass

    def on_step(self, run: Run, row: dict) -> None:
        pass

    def finish(self, run: Run) -> None:
        pass

    def write(self, run: Run) -> list[str]:
        return []

    def close(self) -> None:
        pass


class ProblemStage(Stage):
    """A stage whose time-loop verbs and checkpoint state are those of its ``problem`` (set in ``setup``)."""

    problem = None

    def advance(self, t_s: float, dt_s: float, step) -> int:
        return self.problem.advance(t_s, dt_s, step)

    def error_indicator(self) -> float:
        return self.problem.error_indicator()

    def accept(self) -> None:
        self.problem.accept()

    def reject(self) -> None:
        self.problem.reject()

    def metrics(self) -> dict[str, float]:
        return self.problem.metrics()

    def checkpoint_state(self):
        return self.problem.checkpoint_state()

    def restore_state(self, state) -> None:
        self.problem.restore_state(state)


__all__ = ["ProblemStage", "Run", "Stage", "StepVerbs"]
