"""The fibre stages.

- :class:`EmbeddingStage` (``kind = "fbg_cell"``, ``embedding = "process"``): the fibre's
  embedding in time (:class:`~ecmsim.fibre.model.ProcessCell`), read by the virtual FBG after every
  accepted step: ``spectra_history.csv`` and the history of splitting, peaks and fibre load
  (``history.csv``, ``fibre_history.png``), ``fibre_contact.csv``/``.png``.
- :class:`FibreCellStage` (``embedding = "given"``): the cell cross-section with the fibre
  (:class:`~ecmsim.fibre.model.CellModel`, one contact problem per distinct local state) solved at
  the stack pressure; the base state's fibre load and core strain, ``states.csv``,
  ``fibre_contact.csv``/``.png``, ``mesh.msh``.
- :class:`FbgStage`: the core strain profile along the grating -> spectrum, peaks and every
  ``fbg_*`` metric with the analysis of ``ecmsim fbg`` (``spectrum.csv``, ``peaks.csv``,
  ``strain_profile.csv``, ``spectrum.png``).
- :class:`ReadoutStage` (``[fibre_readout]`` of a cycling window): the window's interface history
  through the fibre cell of another scenario -> spectra over time (docs/fibre_readout.md).
"""

from __future__ import annotations

import math
import time

import numpy as np

from ecmsim.run.stages.base import Run, Stage


