"""Stacks solved in 3D, shared by tests/test_stack_solve.py and run under mpirun as a script:

    python tests/stack_cases.py OUT_DIR      # writes OUT_DIR/metrics.json (rank 0)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

PX, DZ = 50e-9, 80e-9
P = 1e6
LABELS = {"void": 0, "electrode": 1, "electrolyte": 2}
FLAT_LABELS = {"electrode": 1, "electrolyte": 2}


def flat_stack(path: Path) -> Path:
    """Li (rows 0-9) over PLL (rows 10-23), 5 slices of 24 x 20 px, as a label TIFF."""
    import tifffile

    lab = np.full((5, 24, 20), 2, np.uint8)
    lab[:, :10] = 1
    tifffile.imwrite(path, lab)
    return path


def voids_stack(path: Path) -> Path:
    """The same bilayer with an interfacial void through the middle slices and a pore in the PLL."""
    import tifffile

    lab = np.full((6, 24, 24), 2, np.uint8)
    lab[:, :10] = 1
    z, y, x = np.mgrid[0:6, 0:24, 0:24] + 0.5
    lab[((x - 12) ** 2 + (y - 10) ** 2 <= 16) & (y < 10) & (z > 1) & (z < 5)] = 0
    lab[(x - 6) ** 2 + (y - 17) ** 2 <= 6] = 0
    tifffile.imwrite(path, lab)
    return path


def run(folder: Path, comm=None) -> dict:
    from ecmsim import materials
    from ecmsim.mechanics.stack3d import solve_stack
    from ecmsim.mesh.voxel import mesh_stack

    mats = {"electrode": materials.get("Li"), "electrolyte": materials.get("PLL")}
    out = {}
    for name, make in (("flat", flat_stack), ("voids", voids_stack)):
        tif = folder / f"{name}.tif"
        if comm is None or comm.rank == 0:
            make(tif)
        if comm is not None:
            comm.barrier()
        tm, report = mesh_stack(tif, PX, DZ, folder / f"{name}_{comm.size if comm else 1}.msh", comm,
                                align=False, label_values=FLAT_LABELS if name == "flat" else LABELS)
        sol, metrics = solve_stack(tm, mats, P, degree=1, linear="direct")
        out[name] = {"metrics": metrics, "cells": tm.stats()["cells"], "dofs": sol.info["dofs"],
                     "report": {k: report[k] for k in ("tetrahedra", "void_volume_fraction")}}
    return out


if __name__ == "__main__":
    from ecmsim.core.fem import MPI

    folder = Path(sys.argv[1])
    result = run(folder, MPI.COMM_WORLD)
    if MPI.COMM_WORLD.rank == 0:
        (folder / "metrics.json").write_text(json.dumps(result))
