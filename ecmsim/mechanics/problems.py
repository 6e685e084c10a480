"""The mechanics of a scenario as a time-loop problem (:mod:`ecmsim.timeloop`).

- No ``[protocol]``: :class:`StaticMechanics`, the one solve of today (bonded: linear elasticity;
  contact: Newton in ``interface.load_steps`` load steps), unchanged.
- A ``[protocol]``: :class:`~ecmsim.mechanics.creep.CreepProblem` (bonded) or
  :class:`~ecmsim.mechanics.creep_contact.CreepContactMechanics` (contact); materials with creep keys
  creep (Norton–Arrhenius at ``loading.temperature_K``), the others stay elastic.
"""

from __future__ import annotations


class StaticMechanics:
    """Today's static solve wrapped in the time loop's verbs (one step, no time)."""

    name = "mechanics"

    def __init__(self, scn, tmesh, materials, progress):
        self.scn, self.progress = scn, progress
        self._solution = None
        if scn.interface.model == "contact":
            from ecmsim.mechanics.contact import stack_pressure_contact_problem

            itf = scn.interface
            self.problem = stack_pressure_contact_problem(
                tmesh, materials, scn.loading.stack_pressure_Pa, scn.solver.element_degree,
                nitsche_parameter=itf.nitsche_parameter, variant=itf.nitsche_variant,
                friction_coefficient=itf.friction_coefficient,
                petsc_options={"snes_max_it": itf.newton_max_iterations, "snes_rtol": itf.newton_rtol},
                linear=scn.solver.linear)
            dim = "plane strain" if tmesh.mesh.geometry.dim == 2 else "3D"
            progress(f"forms ready: P{scn.solver.element_degree} {dim}, contact interface "
                     f"(bodies {', '.join(b.name for b in self.problem.bodies)}) ({progress.done('forms'):.1f} s)")
        else:
            from ecmsim.mechanics.elasticity import stack_pressure_problem

            self.problem = stack_pressure_problem(tmesh, materials, scn.loading.stack_pressure_Pa,
                                                  scn.solver.element_degree, linear=scn.solver.linear)
            dim = "3D" if tmesh.mesh.geometry.dim == 3 and tmesh.mesh.topology.dim == 3 else "plane strain"
            progress(f"forms ready: P{scn.solver.element_degree} {dim}, {scn.interface.model} interface, "
                     f"{self.problem.plan.method} solver ({progress.done('forms'):.1f} s)")

    def advance(self, t_s: float, dt_s: float, step=None) -> int:
        from ecmsim.interrupt import hard_interrupt

        self.progress("solving ...")
        if self.scn.interface.model == "contact":
            itf, p = self.scn.interface, self.scn.loading.stack_pressure_Pa

            def on_step(k: int, t: float, its: int) -> None:
                self.progress(f"  load step {k}/{itf.load_steps}: {t * p:.4g} Pa, {its} Newton iteration(s)")

            with hard_interrupt():  # Ctrl-C inside a factorisation ends the run at once
                self._solution = self.problem.solve(itf.load_steps, on_step=on_step)
            return int(sum(self._solution.info["newton_iterations"]))
        with hard_interrupt():
            self._solution = self.problem.solve()
        return 0

    def error_indicator(self) -> float:
        return 0.0

    def accept(self) -> None:
        pass

    def reject(self) -> None:
        pass

    def metrics(self) -> dict[str, float]:
        return {}

    def solution(self):
        return self._solution

    def close(self) -> None:
        self.problem.close()   # collective PETSc teardown here, not whenever each rank collects it


def creep_mechanics(scn, tmesh, materials, progress):
    """The creeping window of a scenario with a ``[protocol]`` (bonded or contact interface)."""
    from ecmsim.materials.creep import law_of
    from ecmsim.mechanics.creep import stack_pressure_creep_problem

    laws = {region: (law_of(mat, scn.creep.characteristic_length_m) if scn.creep.enabled else None)
            for region, mat in materials.items()}
    if scn.interface.model != "contact":
        problem = stack_pressure_creep_problem(tmesh, materials, laws, scn.loading.stack_pressure_Pa,
                                               scn.solver.element_degree, scn.loading.temperature_K,
                                               linear=scn.solver.linear)
        interface, solver = "bonded interface", f", {problem.plan.method} solver"
    else:
        from ecmsim.mechanics.creep_contact import CreepContactMechanics

        itf = scn.interface
        problem = CreepContactMechanics(
            tmesh, materials, laws, scn.loading.stack_pressure_Pa, scn.solver.element_degree,
            scn.loading.temperature_K, load_steps=itf.load_steps, nitsche_parameter=itf.nitsche_parameter,
            variant=itf.nitsche_variant, friction_coefficient=itf.friction_coefficient,
            petsc_options={"snes_max_it": itf.newton_max_iterations, "snes_rtol": itf.newton_rtol},
            linear=scn.solver.linear)
        interface, solver = f"contact interface (bodies {', '.join(b.name for b in problem.problem.bodies)})", ""
    problem.error_tolerance = scn.protocol.error_tolerance
    creeping = [r for r, law in laws.items() if law is not None]
    progress(f"forms ready: P{scn.solver.element_degree} plane strain, {interface}, creep in "
             f"{', '.join(creeping) or 'no region'} at {scn.loading.temperature_K:g} K{solver} "
             f"({progress.done('forms'):.1f} s)")
    return problem


def mechanics_problem(scn, tmesh, materials, progress):
    """The scenario's mechanics problem for the time loop."""
    if scn.protocol is None:
        return StaticMechanics(scn, tmesh, materials, progress)
    return creep_mechanics(scn, tmesh, materials, progress)


__all__ = ["StaticMechanics", "creep_mechanics", "mechanics_problem"]