class EmbeddingStage(Stage):
    """The fibre's embedding in time at the stack pressure, and its spectrum after every accepted step."""

    name = "fibre_cell"

    def setup(self, run: Run) -> None:
        from ecmsim.fibre.model import ProcessCell

        self.model = ProcessCell(run.scn, run.progress)
        self.stack_pressure_Pa = run.scn.loading.stack_pressure_Pa
        self.loaded = False
        self.spectra: list = []          # (step, time, Spectrum, PeakReport) of every accepted step
        self._trial = None
        run.progress(f"fibre embedding: {self.model.foil.name} {self.model.foil.thickness_m * 1e6:g} um, membrane "
                     f"{self.model.membrane.thickness_m * 1e6:g} um, counter {self.model.counter.thickness_m * 1e6:g} um "
                     f"at {self.model.temperature_K:g} K")

    def advance(self, t_s: float, dt_s: float, step) -> int:
        # the embedding integrates its own stiff ODE inside the step (error control there); a step is
        # taken whole, so the loop's accept/reject has nothing to undo
        self.model.advance(self.stack_pressure_Pa, dt_s if self.loaded else 0.0)
        self.loaded = True
        return 0

    def metrics(self) -> dict[str, float]:
        """The embedded state and the FBG's reading after this step (history.csv)."""
        p = self.stack_pressure_Pa
        core = self.model.core(p)
        grid = self.spectra[0][2].wavelength_m if self.spectra else None
        spectrum, report, fbg, sections = self.model.spectrum(self.model.profile(p, core=core), grid,
                                                              seed_offset=len(self.spectra))
        self._last = (core, spectrum, report, fbg, sections)
        out = self.model.metrics(p, core)
        out.update({k: fbg[k] for k in ("fbg_splitting_pm", "fbg_eigen_splitting_pm", "fbg_peak_count",
                                        "fbg_peak_x_nm", "fbg_peak_y_nm", "fbg_shift_pm", "fbg_centroid_nm")})
        return {k: float(v) for k, v in out.items()}

    def on_step(self, run: Run, row: dict) -> None:
        _, spectrum, report, _, _ = self._last
        self.spectra.append((row["step"], row["time_s"], spectrum, report))

    def finish(self, run: Run) -> None:
        from ecmsim import materials as materials_lib
        from ecmsim.fbg import parameters

        scn, model = run.scn, self.model
        self.core, self.spectrum, self.report, fbg, self.sections = self._last
        self.profile = model.profile(self.stack_pressure_Pa, core=self.core)
        run.metrics.update({"stack_pressure_Pa": scn.loading.stack_pressure_Pa,
                            "temperature_K": scn.loading.temperature_K})
        run.metrics.update(model.metrics(self.stack_pressure_Pa, self.core))
        run.metrics.update(fbg)
        run.metrics["embedding_time_s"] = model.embedding.t_s
        run.summary["fbg"] = {"parameters": parameters.as_dict(model.grating, model.source, model.interrogator,
                                                               model.fibre_key),
                              "fibre": materials_lib.get(model.fibre_key).as_dict()}
        run.summary["embedding"] = {"layers": {lay.name: {"thickness_m": lay.thickness_m,
                                                          "youngs_modulus_Pa": lay.youngs_modulus_Pa,
                                                          "frame_modulus_Pa": lay.frame_modulus_Pa,
                                                          "flow_law": lay.law.__dict__}
                                               for lay in (model.foil, model.membrane, model.counter)}}
        m = run.metrics
        peaks = ", ".join(f"{w:.3f}" for w in m["fbg_peaks_nm"])
        run.progress(f"  after {model.embedding.t_s:g} s: fibre sunk {m['fibre_depth_in_electrode_m'] * 1e6:.1f} um into "
                     f"the foil, {m['fibre_depth_in_electrolyte_m'] * 1e6:.1f} um into the membrane, load "
                     f"{m['fibre_line_load_N_per_m']:.4g} N/m; {m['fbg_peak_count']} peak(s) [{peaks}] nm, read "
                     f"splitting {m['fbg_splitting_pm']:.1f} pm (eigenmodes {m['fbg_eigen_splitting_pm']:.1f} pm)")
        run.progress.done("fibre")

    def write(self, run: Run) -> list[str]:
        from ecmsim.io.fibre_cell import plot_embedding_history, plot_rim, write_rim, write_spectra_history
        from ecmsim.fbg.analysis import track_peaks
        from ecmsim.fbg.spectra import write_peaks_csv

        files = ["spectrum.csv", "peaks.csv", "strain_profile.csv", "fibre_contact.csv"]
        if run.comm.rank != 0:
            return files + (["spectra_history.csv"] if len(self.spectra) > 1 else [])
        model, title = self.model, run.scn.title or run.source.stem
        self.spectrum.write_csv(run.folder / "spectrum.csv")
        write_peaks_csv(run.folder / "peaks.csv", [(self.spectrum, self.report)], ["fbg cell"],
                        track_peaks([self.report], model.interrogator.track_max_jump_m), model.fibre)
        self.profile.write_csv(run.folder / "strain_profile.csv")
        write_rim(run.folder / "fibre_contact.csv", *self.core["tractions"])
        if len(self.spectra) > 1:
            write_spectra_history(run.folder / "spectra_history.csv", self.spectra)
            files.append("spectra_history.csv")
        if run.scn.output.plots:
            from ecmsim.fbg.plots import plot_spectrum
            p = run.scn.loading.stack_pressure_Pa
            plot_spectrum(run.folder / "spectrum.png", self.spectrum, self.report, self.sections,
                          title=f"{title}: {p / 1e6:g} MPa, {model.embedding.t_s / 3600:g} h")
            plot_rim(run.folder / "fibre_contact.png", *self.core["tractions"], title)
            files += ["spectrum.png", "fibre_contact.png"]
            if len(run.history) > 2:
                plot_embedding_history(run.folder / "fibre_history.png", run.history, title)
                files.append("fibre_history.png")
        return files


