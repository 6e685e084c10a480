"""``ecmsim run`` of a scenario with ``[geometry] kind = "fbg_cell"``: cell -> fibre -> spectrum.

Stack pressure -> one contact solve per distinct local state along the grating
(:mod:`ecmsim.fibre_cell`) -> core strain profile along z -> the virtual FBG of ``[fbg]`` (the
same parameters and the same analysis as ``ecmsim fbg``) -> ``summary.json`` (every ``fbg_*``
metric, the ``fibre_*`` metrics of the base section), ``spectrum.csv``, ``peaks.csv``,
``spectrum.png``, ``strain_profile.csv``, ``states.csv``, ``fibre_contact.csv``, ``mesh.msh``.

:class:`CellModel` keeps the solved problems, so a pressure sweep re-solves without re-meshing or
re-compiling (validation/fbg_cell_sweep.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ecmsim.fibre_cell import CellSectionSolver, ZState, piecewise_states, state_key, strain_profile
from ecmsim.progress import Progress


class CellModel:
    """The cell of a scenario: one contact problem per distinct local state, the FBG parameters."""

    def __init__(self, scn, progress: Progress | None = None, msh_path: Path | None = None, comm=None):
        from ecmsim.fbg import parameters
        from ecmsim.fbg.optics import Fibre

        self.scn = scn
        g = scn.geometry
        self.progress = progress or Progress(quiet=True)
        self.grating, self.source, self.interrogator, self.fibre_key = parameters.from_settings(scn.fbg_settings())
        self.fibre = Fibre.from_material(self.fibre_key)
        self.base = g.section()
        if abs(self.fibre.diameter_m - self.base.fibre_diameter_m) > 1e-9:
            self.progress(f"note: geometry.fibre_diameter_m = {self.base.fibre_diameter_m:g} m differs from the "
                          f"fibre record's {self.fibre.diameter_m:g} m; the geometry's is used")
        states = [ZState(s.z_from_m, s.z_to_m, s.overrides()) for s in g.states]
        self.pieces = piecewise_states(self.base, states, self.grating.length_m)
        mats = scn.materials.resolve()
        itf, m = scn.interface, scn.mesh
        self.solvers: dict[tuple, CellSectionSolver] = {}
        for i, (_, _, section) in enumerate(self.pieces):
            key = state_key(section)
            if key in self.solvers:
                continue
            self.solvers[key] = CellSectionSolver(
                section, mats["electrode"], mats["electrolyte"], self.fibre,
                (m.size_m, m.interface_size_m or m.size_m / 10, m.refine_distance_m, m.max_cells),
                axial=g.fibre_axial_strain, sides=g.sides, load_steps=itf.load_steps,
                nitsche_parameter=itf.nitsche_parameter, newton_max_iterations=itf.newton_max_iterations,
                degree=scn.solver.element_degree, comm=comm,
                msh_path=msh_path if (msh_path is not None and i == 0) else None)
        self.progress(f"{len(self.pieces)} stretch(es) along the grating, {len(self.solvers)} distinct state(s); "
                      f"mesh of the first: {next(iter(self.solvers.values())).stats()['cells']} triangles")

    def solve(self, stack_pressure_Pa: float):
        """Results per distinct state at one stack pressure: {state key: SectionResult}."""
        out = {}
        for n, (key, solver) in enumerate(self.solvers.items(), 1):
            out[key] = solver.solve(stack_pressure_Pa)
            r = out[key].metrics
            self.progress(f"  state {n}/{len(self.solvers)}: fibre load {r['fibre_line_load_N_per_m']:.4g} N/m, "
                          f"core sigma_xx {r['fibre_core_stress_xx_Pa'] / 1e6:.3f} MPa, sigma_yy "
                          f"{r['fibre_core_stress_yy_Pa'] / 1e6:.3f} MPa, {r['fibre_force_balance_iterations']} "
                          f"force-balance iteration(s)")
        return out

    def profile(self, results, temperature_K: float | None = None):
        """Core strain along the grating (z from its start) from solved states."""
        cores = {k: r.core for k, r in results.items()}
        return strain_profile(self.pieces, cores, temperature_K, source="fbg cell")

    def spectrum(self, profile):
        """(Spectrum, PeakReport, metrics) with the analysis of ``ecmsim fbg``."""
        from ecmsim.fbg.sensor import grating_sections, simulate, summary_metrics

        grating = self.grating
        spectrum, report = simulate(profile, grating, self.interrogator, fibre=self.fibre, source=self.source)
        reference = None
        if profile.T_K is not None:
            reference = simulate(profile.with_strain_zeroed(), grating, self.interrogator, fibre=self.fibre,
                                 source=self.source, wavelength_m=spectrum.wavelength_m)[1]
        sections = grating_sections(profile, grating, self.fibre)
        return spectrum, report, summary_metrics(spectrum, report, sections, self.fibre, reference), sections

    def close(self) -> None:
        for s in self.solvers.values():
            s.close()


def run_fbg_cell(scn, source: Path, out_dir: Path, quiet: bool = False, overwrite: bool = False) -> dict[str, Any]:
    """Run an ``fbg_cell`` scenario and write its results into ``out_dir`` (see the module docstring)."""
    from ecmsim import materials as materials_lib
    from ecmsim.fbg import parameters
    from ecmsim.fem import MPI
    from ecmsim.outputs import result_folder
    from ecmsim.report import provenance, write_summary

    comm = MPI.COMM_WORLD
    progress = Progress(quiet, comm.rank)
    progress(f"scenario {source} ({scn.title or 'untitled'}), fbg cell, {comm.size} MPI rank(s)")
    p = scn.loading.stack_pressure_Pa
    with result_folder(out_dir, comm, command="run", overwrite=overwrite) as stage:
        model = CellModel(scn, progress, msh_path=stage / "mesh.msh", comm=comm)
        progress.done("mesh")
        results = model.solve(p)
        progress(f"solved ({progress.done('solve'):.1f} s)")
        profile = model.profile(results, scn.loading.temperature_K)
        spectrum, report, fbg_metrics, sections = model.spectrum(profile)
        progress.done("fbg")
        base = results[state_key(model.pieces[0][2])]
        metrics: dict[str, Any] = {"stack_pressure_Pa": p, "temperature_K": scn.loading.temperature_K}
        metrics.update(base.metrics)
        metrics.update(fbg_metrics)
        metrics["fbg_cell_stretches"] = len(model.pieces)
        metrics["fbg_cell_distinct_states"] = len(model.solvers)
        states = [{"z_from_m": z0, "z_to_m": z1, **section.as_dict(), **results[state_key(section)].metrics}
                  for z0, z1, section in model.pieces]
        files = ["summary.json", "mesh.msh", "spectrum.csv", "peaks.csv", "strain_profile.csv", "states.csv",
                 "fibre_contact.csv"]
        if comm.rank == 0:
            from ecmsim.fbg.analysis import track_peaks
            from ecmsim.fbg.cli import _write_peaks   # the same peaks.csv as `ecmsim fbg`
            spectrum.write_csv(stage / "spectrum.csv")
            _write_peaks(stage / "peaks.csv", [(spectrum, report)], ["fbg cell"],
                         track_peaks([report], model.interrogator.track_max_jump_m), model.fibre)
            profile.write_csv(stage / "strain_profile.csv")
            _write_states(stage / "states.csv", states)
            _write_contact(stage / "fibre_contact.csv", base)
            if scn.output.plots:
                from ecmsim.fbg.plots import plot_spectrum
                plot_spectrum(stage / "spectrum.png", spectrum, report, sections,
                              title=f"{scn.title or source.stem}: {p / 1e6:g} MPa")
                _plot_contact(stage / "fibre_contact.png", base, scn.title or source.stem)
                files += ["spectrum.png", "fibre_contact.png"]
        progress.done("write")
        mesh_stats = next(iter(model.solvers.values())).stats()
        summary = {
            "title": scn.title,
            "scenario_file": str(source),
            "input_hash_sha256": scn.input_hash(),
            "metrics": metrics,
            "states": states,
            "mesh": mesh_stats,
            "solver": {k: v for k, v in base.solution.info.items()},
            "materials": {region: mat.as_dict() for region, mat in scn.materials.resolve().items()},
            "fbg": {"parameters": parameters.as_dict(model.grating, model.source, model.interrogator,
                                                     model.fibre_key),
                "fibre": materials_lib.get(model.fibre_key).as_dict()},
            "scenario": scn.to_dict(),
            "provenance": provenance(),
            "timings_s": progress.timings_s,
            "files": files,
        }
        model.close()
        if comm.rank == 0:
            from ecmsim.fbg.cli import _clean
            write_summary(stage / "summary.json", json.loads(json.dumps(_clean(summary))))
    progress(f"done in {progress.elapsed_s:.1f} s: {out_dir}/summary.json")
    if not progress.quiet:
        peaks = ", ".join(f"{w:.3f}" for w in metrics["fbg_peaks_nm"])
        progress(f"  fibre line load {metrics['fibre_line_load_N_per_m']:.4g} N/m; {metrics['fbg_peak_count']} "
                 f"peak(s) [{peaks}] nm, splitting {metrics['fbg_splitting_pm']:.1f} pm, shift "
                 f"{metrics['fbg_shift_pm']:.1f} pm")
    return summary


def _write_states(path: Path, states: list[dict]) -> None:
    keys = [k for k, v in states[0].items() if isinstance(v, (int, float))]
    lines = [",".join(keys)] + [",".join(repr(float(s[k])) for k in keys) for s in states]
    path.write_text("\n".join(lines) + "\n")


def _write_contact(path: Path, result) -> None:
    """Pressure on the fibre rim (half model and its mirror image) against the angle."""
    rows = []
    for name, t in result.profiles.items():
        for th, pr, w in zip(t.theta_rad, t.pressure_Pa, t.weight_m):
            rows.append((name, float(np.degrees(th)), float(pr), float(w)))
    rows.sort(key=lambda r: r[1])
    lines = ["body,theta_deg,contact_pressure_Pa,weight_m"] + [f"{b},{a!r},{p!r},{w!r}" for b, a, p, w in rows]
    path.write_text("\n".join(lines) + "\n")


def _plot_contact(path: Path, result, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    for name, t in result.profiles.items():
        order = np.argsort(t.theta_rad)
        ax.plot(np.degrees(t.theta_rad[order]), t.pressure_Pa[order] / 1e6, ".", ms=2, label=name)
    ax.set_xlabel("angle on the fibre rim from +x [deg] (90: top, -90: bottom)")
    ax.set_ylabel("contact pressure [MPa]")
    m = result.metrics
    ax.set_title(f"{title}: fibre load {m['fibre_line_load_N_per_m'] / 1e3:.3g} N/mm", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
