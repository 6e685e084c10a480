"""Electrochemistry at the electrode/electrolyte interface.

- :mod:`ecmsim.electrochem.kinetics`: Butler–Volmer kinetics and the electrolyte's conductivity law.
- :mod:`ecmsim.electrochem.potential`: the electrolyte potential on an interface window with
  Butler–Volmer on the contacting interface (the current distribution), and its metrics.

The theory, sign conventions and parameter sources are in ``docs/electrochem.md``.
"""
