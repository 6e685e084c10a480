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
- ``write(run)``: the stage's files into ``run.folder``; returns their names.
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

    @property
    def title(self) -> str:
        """The plot title: the scenario's title and the ``--set`` overrides of this run."""
        from ecmsim.core.figures import run_title
        return run_title(self.scn.title, self.overrides)


class Stage:
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

    def on_step(self, run: Run, row: dict) -> None:
        pass

    def finish(self, run: Run) -> None:
        pass

    def write(self, run: Run) -> list[str]:
        return []

    def close(self) -> None:
        pass


__all__ = ["Run", "Stage"]
