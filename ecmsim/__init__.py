"""ecmsim: electro-chemo-mechanical simulation of solid-state battery interfaces,
with a virtual fibre Bragg grating.

Stages (see docs/architecture.md): scenario -> geometry -> mesh -> mechanics ->
metrics -> virtual FBG -> report. Modules that need dolfinx import it through
:mod:`ecmsim.core.fem` only; importing :mod:`ecmsim` itself needs numpy alone.

From Python (docs/api.md)::

    import ecmsim
    r = ecmsim.run("scenarios/flat_bilayer.toml", set={"loading.stack_pressure_Pa": 3e6}, out="results/p3")
    r.metrics, r.fields, r.history, r.spectra, r.plot("stress")
    ecmsim.load("results/p3")
"""

import types as _types

from ecmsim.core.threads import limit_blas_threads as _limit_blas_threads

_limit_blas_threads()   # before numpy loads its BLAS: one thread per process (ecmsim/core/threads.py)

from ecmsim.core.version import __version__  # noqa: F401
from ecmsim import run as _run_room  # the pipeline's subpackage: its __init__ imports nothing heavy


class _CallableRoom(_types.ModuleType):
    """``ecmsim.run`` is the subpackage of the pipeline (``ecmsim.run.pipeline``...) and, called,
    :func:`ecmsim.api.run`: the attribute is the subpackage whenever it has been imported, so the
    subpackage itself takes the call."""

    def __call__(self, scenario, set=None, out=None, **kwargs):  # noqa: A002
        from ecmsim.api import run
        return run(scenario, set=set, out=out, **kwargs)


_run_room.__class__ = _CallableRoom


def __getattr__(name: str):
    """``ecmsim.load`` and ``ecmsim.Results`` on first use (they import pyvista and friends)."""
    if name in ("load", "Results"):
        from ecmsim import api
        return getattr(api, name)
    raise AttributeError(f"module 'ecmsim' has no attribute {name!r}")
