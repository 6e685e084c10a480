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
                      quiet: bool = False, overwrite: bool = False, resume: bool = False) -> dict[str, Any]:
    """Validate the scenario (before anything heavy is imported), run it, return the summary."""
    path = Path(path)
    scn = scenario_mod.load(path, overrides)
    return run_scenario(scn, path, Path(out_dir) if out_dir else default_out_dir(path, overrides), quiet=quiet,
                        overwrite=overwrite, overrides=overrides, resume=resume)


def run_scenario(scn: scenario_mod.Scenario, source: Path, out_dir: Path, quiet: bool = False,
                 overwrite: bool = False, overrides: list[str] | None = None, resume: bool = False) -> dict[str, Any]:
    """Run a validated scenario and write its results into ``out_dir`` (see :mod:`ecmsim.outputs`:
    an existing folder is replaced only when complete, and only if ecmsim wrote all of it, or
    ``overwrite``). ``overrides`` (the ``--set`` items) are named in the plot titles."""
    if scn.geometry.kind == "fbg_cell":          # the fibre inside the cell: ecmsim/fibre_cell_run.py
        from ecmsim.fibre_cell_run import run_fbg_cell
        return run_fbg_cell(scn, source, out_dir, quiet=quiet, overwrite=overwrite)
    from ecmsim.fem import MPI
    from ecmsim.guards import solution_warnings
    from ecmsim.history import FieldSeries, history_plot, write_history_csv
    from ecmsim.mechanics.problems import mechanics_problem
    from ecmsim.mechanics.stresses import boundary_metrics, field_metrics, interface_profile, phase_metrics
    from ecmsim.mesh import MeshOptions, estimated_cells, mesh_geometry
    from ecmsim.outputs import result_folder
    from ecmsim.report import provenance, write_fields, write_summary
    from ecmsim.timeloop import TimeLoop

    comm = MPI.COMM_WORLD
    progress = Progress(quiet, comm.rank)
    progress(f"scenario {source} ({scn.title or 'untitled'}), {comm.size} MPI rank(s)")
    with result_folder(out_dir, comm, command="run", overwrite=overwrite) as stage:
        if scn.geometry.kind == "image_stack":   # a 3D stack: voxel tetrahedra, no 2D geometry
            geometry, tmesh = _mesh_stack(scn, source, comm, stage, progress)
            depth_m = geometry.depth_m
        else:
            geometry = scn.geometry.build(source.parent)
            progress.done("geometry")
            m = scn.mesh
            depth_m = getattr(scn.geometry, "depth_m", None)
            options = MeshOptions(m.size_m, m.interface_size_m, m.refine_distance_m, m.max_cells, m.tip_size_m,
                                  depth_m)
            progress(f"meshing {geometry.description} (about {estimated_cells(geometry, options):.2g} "
                     f"{'tetrahedra' if depth_m else 'triangles'}) ...")
            tmesh = mesh_geometry(geometry, options, comm, msh_path=stage / "mesh.msh")
        mesh_stats = tmesh.stats()
        progress(f"mesh: {mesh_stats['cells']} {'tetrahedra' if depth_m else 'triangles'}, h from {mesh_stats['h_min_m']:.3g} "
                 f"to {mesh_stats['h_max_m']:.3g} m ({progress.done('mesh'):.1f} s)")

        materials = scn.materials.resolve()
        # One time loop for every run: a scenario without [protocol] is one static step.
        problem = mechanics_problem(scn, tmesh, materials, progress)
        protocol = scn.protocol.build() if scn.protocol is not None else None
        series = (FieldSeries(stage / "fields", problem, protocol.duration_s) if protocol and scn.output.fields
                  else None)
        cycling = None
        if protocol is not None and any(s.kind in ("plate", "strip") for s in protocol.steps):
            from ecmsim.electrochem.cycling import cycling_problem
            cycling = cycling_problem(scn, tmesh, materials, problem)
            progress(f"plating/stripping: {len(cycling.x)} interface facets, deposition layer "
                     f"{scn.cycling.deposition_layer_thickness_m:g} m ({progress.done('cycling'):.1f} s)")
        profile_rows = []

        def on_accept(row):
            if series:
                series.on_step(row["time_s"])
            if cycling is not None and scn.cycling.profiles:
                profile_rows.append(cycling.profile_rows(row["step"], row["time_s"]))

        checkpointer = None
        stateful = {"mechanics": problem, **({"cycling": cycling} if cycling else {})}
        resumable = all(hasattr(p, "checkpoint_state") for p in stateful.values())
        if resume and not resumable:
            from ecmsim.checkpoint import ResumeError
            raise ResumeError("--resume: this run (creep with contact) writes no checkpoints yet; run it without "
                              "--resume")
        if protocol is not None and resumable:
            from ecmsim.checkpoint import Checkpointer
            checkpointer = Checkpointer(out_dir, comm, stateful, scn.input_hash(), scn.protocol.checkpoint_interval_s,
                                        profile_rows)
        loop = TimeLoop(([cycling] if cycling else []) + [problem], protocol, progress, on_accept=on_accept,
                        on_checkpoint=checkpointer)
        start = None
        if resume and checkpointer is not None:
            start = checkpointer.load()
            progress(f"resumed from the checkpoint at t = {start['t_s']:.6g} s (step {len(start['history']) - 1})")
        elif checkpointer is not None:
            checkpointer.start_fresh()
        history = loop.run(start)
        if cycling is not None:
            cycling.close()
        solution = problem.solution()
        if series:
            series.close(history[-1]["time_s"])
        problem.close()  # collective PETSc teardown here, not whenever each rank collects it
        progress(f"solved: {solution.info['dofs']} dofs, {len(history)} step(s) ({progress.done('solve'):.1f} s)")

        # windows without an electrode (porous electrolyte, composite) have no interface
        profile = interface_profile(solution) if "interface" in tmesh.facet_ids else None
        metrics = profile.metrics(geometry.width_m) if profile is not None else {}
        metrics.update(field_metrics(solution))
        metrics.update(phase_metrics(solution))
        metrics.update(boundary_metrics(solution))
        contact = getattr(solution, "contact", {}).get("interface")
        if contact is not None:
            metrics.update(contact.metrics())
        for group, other in getattr(solution, "contact", {}).items():   # composite: electrode_particle...
            if group != "interface":
                metrics.update({f"{group}_{k}": v for k, v in other.metrics().items()})
        metrics["stack_pressure_Pa"] = scn.loading.stack_pressure_Pa
        if protocol is not None:
            metrics.update({k: v for k, v in history[-1].items() if isinstance(v, float) and k != "dt_s"})
            solution.info["time_steps"] = len(history) - 1
            solution.info["newton_iterations_total"] = sum(r["newton_iterations"] for r in history)
        warnings = solution_warnings(solution)
        for line in warnings:
            print(f"ecmsim: {line}", file=sys.stderr) if comm.rank == 0 else None
        progress.done("metrics")
        current = None
        if scn.electrochem is not None and cycling is None:
            from ecmsim.electrochem.stage import current_distribution
            echem_metrics, current = current_distribution(scn.electrochem, scn.loading.temperature_K, tmesh,
                                                          materials, profile, contact)
            metrics.update(echem_metrics)
            progress(f"current distribution: {current.info['potential_dofs']} dofs, "
                     f"{current.info['potential_newton_iterations']} Newton iteration(s) "
                     f"({progress.done('current'):.1f} s)")

        files = ["summary.json", "mesh.msh", "mesh.report.json"] + (["interface_profile.csv"] if profile else [])
        files += ["contact_profile.csv"] if contact else []
        if protocol is not None:
            files += ["history.csv"] + (["fields/series.pvd"] if series else [])
            if comm.rank == 0:
                write_history_csv(stage / "history.csv", history)
                if scn.output.plots:
                    from ecmsim import plots
                    title = plots.plain_text(plots.run_title(scn.title, overrides))
                    if plots.draw_or_warn(stage / "history.png", lambda p: history_plot(p, history, title)):
                        files.append("history.png")
        files += ["current_profile.csv"] if current is not None else []
        if cycling is not None:
            from ecmsim.electrochem.cycling import cycling_outputs
            files += cycling_outputs(stage, cycling, history, profile_rows, scn, metrics, comm.rank,
                                     plots_title=scn.title if scn.output.plots else None)
            if scn.fibre_readout is not None:   # the fibre through the cycles (docs/fibre_readout.md)
                from ecmsim.fibre_readout import readout_stage
                files += readout_stage(stage, scn, source, profile_rows, metrics, comm, progress, scn.output.plots)
        if scn.output.fields:
            files += write_fields(stage / "fields", solution, tmesh)
            progress(f"fields written ({progress.done('fields'):.1f} s)")
        if scn.output.plots and depth_m is None:   # 3D: the fields (ParaView) are the pictures
            from ecmsim import plots
            files += plots.write_run_plots(stage, solution, profile, contact, scn.loading.stack_pressure_Pa,
                                           plots.run_title(scn.title, overrides), comm,
                                           with_stress_map=mesh_stats["cells"] <= PLOT_MAX_CELLS)
            if current is not None and comm.rank == 0:
                title = plots.plain_text(plots.run_title(scn.title, overrides))
                if plots.draw_or_warn(stage / "current.png",
                                      lambda p: plots.current_plot(p, current.profile, current.metrics, title)):
                    files.append("current.png")
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
            if profile is not None:
                profile.to_csv(stage / "interface_profile.csv")
            if contact is not None:
                contact.to_csv(stage / "contact_profile.csv")
            if current is not None:
                current.profile.to_csv(stage / "current_profile.csv")
            write_summary(stage / "summary.json", summary)
    if checkpointer is not None:
        checkpointer.finish()      # the result is in place: its checkpoints are not needed any more
    progress(f"done in {progress.elapsed_s:.1f} s: {out_dir}/summary.json")
    _print_metrics(metrics, progress)
    return summary


