"""The electrochemistry stages of a window.

- :class:`CurrentStage` (``[electrochem]`` without plating steps): the current distribution after
  the mechanics, on the same window. The mechanics hands over the interface state: where electrode
  and electrolyte touch (contact model: samples that carry contact pressure; bonded: everywhere)
  and the normal pressure there (for the optional stress coupling). Both are looked up at the
  potential problem's interface facet midpoints from the nearest mechanics sample.
- :class:`CyclingStage` (Plate/Strip steps): the plating/stripping problem
  (:class:`~ecmsim.electrochem.cycling.CyclingProblem`) advanced before the mechanics in every
  time step; the interface history (``interface_profiles.csv``) and ``cycling.png``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.spatial import cKDTree

from ecmsim.electrochem.kinetics import butler_volmer, ionic_conductivity_S_m
from ecmsim.electrochem.potential import CurrentSolution, PotentialProblem, cell_overpotential_V
from ecmsim.electrochem.voids import InterfaceVoids, molar_volume_m3_mol, supply_diffusion_m3_s, supply_length_m
from ecmsim.core.errors import MaterialError
from ecmsim.materials import Material, contact_modulus_Pa
from ecmsim.run.stages.base import ProblemStage, Run, Stage


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
    omega = molar_volume_m3_mol(electrode)
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


def cycling_problem(scn, tmesh, materials, mechanics):
    """The scenario's :class:`~ecmsim.electrochem.cycling.CyclingProblem` (needs ``[electrochem]``;
    settings from ``[cycling]``)."""
    from ecmsim.electrochem.cycling import CyclingProblem

    electrode, electrolyte = materials["electrode"], materials["electrolyte"]
    T = scn.loading.temperature_K
    omega = molar_volume_m3_mol(electrode)
    ec, cyc = scn.electrochem, scn.cycling
    pot = PotentialProblem(tmesh, butler_volmer(electrode, T), ionic_conductivity_S_m(electrolyte, T),
                           molar_volume_m3_mol=omega, stress_coupling=ec.stress_coupling, degree=ec.element_degree)
    supply = supply_length_m(cyc.void_supply_length_m, scn.creep.characteristic_length_m,
                             cyc.deposition_layer_thickness_m)
    # creep law, skeleton (Li-Sn) and interface diffusion: the window's voids and the read-out's take the same
    voids = InterfaceVoids.of_electrode(electrode, supply, T, scn.creep.enabled,
                                        supply_diffusion_m3_s(cyc.void_diffusion_m3_s, cyc.interface_diffusion_m3_s))
    return CyclingProblem(mechanics, pot, deposition_layer_thickness_m=cyc.deposition_layer_thickness_m,
                          irreversible_fraction=cyc.irreversible_fraction,
                          porous_modulus_exponent=cyc.porous_modulus_exponent,
                          min_contact_activity=cyc.min_contact_activity, molar_volume_m3_mol=omega,
                          stress_coupling=ec.stress_coupling, interface_voids=cyc.interface_voids,
                          void_supply=voids, temperature_K=T,
                          growth_smoothing_length_m=cyc.growth_smoothing_length_m,
                          dead_li_porosity=cyc.dead_li_porosity, contact_activity_gap_m=cyc.contact_activity_gap_m,
                          # a skeleton's network takes the deposit into the bulk (Li-Sn; docs/electrochem.md)
                          bulk_plating=(scn.interface.model == "contact" and voids.network_current_A_m2 > 0),
                          interface_diffusion_m3_s=cyc.interface_diffusion_m3_s,
                          interface_energy_J_m2=cyc.interface_energy_J_m2,
                          contact_modulus_Pa=contact_modulus_Pa(electrode, electrolyte))


class CurrentStage(Stage):
    """The current distribution of ``[electrochem]`` on the mechanics' final interface state."""

    name = "current"

    def finish(self, run: Run) -> None:
        scn = run.scn
        metrics, self.current = current_distribution(scn.electrochem, scn.loading.temperature_K, run.tmesh,
                                                     run.materials, run.profile, run.contact)
        run.metrics.update(metrics)
        info = self.current.info
        run.progress(f"current distribution: {info['potential_dofs']} dofs, {info['potential_newton_iterations']} "
                     f"Newton iteration(s) ({run.progress.done('current'):.1f} s)")

    def write(self, run: Run) -> list[str]:
        files = ["current_profile.csv"]
        if run.comm.rank == 0:
            self.current.profile.to_csv(run.folder / "current_profile.csv")
            if run.scn.output.plots:
                from ecmsim.core.figures import draw_or_warn, plain_text
                from ecmsim.io.plots import current_plot
                title = plain_text(run.title)
                if draw_or_warn(run.folder / "current.png",
                                lambda p: current_plot(p, self.current.profile, self.current.metrics, title)):
                    files.append("current.png")
        return files


