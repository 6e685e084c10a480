"""The fibre cell of an ``fbg_cell`` scenario along the grating: one contact problem per distinct
local state (:class:`~ecmsim.fibre.cell.CellSectionSolver`), the core strain profile along z, and
its spectrum through the virtual FBG (:mod:`ecmsim.fbg`, the analysis of ``ecmsim fbg``).

:class:`CellModel` keeps the solved problems, so a pressure sweep re-solves without re-meshing or
re-compiling (validation/fbg_cell_sweep.py); ``ecmsim run`` drives it through the fibre-cell
stage (:mod:`ecmsim.run.stages.fibre`).
"""

from __future__ import annotations

from pathlib import Path

from ecmsim.core.progress import Progress
from ecmsim.fibre.cell import CellSectionSolver, ZState, piecewise_states, state_key, strain_profile


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


__all__ = ["CellModel"]
