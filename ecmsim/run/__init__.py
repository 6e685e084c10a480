"""One run of a scenario: the stages built from it, driven by the one time loop.

- :mod:`~ecmsim.run.pipeline`: scenario -> list of stages -> time loop -> files.
- :mod:`~ecmsim.run.stages`: the stages (mesh, mechanics, electrochemistry, fibre, ...) behind one
  small interface.
- :mod:`~ecmsim.run.timeloop`: protocol steps, adaptive dt, accept/reject, history.
- :mod:`~ecmsim.run.checkpoint`: checkpoints and ``--resume``.

Called, ``ecmsim.run(scenario, set={...}, out=...)`` runs a scenario from Python and returns its
results (:func:`ecmsim.api.run`, docs/api.md): ``ecmsim/__init__.py`` makes this subpackage callable.
"""