class FibreCellStage(Stage):
    """The fibre in the cell with a given embedded state, at the stack pressure (one solve per
    distinct state along the grating)."""

    name = "fibre_cell"

    def setup(self, run: Run) -> None:
        from ecmsim.fibre.model import CellModel

        self.model = CellModel(run.scn, run.progress, msh_path=run.folder / "mesh.msh", comm=run.comm)
        self.stack_pressure_Pa, self.progress = run.scn.loading.stack_pressure_Pa, run.progress
        self.results = None
        run.progress.done("mesh")

    def advance(self, t_s: float, dt_s: float, step) -> int:
        if self.results is None:     # elastic: the loads applied once, nothing changes in time
            self.results = self.model.solve(self.stack_pressure_Pa)
            self.progress(f"solved ({self.progress.done('solve'):.1f} s)")
        return 0

    @property
    def base(self):
        """The result of the base state (the first stretch along the grating)."""
        from ecmsim.fibre.cell import state_key
        return self.results[state_key(self.model.pieces[0][2])]

    def finish(self, run: Run) -> None:
        from ecmsim.fibre.cell import state_key

        scn = run.scn
        run.metrics.update({"stack_pressure_Pa": scn.loading.stack_pressure_Pa,
                            "temperature_K": scn.loading.temperature_K})
        run.metrics.update(self.base.metrics)
        run.metrics["fbg_cell_stretches"] = len(self.model.pieces)
        run.metrics["fbg_cell_distinct_states"] = len(self.model.solvers)
        self.states = [{"z_from_m": z0, "z_to_m": z1, **section.as_dict(), **self.results[state_key(section)].metrics}
                       for z0, z1, section in self.model.pieces]
        run.summary["states"] = self.states
        run.summary["mesh"] = next(iter(self.model.solvers.values())).stats()
        run.summary["solver"] = dict(self.base.solution.info)

    def write(self, run: Run) -> list[str]:
        from ecmsim.io.fibre_cell import plot_contact, write_contact, write_states

        files = ["mesh.msh", "states.csv", "fibre_contact.csv"]
        if run.comm.rank == 0:
            write_states(run.folder / "states.csv", self.states)
            write_contact(run.folder / "fibre_contact.csv", self.base)
            if run.scn.output.plots:
                plot_contact(run.folder / "fibre_contact.png", self.base, run.scn.title or run.source.stem)
                files.append("fibre_contact.png")
        return files

    def close(self) -> None:
        self.model.close()


class FbgStage(Stage):
    """The virtual FBG of a fibre-cell run: core strain along the grating -> spectrum -> peaks."""

    name = "fbg"

    def __init__(self, cell: FibreCellStage):
        self.cell = cell

    def finish(self, run: Run) -> None:
        from ecmsim import materials as materials_lib
        from ecmsim.fbg import parameters

        model = self.cell.model
        self.profile = model.profile(self.cell.results, run.scn.loading.temperature_K)
        self.spectrum, self.report, fbg_metrics, self.sections = model.spectrum(self.profile)
        run.metrics.update(fbg_metrics)
        run.summary["fbg"] = {"parameters": parameters.as_dict(model.grating, model.source, model.interrogator,
                                                               model.fibre_key),
                              "fibre": materials_lib.get(model.fibre_key).as_dict()}
        run.progress.done("fbg")
        m = run.metrics
        peaks = ", ".join(f"{w:.3f}" for w in m["fbg_peaks_nm"])
        run.progress(f"  fibre line load {m['fibre_line_load_N_per_m']:.4g} N/m; {m['fbg_peak_count']} peak(s) "
                     f"[{peaks}] nm, splitting {m['fbg_splitting_pm']:.1f} pm, shift {m['fbg_shift_pm']:.1f} pm")

    def write(self, run: Run) -> list[str]:
        files = ["spectrum.csv", "peaks.csv", "strain_profile.csv"]
        if run.comm.rank == 0:
            from ecmsim.fbg.analysis import track_peaks
            from ecmsim.fbg.spectra import write_peaks_csv   # the same peaks.csv as `ecmsim fbg`

            model = self.cell.model
            self.spectrum.write_csv(run.folder / "spectrum.csv")
            write_peaks_csv(run.folder / "peaks.csv", [(self.spectrum, self.report)], ["fbg cell"],
                            track_peaks([self.report], model.interrogator.track_max_jump_m), model.fibre)
            self.profile.write_csv(run.folder / "strain_profile.csv")
            if run.scn.output.plots:
                from ecmsim.fbg.plots import plot_spectrum
                p = run.scn.loading.stack_pressure_Pa
                plot_spectrum(run.folder / "spectrum.png", self.spectrum, self.report, self.sections,
                              title=f"{run.scn.title or run.source.stem}: {p / 1e6:g} MPa")
                files.append("spectrum.png")
        return files