def _mesh_stack(scn: scenario_mod.Scenario, source: Path, comm, stage: Path, progress: Progress):
    """``[geometry] kind = "image_stack"``: the stack read, aligned, segmented and meshed into voxel
    tetrahedra (mesh.msh, mesh.report.json); returns (window facts, 3D TaggedMesh)."""
    import json
    from types import SimpleNamespace

    g = scn.geometry
    progress(f"stack {g.path}: reading, aligning, segmenting, meshing voxels ...")
    tmesh, report = g.mesh(source.parent, comm, stage / "mesh.msh")
    if comm.rank == 0:
        (stage / "mesh.report.json").write_text(json.dumps({"dimension": 3, "kind": "image_stack", **report},
                                                           indent=2, default=str) + "\n")
    shape, voxel = report["labels_shape"], report["voxel_size_m"]
    return SimpleNamespace(width_m=report["width_m"], depth_m=shape[0] * voxel[0],
                           description=f"stack {g.path}"), tmesh


def _print_metrics(metrics: dict[str, float], progress: Progress) -> None:
    if progress.quiet:
        return
    for key in ("interface_normal_stress_mean_Pa", "interface_normal_stress_min_Pa",
                "interface_normal_stress_max_Pa", "von_mises_max_Pa", "contact_fraction", "contact_pressure_max_Pa",
                "electrode_von_mises_mean_Pa", "electrode_von_mises_max_Pa", "electrode_creep_strain_max",
                "time_s", "current_density_cv", "current_density_max_A_m2", "window_voltage_V",
                "cell_overpotential_V"):
        if key in metrics:
            progress(f"  {key:34s} = {metrics[key]:.6g}")
