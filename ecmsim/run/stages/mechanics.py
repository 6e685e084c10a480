"""The mechanics stage of a window: the scenario's problem in the time loop, then the interface
profile, the field metrics and the stress files.

- No ``[protocol]``: :class:`StaticMechanics`, one static solve (bonded: linear elasticity;
  contact: Newton in ``interface.load_steps`` load steps).
- A ``[protocol]``: :class:`~ecmsim.mechanics.creep.CreepProblem` (bonded) or
  :class:`~ecmsim.mechanics.creep_contact.CreepContactMechanics` (contact); materials with creep keys
  creep (Norton–Arrhenius at ``loading.temperature_K``), the others stay elastic.
"""

from __future__ import annotations


from ecmsim.run.stages.base import ProblemStage, Run, StepVerbs

#: The rank that the fields and plots are gathered to, and that writes fields.vtu and draws the plots
#: (modulo the number of ranks: the last; rank 0 in a serial run) while rank 0 writes mesh.msh
#: (Run.write_alone); it imports VTK's writer and matplotlib while rank 0 runs gmsh (WindowMeshStage).
WRITER_RANK = -1


class StaticMechanics(StepVerbs):
    """Today's static solve wrapped in the time loop's verbs (one step, no time)."""

    name = "mechanics"

    def __init__(self, scn, tmesh, materials, progress):
        self.scn, self.progress = scn, progress
        self._solution = None
        #: the same problem on the mesh before its splits, whose solution starts the iterative solve
        #: (nested meshes, docs/mechanics.md "Linear solvers"), and what the start was (summary.json)
        self.coarse, self.start = None, None
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
            # a mesh split from gmsh's coarser one (mesh.refine_levels): the iterative solve starts from
            # the solution on the coarse mesh
            if tmesh.coarse is not None and self.problem.plan.method == "iterative":
                self.coarse = stack_pressure_problem(tmesh.coarse, materials, scn.loading.stack_pressure_Pa,
                                                     scn.solver.element_degree)
            dim = "3D" if tmesh.mesh.geometry.dim == 3 and tmesh.mesh.topology.dim == 3 else "plane strain"
            progress(f"forms ready: P{scn.solver.element_degree} {dim}, {scn.interface.model} interface, "
                     f"{self.problem.plan.method} solver ({progress.done('forms'):.1f} s)")

    def advance(self, t_s: float, dt_s: float, step=None) -> int:
        from ecmsim.core.interrupt import hard_interrupt

        self.progress("solving ...")
        if self.scn.interface.model == "contact":
            itf, p = self.scn.interface, self.scn.loading.stack_pressure_Pa

            def on_step(k: int, t: float, its: int) -> None:
                self.progress(f"  load step {k}/{itf.load_steps}: {t * p:.4g} Pa, {its} Newton iteration(s)")

            with hard_interrupt():  # Ctrl-C inside a factorisation ends the run at once
                self._solution = self.problem.solve(itf.load_steps, on_step=on_step)
            return int(sum(self._solution.info["newton_iterations"]))
        with hard_interrupt():
            if self.coarse is not None:
                self._start_from_coarse()
            self._solution = self.problem.solve()
        info = self._solution.info
        if "initial_guess" in info:
            info["initial_guess"] = self.start
            self.progress(f"solved from the coarse start in {info['ksp_iterations']} CG iteration(s)")
        return 0

    def _start_from_coarse(self) -> None:
        """Solve on the mesh before its splits and start the fine solve from that solution."""
        from ecmsim.mesh.refine import prolongate

        coarse, self.coarse = self.coarse, None
        try:
            solution = coarse.solve()
            self.problem.set_initial_guess(prolongate(solution.u, self.problem.V, self.problem.tmesh.ancestor))
        finally:
            coarse.close()
        self.start = (f"the solution on the mesh before its {self.problem.tmesh.refine_levels} split(s) "
                      f"({solution.info['dofs']} dofs, {solution.info['linear_solver']})")

    def solution(self):
        return self._solution

    def close(self) -> None:
        if self.coarse is not None:   # a run stopped before its solve
            self.coarse.close()
            self.coarse = None
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
            linear=scn.solver.linear, gap_offset=scn.protocol.has_current_steps())
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


