"""Scenario -> geometry -> mesh -> mechanics -> metrics -> files: one run of ``ecmsim run``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ecmsim import scenario as scenario_mod
from ecmsim.progress import Progress


def default_out_dir(scenario_path: Path) -> Path:
    """``results/<scenario file stem>`` under the current folder."""
    return Path("results") / Path(scenario_path).stem


def run_scenario_file(path: str | Path, out_dir: str | Path | None = None, overrides: list[str] | None = None,
                      quiet: bool = False) -> dict[str, Any]:
    """Validate the scenario (before anything heavy is imported), run it, return the summary."""
    path = Path(path)
    scn = scenario_mod.load(path, overrides)
    return run_scenario(scn, path, Path(out_dir) if out_dir else default_out_dir(path), quiet=quiet)


def run_scenario(scn: scenario_mod.Scenario, source: Path, out_dir: Path, quiet: bool = False) -> dict[str, Any]:
    """Run a validated scenario and write its results into ``out_dir``."""
    if scn.geometry.kind == "fbg_cell":          # the fibre inside the cell: ecmsim/fibre_cell_run.py
        from ecmsim.fibre_cell_run import run_fbg_cell
        return run_fbg_cell(scn, source, out_dir, quiet=quiet)
    from ecmsim.fem import MPI
    from ecmsim.mechanics.elasticity import stack_pressure_problem
    from ecmsim.mechanics.stresses import field_metrics, interface_profile
    from ecmsim.mesh import MeshOptions, mesh_geometry
    from ecmsim.report import provenance, staged_output, write_fields, write_summary

    comm = MPI.COMM_WORLD
    progress = Progress(quiet, comm.rank)
    progress(f"scenario {source} ({scn.title or 'untitled'}), {comm.size} MPI rank(s)")
    with staged_output(out_dir, comm) as stage:
        geometry = scn.geometry.build(source.parent)
        progress.done("geometry")
        m = scn.mesh
        tmesh = mesh_geometry(geometry, MeshOptions(m.size_m, m.interface_size_m, m.refine_distance_m, m.max_cells,
                                                    m.tip_size_m), comm, msh_path=stage / "mesh.msh")
        mesh_stats = tmesh.stats()
        progress(f"mesh: {mesh_stats['cells']} triangles, h from {mesh_stats['h_min_m']:.3g} "
                 f"to {mesh_stats['h_max_m']:.3g} m ({progress.done('mesh'):.1f} s)")

        materials = scn.materials.resolve()
        if scn.interface.model == "contact":
            solution = _solve_contact(scn, tmesh, materials, progress)
        else:
            problem = stack_pressure_problem(tmesh, materials, scn.loading.stack_pressure_Pa, scn.solver.element_degree)
            progress(f"forms ready: P{scn.solver.element_degree} plane strain, {scn.interface.model} interface "
                     f"({progress.done('forms'):.1f} s)")
            solution = problem.solve()
            problem.close()  # collective PETSc teardown here, not whenever each rank collects it
        progress(f"solved: {solution.info['dofs']} dofs ({progress.done('solve'):.1f} s)")

        profile = interface_profile(solution)
        metrics = profile.metrics(geometry.width_m)
        metrics.update(field_metrics(solution))
        contact = getattr(solution, "contact", {}).get("interface")
        if contact is not None:
            metrics.update(contact.metrics())
        metrics["stack_pressure_Pa"] = scn.loading.stack_pressure_Pa
        progress.done("metrics")

        files = ["summary.json", "interface_profile.csv", "mesh.msh", "mesh.report.json"]
        files += ["contact_profile.csv"] if contact else []
        if scn.output.fields:
            files += write_fields(stage / "fields", solution, tmesh)
            progress(f"fields written ({progress.done('fields'):.1f} s)")
        if scn.output.plots:
            from ecmsim import plots
            if comm.rank == 0:
                plots.interface_stress_plot(stage / "interface_stress.png", profile, scn.loading.stack_pressure_Pa,
                                            scn.title)
            plots.stress_map(stage / "stress_map.png", solution, profile, scn.title)
            files += ["stress_map.png", "interface_stress.png"]
            if contact is not None and comm.rank == 0:
                plots.contact_plot(stage / "contact.png", contact, scn.loading.stack_pressure_Pa, scn.title)
            files += ["contact.png"] if contact is not None else []
            progress(f"plots written ({progress.done('plots'):.1f} s)")

        summary = {
            "title": scn.title,
            "scenario_file": str(source),
            "input_hash_sha256": scn.input_hash(),
            "metrics": metrics,
            "mesh": {**mesh_stats, "cell_tags": tmesh.cell_ids, "facet_tags": tmesh.facet_ids},
            "solver": solution.info,
            "materials": {region: mat.as_dict() for region, mat in materials.items()},
            "scenario": scn.to_dict(),
            "provenance": provenance(),
            "timings_s": progress.timings_s,
            "files": files,
        }
        if comm.rank == 0:
            profile.to_csv(stage / "interface_profile.csv")
            if contact is not None:
                contact.to_csv(stage / "contact_profile.csv")
            write_summary(stage / "summary.json", summary)
    progress(f"done in {progress.elapsed_s:.1f} s: {out_dir}/summary.json")
    _print_metrics(metrics, progress)
    return summary


def _solve_contact(scn: scenario_mod.Scenario, tmesh, materials, progress: Progress):
    """The stack-pressure window with contact on the interface, ramped in ``interface.load_steps``."""
    from ecmsim.mechanics.contact import stack_pressure_contact_problem

    itf = scn.interface
    problem = stack_pressure_contact_problem(
        tmesh, materials, scn.loading.stack_pressure_Pa, scn.solver.element_degree,
        nitsche_parameter=itf.nitsche_parameter, variant=itf.nitsche_variant,
        friction_coefficient=itf.friction_coefficient,
        petsc_options={"snes_max_it": itf.newton_max_iterations, "snes_rtol": itf.newton_rtol})
    progress(f"forms ready: P{scn.solver.element_degree} plane strain, contact interface "
             f"(bodies {', '.join(b.name for b in problem.bodies)}) ({progress.done('forms'):.1f} s)")

    def step(k: int, t: float, its: int) -> None:
        progress(f"  load step {k}/{itf.load_steps}: {t * scn.loading.stack_pressure_Pa:.4g} Pa, "
                 f"{its} Newton iteration(s)")

    solution = problem.solve(itf.load_steps, on_step=step)
    problem.close()  # collective PETSc teardown here, not whenever each rank collects it
    return solution


def _print_metrics(metrics: dict[str, float], progress: Progress) -> None:
    if progress.quiet:
        return
    for key in ("interface_normal_stress_mean_Pa", "interface_normal_stress_min_Pa",
                "interface_normal_stress_max_Pa", "von_mises_max_Pa", "contact_fraction", "contact_pressure_max_Pa"):
        if key in metrics:
            progress(f"  {key:34s} = {metrics[key]:.6g}")
