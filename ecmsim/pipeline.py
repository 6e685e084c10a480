"""Scenario -> geometry -> mesh -> mechanics -> metrics -> files: one run of ``ecmsim run``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from ecmsim import scenario as scenario_mod
from ecmsim.progress import Progress


#: Above this many cells no stress_map.png: it gathers every cell's stress to rank 0 (docs/cluster.md).
PLOT_MAX_CELLS = 2_000_000


def default_out_dir(scenario_path: Path, overrides: list[str] | None = None) -> Path:
    """``results/<scenario file stem>`` under the current folder, with a suffix naming the
    ``--set`` overrides (``results/flat_bilayer+stack_pressure_Pa=3e6``)."""
    from ecmsim.outputs import default_result_name
    return Path("results") / default_result_name(Path(scenario_path).stem, overrides)


def run_scenario_file(path: str | Path, out_dir: str | Path | None = None, overrides: list[str] | None = None,
                      quiet: bool = False, overwrite: bool = False) -> dict[str, Any]:
    """Validate the scenario (before anything heavy is imported), run it, return the summary."""
    path = Path(path)
    scn = scenario_mod.load(path, overrides)
    return run_scenario(scn, path, Path(out_dir) if out_dir else default_out_dir(path, overrides), quiet=quiet,
                        overwrite=overwrite, overrides=overrides)


def run_scenario(scn: scenario_mod.Scenario, source: Path, out_dir: Path, quiet: bool = False,
                 overwrite: bool = False, overrides: list[str] | None = None) -> dict[str, Any]:
    """Run a validated scenario and write its results into ``out_dir`` (see :mod:`ecmsim.outputs`:
    an existing folder is replaced only when complete, and only if ecmsim wrote all of it, or
    ``overwrite``). ``overrides`` (the ``--set`` items) are named in the plot titles."""
    from ecmsim.fem import MPI
    from ecmsim.guards import solution_warnings
    from ecmsim.interrupt import hard_interrupt
    from ecmsim.mechanics.elasticity import stack_pressure_problem
    from ecmsim.mechanics.stresses import field_metrics, interface_profile
    from ecmsim.mesh import MeshOptions, estimated_cells, mesh_geometry
    from ecmsim.outputs import result_folder
    from ecmsim.report import provenance, write_fields, write_summary

    comm = MPI.COMM_WORLD
    progress = Progress(quiet, comm.rank)
    progress(f"scenario {source} ({scn.title or 'untitled'}), {comm.size} MPI rank(s)")
    with result_folder(out_dir, comm, command="run", overwrite=overwrite) as stage:
        geometry = scn.geometry.build(source.parent)
        progress.done("geometry")
        m = scn.mesh
        depth_m = getattr(scn.geometry, "depth_m", None)
        options = MeshOptions(m.size_m, m.interface_size_m, m.refine_distance_m, m.max_cells, m.tip_size_m, depth_m)
        progress(f"meshing {geometry.description} (about {estimated_cells(geometry, options):.2g} "
                 f"{'tetrahedra' if depth_m else 'triangles'}) ...")
        tmesh = mesh_geometry(geometry, options, comm, msh_path=stage / "mesh.msh")
        mesh_stats = tmesh.stats()
        progress(f"mesh: {mesh_stats['cells']} {'tetrahedra' if depth_m else 'triangles'}, h from {mesh_stats['h_min_m']:.3g} "
                 f"to {mesh_stats['h_max_m']:.3g} m ({progress.done('mesh'):.1f} s)")

        materials = scn.materials.resolve()
        if scn.interface.model == "contact":
            solution = _solve_contact(scn, tmesh, materials, progress)
        else:
            problem = stack_pressure_problem(tmesh, materials, scn.loading.stack_pressure_Pa, scn.solver.element_degree,
                                             linear=scn.solver.linear)
            progress(f"forms ready: P{scn.solver.element_degree} {'3D' if depth_m else 'plane strain'}, "
                     f"{scn.interface.model} interface, {problem.plan.method} solver "
                     f"({progress.done('forms'):.1f} s)")
            progress("solving ...")
            with hard_interrupt():  # Ctrl-C inside the factorisation ends the run at once
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
        warnings = solution_warnings(solution)
        for line in warnings:
            print(f"ecmsim: {line}", file=sys.stderr) if comm.rank == 0 else None
        progress.done("metrics")

        files = ["summary.json", "interface_profile.csv", "mesh.msh", "mesh.report.json"]
        files += ["contact_profile.csv"] if contact else []
        if scn.output.fields:
            files += write_fields(stage / "fields", solution, tmesh)
            progress(f"fields written ({progress.done('fields'):.1f} s)")
        if scn.output.plots and depth_m is None:   # 3D: the fields (ParaView) are the pictures
            from ecmsim import plots
            files += plots.write_run_plots(stage, solution, profile, contact, scn.loading.stack_pressure_Pa,
                                           plots.run_title(scn.title, overrides), comm,
                                           with_stress_map=mesh_stats["cells"] <= PLOT_MAX_CELLS)
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
            "warnings": warnings,
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
        petsc_options={"snes_max_it": itf.newton_max_iterations, "snes_rtol": itf.newton_rtol},
        linear=scn.solver.linear)
    dim = "plane strain" if tmesh.mesh.geometry.dim == 2 else "3D"
    progress(f"forms ready: P{scn.solver.element_degree} {dim}, contact interface "
             f"(bodies {', '.join(b.name for b in problem.bodies)}) ({progress.done('forms'):.1f} s)")

    def step(k: int, t: float, its: int) -> None:
        progress(f"  load step {k}/{itf.load_steps}: {t * scn.loading.stack_pressure_Pa:.4g} Pa, "
                 f"{its} Newton iteration(s)")

    from ecmsim.interrupt import hard_interrupt

    with hard_interrupt():
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