class MechanicsStage(ProblemStage):
    """The window's mechanics in the time loop; afterwards the interface profile, metrics and files."""

    name = "mechanics"
    loop_order = 1
    stateful = True

    def setup(self, run: Run) -> None:
        self.problem = mechanics_problem(run.scn, run.tmesh, run.materials, run.progress)
        self.checkpointed = getattr(self.problem, "checkpointed", hasattr(self.problem, "checkpoint_state"))
        run.mechanics = self.problem
        self.series = None
        if run.protocol is not None and run.scn.output.fields:
            from ecmsim.io.history import FieldSeries
            from ecmsim.io.vtu import VTU_MAX_CELLS
            if run.tmesh.num_cells_global() > VTU_MAX_CELLS:   # gathered to rank 0: too large
                run.warnings.append(f"no field time series (fields/series.pvd): the mesh has more than "
                                    f"{VTU_MAX_CELLS} cells")
                return
            self.series = FieldSeries(run.folder / "fields", self.problem, run.protocol.duration_s)

    @property
    def resolve(self):
        """The problem's ``resolve`` (the step again from its last solution, after a coupling iteration), or
        None: the time loop then rejects and advances it again."""
        return getattr(self.problem, "resolve", None)

    @property
    def settle(self):
        """The problem's ``settle`` (its last solve of a coupling iteration taken on to the step's tolerance), or
        None."""
        return getattr(self.problem, "settle", None)

    def on_step(self, run: Run, row: dict) -> None:
        if self.series:
            self.series.on_step(row["time_s"])

    def finish(self, run: Run) -> None:
        from ecmsim.mechanics.stresses import boundary_metrics, field_metrics, interface_profile, phase_metrics
        from ecmsim.mechanics.validity import history_warnings, solution_warnings

        history, progress = run.history, run.progress
        solution = run.solution = self.problem.solution()
        if self.series:
            self.series.close(history[-1]["time_s"])
        self.close()
        progress(f"solved: {solution.info['dofs']} dofs, {len(history)} step(s) ({progress.done('solve'):.1f} s)")
        # windows without an electrode (porous electrolyte, composite) have no interface
        run.profile = interface_profile(solution) if "interface" in run.tmesh.facet_ids else None
        metrics = run.metrics
        metrics.update(run.profile.metrics(run.geometry.width_m) if run.profile is not None else {})
        metrics.update(field_metrics(solution))
        metrics.update(phase_metrics(solution))
        metrics.update(boundary_metrics(solution))
        contacts = getattr(solution, "contact", {})
        run.contact = contacts.get("interface")
        if run.contact is not None:
            metrics.update(run.contact.metrics())
        for group, other in contacts.items():   # composite: electrode_particle...
            if group != "interface":
                metrics.update({f"{group}_{k}": v for k, v in other.metrics().items()})
        metrics["stack_pressure_Pa"] = run.scn.loading.stack_pressure_Pa
        if run.protocol is not None:   # the last accepted step's values of every stage
            metrics.update({k: v for k, v in history[-1].items() if isinstance(v, float) and k != "dt_s"})
            solution.info["time_steps"] = len(history) - 1
            solution.info["newton_iterations_total"] = sum(r["newton_iterations"] for r in history)
        run.summary["solver"] = solution.info
        run.warnings += solution_warnings(solution)
        if run.protocol is not None:    # creep and growth: strains the stress does not show
            run.warnings += history_warnings(history)
        progress.done("metrics")

    def write(self, run: Run) -> list[str]:
        files = (["interface_profile.csv"] if run.profile else []) + (["contact_profile.csv"] if run.contact else [])
        if run.comm.rank == 0:
            if run.profile is not None:
                run.profile.to_csv(run.folder / "interface_profile.csv")
            if run.contact is not None:
                run.contact.to_csv(run.folder / "contact_profile.csv")
        if self.series:
            files += self.series.files
        # Gathered now, written after every stage's collective part (Run.write_alone): the writer rank
        # writes the VTU and draws the plots while rank 0 writes the mesh file
        writer = WRITER_RANK % run.comm.size
        if run.scn.output.fields:
            from ecmsim.io.vtu import write_fields
            vtu = []
            # the state written is the last accepted step's: fields.pvd and the VTX files say when
            files += write_fields(run.folder / "fields", run.solution, run.tmesh,
                                  run.history[-1]["time_s"] if run.history else 0.0, later=vtu, root=writer)
            run.progress(f"fields gathered, VTX written ({run.progress.done('fields'):.1f} s)")
            for work in vtu:
                run.write_alone(writer, work, "fields", "fields.vtu written")
        if run.scn.output.plots and getattr(run.geometry, "depth_m", None) is None:   # 3D: ParaView shows it
            from ecmsim.io import plots
            # the stress map is a 2D drawing of triangles: a 3D window (tetrahedra) has none, ParaView shows it
            map_ok = run.tmesh.mesh.topology.dim == 2
            draw = plots.write_run_plots(run.folder, run.solution, run.profile, run.contact,
                                         run.scn.loading.stack_pressure_Pa, run.title, run.comm,
                                         with_stress_map=map_ok, rank=writer)
            run.progress.done("plots")   # the gather; the drawing's time is added by run_alone
            run.write_alone(writer, draw, "plots", "plots written")
        return files

    def close(self) -> None:
        if self.problem is not None:
            self.problem.close()   # collective PETSc teardown here, not whenever each rank collects it
            self.problem = None


__all__ = ["MechanicsStage", "StaticMechanics", "creep_mechanics", "mechanics_problem", "WRITER_RANK"]
