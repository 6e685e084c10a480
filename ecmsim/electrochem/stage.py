"""The current-distribution stage of ``ecmsim run``: after the mechanics, on the same window.

The mechanics hands over the interface state: where electrode and electrolyte touch (contact
model: samples that carry contact pressure; bonded: everywhere) and the normal pressure there
(for the optional stress coupling). Both are looked up at the potential problem's interface
facet midpoints from the nearest mechanics sample.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.spatial import cKDTree

from ecmsim.electrochem.kinetics import butler_volmer, ionic_conductivity_S_m
from ecmsim.electrochem.potential import CurrentSolution, PotentialProblem, cell_overpotential_V
from ecmsim.errors import MaterialError
from ecmsim.materials import Material


def _nearest(x_m: np.ndarray, y_m: np.ndarray, values: np.ndarray):
    """``points (N, 3) -> values`` of the nearest sample in (x, y)."""
    tree = cKDTree(np.column_stack([x_m, y_m]))
    values = np.asarray(values, dtype=float)
    return lambda pts: values[tree.query(pts[:, :2])[1]] if len(pts) else np.empty(0)


def current_distribution(electrochem, temperature_K: float, tmesh, materials: Mapping[str, Material],
                         profile=None, contact=None) -> tuple[dict[str, float], CurrentSolution]:
    """Solve the current distribution of a scenario's ``[electrochem]`` section.

    Args:
        electrochem: the scenario's ElectrochemSection.
        temperature_K: cell temperature [K].
        tmesh: the window mesh.
        materials: region -> Material (the electrode needs Butler–Volmer keys, the electrolyte
            ``ionic_conductivity_S_m``).
        profile: the mechanics' InterfaceProfile (interface pressure), or None.
        contact: the mechanics' ContactProfile of the interface (contact state), or None (all in contact).

    Returns:
        The metrics (with ``cell_overpotential_V``) and the solution.
    """
    electrode, electrolyte = materials["electrode"], materials["electrolyte"]
    for mat, region, keys in ((electrode, "electrode", ("exchange_current_density_A_m2", "charge_transfer_coefficient")),
                              (electrolyte, "electrolyte", ("ionic_conductivity_S_m",))):
        missing = [k for k in keys if k not in mat.properties]
        if missing:
            raise MaterialError(f"[electrochem] needs {', '.join(missing)} of the {region} material '{mat.key}' "
                                f"(add it to the material record or the scenario's inline table)")
    kinetics = butler_volmer(electrode, temperature_K)
    kappa = ionic_conductivity_S_m(electrolyte, temperature_K)
    omega = electrode.properties.get("molar_volume_m3_mol", 13.0e-6)
    problem = PotentialProblem(tmesh, kinetics, kappa, molar_volume_m3_mol=omega,
                               stress_coupling=electrochem.stress_coupling, degree=electrochem.element_degree)
    try:
        problem.set_current_density(electrochem.applied_current_density_A_m2)
        active = pressure = None
        if contact is not None:
            active = _nearest(contact.x_m, contact.y_m, contact.in_contact.astype(float))
        if profile is not None and electrochem.stress_coupling:
            pressure = _nearest(profile.x_m, profile.y_m, -profile.normal_stress_Pa)
        problem.set_interface_state(active, pressure)
        solution = problem.solve()
    finally:
        problem.close()
    metrics = dict(solution.metrics)
    metrics["cell_overpotential_V"] = cell_overpotential_V(metrics, electrochem.membrane_thickness_m)
    metrics["exchange_current_density_A_m2"] = kinetics.exchange_current_density_A_m2
    return metrics, solution
