"""Validity of a finished mechanics solution: where the small-strain model stops being reliable.

Before a run, :mod:`ecmsim.scenario.guards` refuses loads whose nominal layer strain leaves the
small-strain range; after it, the local strain at stress concentrations is checked here and
reported as a warning (stderr and ``summary.json`` -> ``warnings``, through the pipeline).

Creep and plating (a ``[protocol]``) can carry a region far beyond small strain while its stress
stays small (a creeping region flows at a bounded stress): the elastic check above cannot see
it. :func:`history_warnings` reads each region's largest equivalent creep strain and largest
principal total strain (elastic + creep + growth, of sym grad u) of every accepted step and names
the region, the value, when it was reached and when the range was first left.
"""

from __future__ import annotations

#: Local strain above which a finished run warns (stress concentrations, creep, growth) [-].
WARN_LOCAL_STRAIN = 0.05

#: The strains of the history that are checked: metric suffix -> what it is, in the warning.
_HISTORY_STRAINS = {"_creep_strain_max": "equivalent creep strain",
                    "_total_strain_max": "total strain (largest principal value of sym grad u)"}


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


def history_warnings(history: list[dict], threshold: float | None = None) -> list[str]:
    """Warnings of a time-dependent run whose strain left the small-strain range in some region.

    ``history``: the accepted steps (rows with ``time_s`` and ``<region>_creep_strain_max``,
    ``<region>_total_strain_max``, ``<region>_creep_strain_mean``). One line per region and strain
    above ``threshold``: its largest value and when, when the range was first left, and (creep) the
    area mean at the end, which tells a few singular points from a whole region. ``threshold``
    defaults to :data:`WARN_LOCAL_STRAIN`.
    """
    threshold = WARN_LOCAL_STRAIN if threshold is None else threshold
    out = []
    if not history:
        return out
    regions = sorted({key[: -len(suffix)] for row in history for key in row for suffix in _HISTORY_STRAINS
                      if key.endswith(suffix)})
    for region in regions:
        for suffix, what in _HISTORY_STRAINS.items():
            values = [(row.get(f"{region}{suffix}", 0.0), row["time_s"]) for row in history]
            peak, t_peak = max(values, key=lambda v: v[0])
            if not peak > threshold:
                continue
            t_first = next(t for v, t in values if v > threshold)
            mean = history[-1].get(f"{region}_creep_strain_mean") if suffix == "_creep_strain_max" else None
            where = f"; area mean {mean:.3g} at the end" if mean is not None else ""
            out.append(f"warning: the {region} leaves the small-strain range: its {what} reaches {peak:.3g} "
                       f"at t = {t_peak:.4g} s (above {100 * threshold:g} % from t = {t_first:.4g} s on{where}). "
                       "The mechanics is small-strain (linear kinematics, fixed geometry): displacements and "
                       "stresses where this happens are not reliable")
    return out


__all__ = ["WARN_LOCAL_STRAIN", "max_local_strain", "solution_warnings", "history_warnings"]
