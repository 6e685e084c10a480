r"""A FIB-SEM stack solved in 3D: stack -> tetrahedral mesh -> elasticity -> 3D metrics.

The mesh comes from :func:`ecmsim.mesh.voxel.mesh_stack` (a stack read, aligned, segmented and
meshed into conforming tetrahedra with the 2D tag names, distributed over the MPI ranks).
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

from ecmsim.materials import Material


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
    from ecmsim.core.fem import MPI
    return MPI.MAX


__all__ = ["solve_stack"]
