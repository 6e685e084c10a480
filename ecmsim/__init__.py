"""ecmsim: electro-chemo-mechanical simulation of solid-state battery interfaces,
with a virtual fibre Bragg grating.

Stages (see docs/architecture.md): scenario -> geometry -> mesh -> mechanics ->
metrics -> virtual FBG -> report. Modules that need dolfinx import it through
:mod:`ecmsim.core.fem` only; importing :mod:`ecmsim` itself needs numpy alone.
"""

from ecmsim.core.version import __version__  # noqa: F401
