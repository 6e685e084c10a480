"""Results on disk: staged output folders, summary.json, fields (VTU/PVD and VTX), tables.

A run writes into ``<OUT>.partial`` and renames it to ``<OUT>`` only when everything is
written, so a failed run never leaves files that look like valid results. An existing ``<OUT>``
is replaced only if it is an earlier ecmsim result (it holds a ``summary.json``) or empty.
Only rank 0 writes JSON, CSV and PNG; field writers are collective.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

import ecmsim
from ecmsim.errors import EcmsimError

SUMMARY = "summary.json"


@contextmanager
def staged_output(final: Path, comm) -> Iterator[Path]:
    """Yield a staging folder; on success it becomes ``final``, on failure it is removed."""
    final = Path(final)
    staging = final.with_name(final.name + ".partial")
    error = None
    if comm.rank == 0:
        if final.exists() and (not final.is_dir() or (any(final.iterdir()) and not (final / SUMMARY).exists())):
            error = (f"output folder {final} exists and is not an ecmsim result folder (no {SUMMARY}): "
                     "refusing to replace it; choose another -o")
        else:
            shutil.rmtree(staging, ignore_errors=True)
            try:
                staging.mkdir(parents=True)
            except OSError as err:
                error = f"cannot create output folder {staging}: {err.strerror}"
    error = comm.bcast(error, root=0)
    if error:
        raise EcmsimError(error)
    comm.barrier()
    try:
        yield staging
    except BaseException:
        # no barrier here: a rank that failed alone must not wait for the others
        if comm.rank == 0:
            shutil.rmtree(staging, ignore_errors=True)
        raise
    comm.barrier()
    if comm.rank == 0:
        if final.exists():
            shutil.rmtree(final)
        staging.rename(final)
    comm.barrier()


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
