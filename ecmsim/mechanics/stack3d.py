r"""A FIB-SEM stack solved in 3D: stack -> tetrahedral mesh -> elasticity -> 3D metrics.

:func:`mesh_stack` reads, aligns and segments a stack (multi-page TIFF or folder of slices,
:mod:`ecmsim.geometry.stack`), meshes it into conforming tetrahedra with the 2D tag names and
reads it back as a 3D :class:`~ecmsim.mesh.TaggedMesh` (distributed over the MPI ranks).
:func:`solve_stack` solves the interface window of the 2D model in 3D with the project's
dimension-generic elasticity (:func:`~ecmsim.mechanics.elasticity.stack_pressure_problem`:
bottom fixed, rollers on left/right (u_x = 0) and front/back (u_z = 0), the stack pressure on
top) and returns the metrics of ``ecmsim run``: the 3D interface traction statistics
(area-weighted, ``interface_area_m2``) where the stack has an electrode, per-phase von Mises and
phase-boundary tractions always.

Verified (tests/test_stack_solve.py): on a flat Li/PLL stack the top displacement is the
laterally confined (uniaxial-strain) value :math:`p\,(h_{Li}/M_{Li} + h_{PLL}/M_{PLL})`,
:math:`M = E(1-\nu)/((1+\nu)(1-2\nu))`, and the interface traction is -p, to round-off;
``mpirun -n 2`` gives the serial metrics.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ecmsim.materials import Material


def mesh_stack(path: str | Path, pixel_size_m: float, slice_spacing_m: float, msh_path: str | Path, comm=None,
               voxel_factor: int = 1, align: bool = True, label_values: Mapping[str, int] | None = None,
               **image_options):
    """Stack file or folder -> (3D TaggedMesh, report dict). The mesh is written to ``msh_path``
    (rank 0) and read back on every rank. ``image_options``: segmentation options of
    :class:`~ecmsim.geometry.image.ImageOptions` (``phases``, ``method``...)."""
    from ecmsim.fem import MPI
    from ecmsim.geometry import stack as st

    comm = comm or MPI.COMM_WORLD
    report = None
    if comm.rank == 0:
        res = st.segment_stack(st.read_stack(path), pixel_size_m, slice_spacing_m, label_values=label_values,
                               do_align=align, voxel_factor=voxel_factor, **image_options)
        pts, tets, code, tri, names = st.voxel_tetra_mesh(res.labels, res.voxel_size_m)
        st.write_msh(msh_path, pts, tets, code, tri, names)
        report = {**st.interface_metrics_3d(pts, tets, code, tri, names, res.voxel_size_m),
                  "voxel_size_m": list(res.voxel_size_m), "labels_shape": list(res.labels.shape),
                  "width_m": float(res.labels.shape[2] * res.voxel_size_m[2]), "segmentation": res.info}
    report = comm.bcast(report, root=0)
    return st.tagged_mesh_3d(msh_path, comm), report


def solve_stack(tmesh, materials: Mapping[str, Material], stack_pressure_Pa: float, degree: int = 1,
                linear: str = "auto"):
    """The 3D window under the stack pressure -> (ElasticSolution, metrics dict). ``degree`` 1
    keeps voxel meshes affordable (P1 is exact for the uniaxial-strain patch)."""
    from ecmsim.mechanics.elasticity import stack_pressure_problem
    from ecmsim.mechanics.stresses import boundary_metrics, field_metrics, interface_profile, phase_metrics

    problem = stack_pressure_problem(tmesh, {r: materials[r] for r in tmesh.cell_ids if r in materials},
                                     stack_pressure_Pa, degree, linear=linear)
    solution = problem.solve()
    problem.close()
    metrics: dict[str, float] = {}
    if "interface" in tmesh.facet_ids:
        x = tmesh.mesh.geometry.x
        width = tmesh.comm.allreduce(float(x[:, 0].max()) if len(x) else 0.0, op=_mpi_max())
        metrics.update(interface_profile(solution).metrics(width))
    metrics.update(field_metrics(solution))
    metrics.update(phase_metrics(solution))
    metrics.update(boundary_metrics(solution))
    metrics["stack_pressure_Pa"] = stack_pressure_Pa
    return solution, metrics


def _mpi_max():
    from ecmsim.fem import MPI
    return MPI.MAX


__all__ = ["mesh_stack", "solve_stack"]