class CyclingStage(ProblemStage):
    """Plating and stripping: current -> plated thickness -> growth eigenstrain of the mechanics."""

    name = "cycling"
    loop_order = 0      # loads the mechanics: advances first in every step (staggered)
    checkpointed = stateful = True

    def setup(self, run: Run) -> None:
        scn = run.scn
        self.problem = cycling_problem(scn, run.tmesh, run.materials, run.mechanics)
        #: interface samples of every accepted step (interface_profiles.csv, the fibre read-out)
        self.profile_rows: list = []
        run.progress(f"plating/stripping: {len(self.problem.x)} interface facets, deposition layer "
                     f"{scn.cycling.deposition_layer_thickness_m:g} m ({run.progress.done('cycling'):.1f} s)")
        if self.problem.bulk_plating:
            run.progress("plating/stripping: the electrode's skeleton takes the deposit into its bulk: the interface "
                         "moves as a rigid lift by the window's mean deposit (docs/electrochem.md)")
        if self.problem.diffusion is not None:
            d = self.problem.diffusion
            run.progress(f"plating/stripping: Li diffuses along the interface from high contact pressure to low, "
                         f"D_i delta_i = {scn.cycling.interface_diffusion_m3_s:g} m^3/s, {len(d.pairs)} facet "
                         f"neighbours (docs/electrochem.md)")
        if scn.cycling.interface_voids:
            run.progress(f"voids on stripping: {self.problem.void_supply.describe(scn.loading.stack_pressure_Pa)}")

    def iterate(self) -> bool:
        """Interface diffusion's coupling iteration (CyclingProblem.iterate): True asks the mechanics to solve
        the step again."""
        return self.problem.iterate()

    def on_step(self, run: Run, row: dict) -> None:
        if run.scn.cycling.profiles:
            self.profile_rows.append(self.problem.profile_rows(row["step"], row["time_s"]))

    def finish(self, run: Run) -> None:
        from ecmsim.electrochem.run_metrics import cycling_metrics
        run.metrics.update(cycling_metrics(self.problem, run.history, run.scn.electrochem.membrane_thickness_m))
        # coupling iterations that stopped with more of a step's move left than the error tolerance allows
        tol = self.problem.mech.error_tolerance
        left = [r["diffusion_misplaced"] for r in run.history if r.get("diffusion_misplaced", 0.0) > tol]
        if left:
            run.warnings.append(
                f"warning: interface diffusion: the coupling iterations of {len(left)} accepted step(s) stopped "
                f"with more than the error tolerance {tol:g} of the step's move left (at most {max(left):.2g}; "
                f"history column diffusion_misplaced): those steps are staggered, not solved together "
                f"(docs/electrochem.md, interface diffusion)")
        if run.scn.cycling.interface_voids:
            p = run.scn.loading.stack_pressure_Pa
            run.metrics["critical_stripping_current_A_m2"] = self.problem.critical_stripping_current_A_m2(p)
            run.metrics["interface_contact_fraction_min"] = min(
                (r["interface_contact_fraction"] for r in run.history if "interface_contact_fraction" in r),
                default=1.0)

    def write(self, run: Run) -> list[str]:
        from ecmsim.electrochem.cycling import CyclingProblem
        from ecmsim.io.cycling import cycling_plot, write_profiles

        files: list[str] = []
        if run.comm.rank == 0:
            if run.scn.cycling.profiles:
                write_profiles(run.folder / "interface_profiles.csv", self.profile_rows,
                               CyclingProblem.PROFILE_HEADER)
                files.append("interface_profiles.csv")
            if run.scn.output.plots:
                from ecmsim.core.figures import draw_or_warn
                title = run.scn.title
                if draw_or_warn(run.folder / "cycling.png", lambda p: cycling_plot(p, run.history, title)):
                    files.append("cycling.png")
        return files

    def close(self) -> None:
        if self.problem is not None:
            self.problem.close()
            self.problem = None


__all__ = ["CurrentStage", "CyclingStage", "current_distribution", "cycling_problem"]