class ReadoutStage(Stage):
    """The fibre read-out of the run's own cycling window (``[fibre_readout]``): the cell library is
    solved on all ranks; optics and files on rank 0."""

    name = "fibre_readout"

    def __init__(self, cycling):
        self.cycling = cycling

    def finish(self, run: Run) -> None:
        from ecmsim.fibre.model import cell_model
        from ecmsim.fibre.readout import ReadoutOptions, WindowHistory, compute
        from ecmsim.scenario import load_cell

        scn, progress, comm = run.scn, run.progress, run.comm
        section = scn.fibre_readout
        start = time.perf_counter()
        cell, path = load_cell(section.cell_scenario, run.source.parent)
        supply = self.cycling.problem.void_supply    # the window's void supply law: creep, diffusion, skeleton
        network = supply.network_current_A_m2        # the skeleton's supply (Li-Sn), 0 for Li
        voids = None
        if scn.cycling.persistent_voids:
            voids = supply
            progress(f"fibre read-out: voids that persist beside the fibre, "
                     f"{voids.describe(scn.loading.stack_pressure_Pa)}")
        options = ReadoutOptions(section.sections, section.output_interval_s, tuple(section.library_pressure_factors),
                                 section.pressure_mapping, creep=scn.creep.enabled, voids=voids,
                                 dead_li_porosity=scn.cycling.dead_li_porosity, bulk_supply=network > 0)
        p = scn.loading.stack_pressure_Pa
        if not math.isclose(cell.loading.stack_pressure_Pa, p, rel_tol=1e-9):
            progress(f"fibre read-out: note: the cell scenario's stack pressure {cell.loading.stack_pressure_Pa:g} Pa "
                     f"differs from this run's {p:g} Pa; the library is built around this run's")
        window = WindowHistory.from_rows(np.vstack(self.cycling.profile_rows))
        model = cell_model(cell, progress, comm=comm)
        try:
            self.readout = compute(window, model, p, options, cell.loading.temperature_K, progress,
                                   optics=comm.rank == 0)
        finally:
            model.close()
        self.fibre = model.fibre
        if comm.rank == 0:
            self.readout.metrics["fbg_readout_cell_scenario"] = str(path)
        m = comm.bcast(self.readout.metrics if comm.rank == 0 else None, root=0)
        m["fbg_readout_wall_time_s"] = time.perf_counter() - start
        progress.done("fibre_readout")      # its own entry of timings_s (else the fields' next entry takes it)
        # summary.json metrics are numbers (and lists of numbers); the words stay in fibre_readout.json
        run.metrics.update({k: v for k, v in m.items() if not isinstance(v, str)})
        source = (f"{len(m['fbg_readout_library_pressures_Pa'])} library pressures" if self.readout.library else
                  f"force balance within {m.get('fbg_readout_force_balance_error_max', 0.0):.1e}")
        progress(f"fibre read-out: {m['fbg_readout_times']} times, {source}; peaks {m['fbg_peak_count_initial']} -> {m['fbg_peak_count_final']} (spread "
                 f"{m['fbg_peak_spread_final_nm']:.3f} nm), max |delta sigma| {m['fbg_delta_sigma_max_Pa'] / 1e6:.1f} "
                 f"MPa ({m['fbg_readout_wall_time_s']:.1f} s)")

    def write(self, run: Run) -> list[str]:
        if run.comm.rank != 0:
            return []
        from ecmsim.io.readout import write_outputs
        return write_outputs(run.folder, self.readout, self.fibre, run.scn.title or run.source.stem,
                             run.scn.output.plots)


__all__ = ["EmbeddingStage", "FibreCellStage", "FbgStage", "ReadoutStage"]
