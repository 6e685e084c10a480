"""The stages of a run, each behind the one interface of :mod:`ecmsim.run.stages.base`.

:func:`build_stages` reads the scenario and lists its stages in the order of the flow:

- an interface window: geometry and mesh (:mod:`~ecmsim.run.stages.window`) -> mechanics
  (:mod:`~ecmsim.run.stages.mechanics`) -> plating/stripping cycles or the current distribution
  (:mod:`~ecmsim.run.stages.electrochem`) -> the fibre read-out through the cycles
  (:mod:`~ecmsim.run.stages.fibre`);
- the fibre in the cell (``kind = "fbg_cell"``): the fibre's embedding in time, read by the
  virtual FBG at every step; or, with a given embedded state, the elastic cell cross-section ->
  the virtual FBG (:mod:`~ecmsim.run.stages.fibre`).

The pipeline (:mod:`ecmsim.run.pipeline`) sets them up in this order, runs the time loop over all
of them (ordered within a step by :attr:`~ecmsim.run.stages.base.Stage.loop_order`), finishes them
in order and lets each write its files. A new physics stage is a class here plus one line below.
"""

from __future__ import annotations

from ecmsim.run.stages.base import Run, Stage


def build_stages(scn) -> list[Stage]:
    """The stages of a validated scenario, in the order of the flow."""
    if scn.geometry.kind == "fbg_cell":
        from ecmsim.run.stages.fibre import EmbeddingStage, FbgStage, FibreCellStage
        if scn.geometry.embedding == "process":
            return [EmbeddingStage()]          # the embedding in time, read by the FBG at every step
        cell = FibreCellStage()
        return [cell, FbgStage(cell)]
    from ecmsim.run.stages.mechanics import MechanicsStage
    from ecmsim.run.stages.window import WindowMeshStage

    stages: list[Stage] = [WindowMeshStage(), MechanicsStage()]
    if scn.protocol is not None and scn.protocol.has_current_steps():
        from ecmsim.run.stages.electrochem import CyclingStage
        cycling = CyclingStage()
        stages.append(cycling)
        if scn.fibre_readout is not None:
            from ecmsim.run.stages.fibre import ReadoutStage
            stages.append(ReadoutStage(cycling))
    elif scn.electrochem is not None:
        from ecmsim.run.stages.electrochem import CurrentStage
        stages.append(CurrentStage())
    return stages


__all__ = ["Run", "Stage", "build_stages"]
