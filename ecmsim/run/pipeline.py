"""One run of ``ecmsim run``: scenario -> stages -> one time loop -> files.

Every kind of run goes through :func:`run_scenario`: the scenario lists its stages
(:func:`ecmsim.run.stages.build_stages`), each is set up once, the one time loop
(:mod:`ecmsim.run.timeloop`) advances all of them through the protocol (a scenario without
``[protocol]`` is one static step), then each stage finishes (final metrics) and writes its files
into the staging folder, and ``summary.json`` closes the result. The result folder rules
(staging, manifest, foreign files refused) are :mod:`ecmsim.io.folders`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from ecmsim import scenario as scenario_mod
from ecmsim.core import interrupt
from ecmsim.core.progress import Progress


def default_out_dir(scenario_path: Path, overrides: list[str] | None = None) -> Path:
    """``results/<scenario file stem>`` under the current folder, with a suffix naming the
    ``--set`` overrides (``results/flat_bilayer+stack_pressure_Pa=3e6``)."""
    from ecmsim.io.folders import default_result_name
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
    """Run a validated scenario and write its results into ``out_dir`` (see :mod:`ecmsim.io.folders`:
    an existing folder is replaced only when complete, and only if ecmsim wrote all of it, or
    ``overwrite``). ``overrides`` (the ``--set`` items) are named in the plot titles."""
    from ecmsim.core.fem import MPI
    from ecmsim.io.folders import result_folder
    from ecmsim.run.stages import Run, build_stages
    from ecmsim.scenario.guards import plausibility_warnings

    comm = MPI.COMM_WORLD
    progress = Progress(quiet, comm.rank)
    progress(f"scenario {source} ({scn.title or 'untitled'}), {comm.size} MPI rank(s)")
    unlikely = plausibility_warnings(scn)   # said now, before minutes of work: the value may be a slip
    for line in unlikely:
        print(f"ecmsim: {line}", file=sys.stderr, flush=True) if comm.rank == 0 else None
    stages = build_stages(scn)
    protocol = scn.protocol.build() if scn.protocol is not None else None
    with result_folder(out_dir, comm, command="run", overwrite=overwrite) as folder:
        run = Run(scn, source, folder, comm, progress, overrides, out_dir, protocol,
                  materials=scn.materials.resolve())
        try:
            summary, checkpointer = _run_stages(run, stages, resume, unlikely)
        finally:
            run.discard_alone()   # what a failed run had queued (the gmsh model kept for mesh.msh)
    if checkpointer is not None:
        checkpointer.finish()      # the result is in place: its checkpoints are not needed any more
    progress(f"done in {progress.elapsed_s:.1f} s: {out_dir}/summary.json")
    _print_metrics(run.metrics, progress)
    return summary


def _run_stages(run, stages, resume: bool, unlikely: list[str]) -> tuple[dict[str, Any], Any]:
    """Set up, time-step, finish and write the stages of ``run`` into its staging folder: the
    summary and the checkpointer (None without checkpoints)."""
    from ecmsim.io.summary import provenance, write_summary
    from ecmsim.run.timeloop import TimeLoop

    scn, source, comm, folder, protocol, progress = run.scn, run.source, run.comm, run.folder, run.protocol, run.progress
    overrides = run.overrides
    for stage in stages:
        stage.setup(run)
    checkpointer = _checkpointer(run, stages, resume)

    def on_accept(row: dict) -> None:
        for stage in stages:
            stage.on_step(run, row)

    loop = TimeLoop(sorted(stages, key=lambda s: s.loop_order), protocol, progress, on_accept=on_accept,
                    on_checkpoint=checkpointer)
    start = None
    if resume and checkpointer is not None:
        start = checkpointer.load()
        progress(f"resumed from the checkpoint at t = {start['t_s']:.6g} s (step {len(start['history']) - 1})")
    elif checkpointer is not None:
        checkpointer.start_fresh()
    try:
        run.history = loop.run(start)
    except BaseException as err:
        # Ctrl-C / SIGTERM: --resume continues from the last accepted step. The signal comes as
        # KeyboardInterrupt, or as the error it caused on its way through PETSc: inside a petsc4py
        # callback (a Newton residual) it returns as PETSc error 101, which is the interrupt all the
        # same (as in cli.main); it used to pass here without a checkpoint (1 run in 5-8 in a test)
        if (isinstance(err, KeyboardInterrupt) or interrupt.interrupted_status() is not None) \
                and checkpointer is not None and comm.size == 1:
            checkpointer.save_last(loop)
        raise
    for stage in stages:
        stage.finish(run)
    for stage in stages:
        stage.close()   # collective PETSc teardown here, not whenever each rank collects it
    for line in run.warnings:
        print(f"ecmsim: {line}", file=sys.stderr) if comm.rank == 0 else None
    files = ["summary.json"]
    for stage in stages:
        files += stage.write(run)
    files += run.run_alone()   # each rank's own files at the same time (mesh file, VTU | plots)
    if protocol is not None:
        files += _write_history(run)
    summary = {"title": scn.title, "scenario_file": str(source), "overrides": list(overrides or []),
               "input_hash_sha256": scn.input_hash(),
               "metrics": run.metrics, **run.summary,
               "materials": {region: mat.as_dict() for region, mat in run.materials.items()},
               "scenario": scn.to_dict(), "provenance": provenance(), "timings_s": progress.timings_s,
               "files": files, "warnings": unlikely + run.warnings}
    if comm.rank == 0:
        write_summary(folder / "summary.json", summary)
    return summary, checkpointer


def _checkpointer(run, stages, resume: bool):
    """The checkpoints of a protocol run whose stateful stages can all be saved, or None."""
    stateful = {s.name: s for s in stages if s.stateful}
    resumable = bool(stateful) and all(s.checkpointed for s in stateful.values())
    if resume and (run.protocol is None or not stateful):
        from ecmsim.run.checkpoint import ResumeError
        raise ResumeError("--resume: this run has no time steps to resume (no [protocol], or nothing in it keeps "
                          "a state: a static solve); run it without --resume")
    if resume and not resumable:
        from ecmsim.run.checkpoint import ResumeError
        raise ResumeError("--resume: this run (creep with contact, no plating or stripping) writes no checkpoints "
                          "yet; run it without --resume")
    if run.protocol is None or not resumable:
        return None
    from ecmsim.run.checkpoint import Checkpointer
    rows = next((s.profile_rows for s in stages if hasattr(s, "profile_rows")), [])
    return Checkpointer(run.out_dir, run.comm, stateful, run.scn.input_hash(), run.scn.protocol.checkpoint_interval_s,
                        rows, protocol_end_s=run.protocol.duration_s)


def _write_history(run) -> list[str]:
    """history.csv (one row per accepted time step) and history.png."""
    from ecmsim.io.history import history_plot, write_history_csv

    if run.comm.rank != 0:
        return ["history.csv"]
    write_history_csv(run.folder / "history.csv", run.history)
    files = ["history.csv"]
    # history.png draws the creep of the window's regions; runs without them (the fibre cell) draw their own
    if run.scn.output.plots and any(k.endswith("_von_mises_max_Pa") for k in run.history[-1]):
        from ecmsim.core.figures import draw_or_warn, plain_text
        title = plain_text(run.title)
        if draw_or_warn(run.folder / "history.png", lambda p: history_plot(p, run.history, title)):
            files.append("history.png")
    return files


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


__all__ = ["run_scenario", "run_scenario_file", "default_out_dir"]
