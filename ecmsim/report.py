"""Results on disk: summary.json, fields (VTU/PVD and VTX), tables.

Where they go, and when an existing folder may be replaced, is :mod:`ecmsim.outputs`
(a staging folder per run, a manifest of ecmsim's own files, atomic replacement).
Only rank 0 writes JSON, CSV and PNG; field writers are collective.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

import ecmsim

SUMMARY = "summary.json"


def write_summary(path: Path, summary: dict[str, Any]) -> None:
    """JSON with non-finite numbers written as null (JSON has no NaN)."""
    path.write_text(json.dumps(_finite(summary), indent=2, sort_keys=False) + "\n")


def _finite(obj):
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def provenance() -> dict[str, Any]:
    """ecmsim and stack versions, time, MPI size."""
    from ecmsim.fem import MPI, versions

    return {"ecmsim": ecmsim.__version__, **versions(), "mpi_ranks": MPI.COMM_WORLD.size,
            "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")}


def write_fields(folder: Path, solution, tmesh) -> list[str]:
    """Fields for ParaView, pyvista and meshio (see :mod:`ecmsim.vtu` and docs/results.md).

    - ``fields.vtu`` / ``fields.pvd``: mesh (quadratic triangles), displacement [m] at the nodes,
      region ids, cell stress and von Mises [Pa]; ``boundaries.vtu``: tagged facets as lines.
      Plain VTK XML: no extra package needed to open them.
    - ``displacement.bp``, ``stress.bp``: VTX (ADIOS2) at the solve's full degree: u [m] and the
      discontinuous stress (xx, yy, zz, xy) and von Mises [Pa] of degree - 1. ParaView opens them
      with its "ADIOS2VTXReader"; pyvista and meshio cannot.
    """
    from ecmsim.fem import dolfinx, fem
    from ecmsim.vtu import write_vtu

    comm = tmesh.comm
    folder.mkdir(exist_ok=True) if comm.rank == 0 else None
    comm.barrier()
    files = write_vtu(folder, solution, tmesh)
    with dolfinx.io.VTXWriter(comm, folder / "displacement.bp", [solution.u], engine="BP4") as w:
        w.write(0.0)
    S = solution.stress.function_space
    Q = fem.functionspace(tmesh.mesh, ("Discontinuous Lagrange", S.element.basix_element.degree))
    vm = fem.Function(Q, name="von_mises_Pa")
    vm.x.array[:] = solution.von_mises_values(owned_only=False)
    with dolfinx.io.VTXWriter(comm, folder / "stress.bp", [solution.stress, vm], engine="BP4") as w:
        w.write(0.0)
    return files + ["fields/displacement.bp", "fields/stress.bp"]
