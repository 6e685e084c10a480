"""Validity of a finished mechanics solution: where the small-strain model stops being reliable.

Before a run, :mod:`ecmsim.scenario.guards` refuses loads whose nominal layer strain leaves the
small-strain range; after it, the local strain at stress concentrations is checked here and
reported as a warning (stderr and ``summary.json``).
"""

from __future__ import annotations

#: Local strain above which a finished run warns (stress concentrations) [-].
WARN_LOCAL_STRAIN = 0.05


def max_local_strain(solution) -> tuple[float, str]:
    """Largest von Mises stress / Young's modulus of its own region over the cells' stress nodes,
    and that region (the same on every rank) [-]. A strain measure for the small-strain check."""
    from ecmsim.core.fem import MPI

    tm = solution.tmesh
    n_cells = tm.mesh.topology.index_map(2).size_local
    dofs = solution.stress.function_space.dofmap.list
    vm = solution.von_mises_values(owned_only=False)
    worst = (0.0, "")
    for name, mat in solution.materials.items():
        if name not in tm.cell_ids:
            continue
        cells = tm.cells(name)
        cells = cells[cells < n_cells]
        local = float(vm[dofs[cells].ravel()].max()) / mat.youngs_modulus_Pa if len(cells) else 0.0
        worst = max(worst, (local, name))
    strain = tm.comm.allreduce(worst[0], op=MPI.MAX)
    regions = tm.comm.allgather(worst)
    return strain, next(r for s, r in regions if s == strain)


def solution_warnings(solution) -> list[str]:
    """Warnings about a finished run: a local strain (von Mises / E of the region) beyond the
    small-strain range, typically at a stress concentration (void or filament tip, sharp corner)."""
    strain, region = max_local_strain(solution)
    if strain > WARN_LOCAL_STRAIN:
        return [f"warning: the {region}'s von Mises stress reaches {100 * strain:.3g} % of its Young's modulus: "
                f"local strains there exceed the {100 * WARN_LOCAL_STRAIN:g} % small-strain range, so stresses near "
                "that point are not reliable (a singular tip or corner, or a too high load)"]
    return []


__all__ = ["WARN_LOCAL_STRAIN", "max_local_strain", "solution_warnings"]
