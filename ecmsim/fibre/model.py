"""The fibre cell of an ``fbg_cell`` scenario along the grating, and its spectrum through the virtual
FBG (:mod:`ecmsim.fbg`, the analysis of ``ecmsim fbg``).

- :class:`ProcessCell` (``embedding = "process"``, the default): the embedding in time
  (:class:`~ecmsim.fibre.embedding.Embedding`: the fibre pressed into foil and membrane by creep,
  the membrane bridging it) and the fibre's axial strain along the grating from the cell body's
  anchors and the layers' shear lag (:mod:`ecmsim.fibre.axial`). No finite elements: a step
  takes milliseconds.
- :class:`CellModel` (``embedding = "given"``): the embedded state prescribed; one elastic contact
  problem per distinct local state (:class:`~ecmsim.fibre.cell.CellSectionSolver`). It keeps the
  solved problems, so a pressure sweep re-solves without re-meshing or re-compiling.

``ecmsim run`` drives both through the fibre-cell stage (:mod:`ecmsim.run.stages.fibre`).
"""

from __future__ import annotations

from pathlib import Path

import math

import numpy as np

from ecmsim.core.progress import Progress
from ecmsim.fibre.cell import (CellSectionSolver, ZState, core_strain, disc_centre_stress, piecewise_states,
                               state_key, strain_profile)


class _Optics:
    """What both cell models share: the FBG of the scenario and the spectrum of a core-strain profile."""

    def _fbg(self, scn) -> None:
        from ecmsim.fbg import parameters
        from ecmsim.fbg.optics import Fibre

        self.grating, self.source, self.interrogator, self.fibre_key = parameters.from_settings(scn.fbg_settings())
        self.fibre = Fibre.from_material(self.fibre_key)

    def spectrum(self, profile, wavelength_m=None, seed_offset: int = 0):
        """(Spectrum, PeakReport, metrics, sections) with the analysis of ``ecmsim fbg``."""
        from ecmsim.fbg.sensor import grating_sections, simulate, summary_metrics

        grating = self.grating
        spectrum, report = simulate(profile, grating, self.interrogator, fibre=self.fibre, source=self.source,
                                    wavelength_m=wavelength_m, seed_offset=seed_offset, workers=1)
        reference = None
        if profile.T_K is not None:
            reference = simulate(profile.with_strain_zeroed(), grating, self.interrogator, fibre=self.fibre,
                                 source=self.source, wavelength_m=spectrum.wavelength_m, workers=1)[1]
        sections = grating_sections(profile, grating, self.fibre)
        return spectrum, report, summary_metrics(spectrum, report, sections, self.fibre, reference), sections


class CellModel(_Optics):
    """The cell of a scenario with its embedded state given: one contact problem per distinct local
    state, the FBG parameters."""

    def __init__(self, scn, progress: Progress | None = None, msh_path: Path | None = None, comm=None):
        self.scn = scn
        g = scn.geometry
        self.progress = progress or Progress(quiet=True)
        self._fbg(scn)
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

    def close(self) -> None:
        for s in self.solvers.values():
            s.close()


class ProcessCell(_Optics):
    """The fibre cell of an ``embedding = "process"`` scenario: the embedding in time, the fibre's
    axial strain, the spectrum.

    :meth:`advance` moves the embedding by dt at a stack pressure; :meth:`core` and :meth:`profile`
    give the core strain (at the grating's centre, and along it); :meth:`spectrum` reads it.
    """

    def __init__(self, scn, progress: Progress | None = None):
        from ecmsim.fibre.axial import AxialSupport, anchor_stiffness
        from ecmsim.fibre.embedding import Embedding

        self.scn = scn
        g = scn.geometry
        self.progress = progress or Progress(quiet=True)
        self._fbg(scn)
        self.temperature_K = scn.loading.temperature_K
        mats = scn.materials.resolve()
        self.foil, self.membrane, self.counter = layers_of(g, mats["electrode"], mats["electrolyte"],
                                                          self.temperature_K)
        self.embedding = Embedding(g.fibre_diameter_m, self.foil, self.membrane, self.counter,
                                   initial_depth_m=g.initial_contact_depth_m)
        self.axial = g.fibre_axial_strain
        self.radius_m = 0.5 * g.fibre_diameter_m
        ea = self.fibre.youngs_modulus_Pa * math.pi * self.radius_m ** 2
        self.support = AxialSupport(0.5 * g.electrode_diameter_m, 0.5 * g.body_bore_m, 0.0,
                                    anchor_stiffness(g.anchor_shear_modulus_Pa, g.anchor_length_m,
                                                     g.anchor_hole_diameter_m, self.radius_m, ea))
        self.body_expansion_per_K = g.body_thermal_expansion_per_K
        self.anchor_temperature_K = self.grating.reference_temperature_K

    def advance(self, stack_pressure_Pa: float, dt_s: float):
        """The embedded state after dt_s at the stack pressure (:meth:`~ecmsim.fibre.embedding.Embedding.advance`)."""
        return self.embedding.advance(stack_pressure_Pa, dt_s)

    def shear_lag_stiffness(self, foil_tr, membrane_tr) -> float:
        """k of the layers holding the fibre along z [N/m²]: each layer's shear modulus as it is now
        (a layer that flows holds nothing: only a connected skeleton's frame; an elastic layer all of
        it) over the arc of the rim it touches (:func:`ecmsim.fibre.axial.shear_lag_stiffness`)."""
        from ecmsim.fibre.axial import shear_lag_stiffness

        k = 0.0
        for layer, tr in ((self.foil, foil_tr), (self.membrane, membrane_tr)):
            modulus = layer.frame_modulus_Pa if layer.law.creeps() else layer.youngs_modulus_Pa
            loaded = tr.pressure_Pa > 1e-3 * max(float(tr.pressure_Pa.max()), 1e-300)
            arc = float(np.sum(tr.weight_m[loaded])) / (2 * math.pi * self.radius_m)
            k += shear_lag_stiffness(modulus / (2 * (1 + layer.poissons_ratio)), min(arc, 1.0),
                                     layer.thickness_m, self.radius_m)
        return k

    def core(self, stack_pressure_Pa: float, temperature_K: float | None = None) -> dict:
        """Core stresses and strains at the grating's centre, the rim tractions and the axial model's
        inputs [SI]."""
        from dataclasses import replace

        from ecmsim.fibre.axial import axial_strain

        T = self.temperature_K if temperature_K is None else temperature_K
        foil_tr, membrane_tr, loads = self.embedding.tractions(stack_pressure_Pa)
        sxx, syy, sxy = disc_centre_stress(foil_tr + membrane_tr)
        fibre = self.fibre
        eps_pressed = -fibre.poissons_ratio * (sxx + syy) / fibre.youngs_modulus_Pa
        k = self.shear_lag_stiffness(foil_tr, membrane_tr)
        support = replace(self.support, shear_stiffness_N_per_m2=k)
        ea = fibre.youngs_modulus_Pa * math.pi * self.radius_m ** 2
        eps_anchor = (self.body_expansion_per_K - fibre.thermal_expansion_per_K) * (T - self.anchor_temperature_K)
        half = 0.5 * self.grating.length_m
        z = np.linspace(-half, half, 41)
        if self.axial == "coupled":
            ezz = axial_strain(z, support, ea, eps_pressed, 0.0, 0.0, eps_anchor)
        else:
            ezz = np.zeros_like(z) if self.axial == "fixed" else np.full_like(z, eps_pressed)
        centre = core_strain(sxx, syy, sxy, fibre, "coupled", float(ezz[len(z) // 2]))
        return {"core": centre, "z_m": z + half, "ezz": ezz, "sxx": sxx, "syy": syy, "sxy": sxy,
                "tractions": (foil_tr, membrane_tr), "loads_N_per_m": loads, "shear_lag_N_per_m2": k,
                "temperature_K": T}

    def profile(self, stack_pressure_Pa: float, temperature_K: float | None = None, core: dict | None = None):
        """Core strain along the grating (z from its start): the cross-section's transverse strain and
        the axial model's eps_zz(z)."""
        from ecmsim.fbg.profile import StrainProfile

        c = core or self.core(stack_pressure_Pa, temperature_K)
        rows = [core_strain(c["sxx"], c["syy"], c["sxy"], self.fibre, "coupled", float(e)) for e in c["ezz"]]
        get = lambda key: np.array([r[key] for r in rows])  # noqa: E731
        return StrainProfile(z_m=c["z_m"], exx=get("exx"), eyy=get("eyy"), ezz=get("ezz"), exy=get("exy"),
                             T_K=np.full(len(rows), c["temperature_K"]), source="fbg cell (embedding)")

    def metrics(self, stack_pressure_Pa: float, core: dict) -> dict[str, float]:
        """The embedded state's and the fibre's metrics (names as the given-state cell where shared)."""
        st = self.embedding.state(stack_pressure_Pa)
        out = dict(st.metrics())
        c = core["core"]
        out.update({"fibre_core_stress_xx_Pa": c["sxx_Pa"], "fibre_core_stress_yy_Pa": c["syy_Pa"],
                    "fibre_core_stress_xy_Pa": c["sxy_Pa"], "fibre_core_stress_zz_Pa": c["szz_Pa"],
                    "fibre_core_strain_xx": c["exx"], "fibre_core_strain_yy": c["eyy"],
                    "fibre_core_strain_zz": c["ezz"], "fibre_core_strain_xy": c["exy"],
                    "fibre_load_strip_width_m": st.fibre_line_load_N_per_m / stack_pressure_Pa,
                    "fibre_axial_shear_lag_N_per_m2": core["shear_lag_N_per_m2"],
                    "fibre_core_strain_zz_min": float(np.min(core["ezz"])),
                    "fibre_core_strain_zz_max": float(np.max(core["ezz"]))})
        # the fibre in equilibrium: the foil's film and the membrane each carry the bridged load f
        # (what their pressures integrate to before the rim tractions are scaled to f exactly)
        f = st.fibre_line_load_N_per_m
        out["fibre_force_balance_error"] = max(abs(ld - f) / f for ld in core["loads_N_per_m"])
        return out


    # -- the measurements of the reference made on the model ---------------------------------------

    def reading(self, stack_pressure_Pa: float, temperature_K: float | None = None) -> dict[str, float]:
        """The FBG's reading of the present state (every ``fbg_*`` metric of ``ecmsim fbg``)."""
        core = self.core(stack_pressure_Pa, temperature_K)
        return self.spectrum(self.profile(stack_pressure_Pa, core=core))[2]

    def pressure_steps(self, pressures_Pa, hold_s: float) -> list[dict[str, float]]:
        """The reference's pressure calibration (no cycling): the stack pressure raised in steps, each
        held ``hold_s``; the reading at the end of each hold (a fresh embedding for the series)."""
        from ecmsim.fibre.embedding import Embedding

        self.embedding = Embedding(self.embedding.D, self.foil, self.membrane, self.counter,
                                   initial_depth_m=self.scn.geometry.initial_contact_depth_m)
        rows = []
        for p in pressures_Pa:
            self.embedding.advance(p, 0.0)
            self.embedding.advance(p, hold_s)
            rows.append({"stack_pressure_Pa": float(p), **self.reading(p)})
        return rows

    def library_core(self, stack_pressure_Pa: float, hold_s: float) -> dict[str, float]:
        """Core strain at the grating's centre of a fresh embedding at ``stack_pressure_Pa`` after ``hold_s``
        (the fibre read-out's library, :func:`ecmsim.fibre.readout.solve_library`)."""
        from ecmsim.fibre.embedding import Embedding

        self.embedding = Embedding(self.embedding.D, self.foil, self.membrane, self.counter,
                                   initial_depth_m=self.scn.geometry.initial_contact_depth_m)
        self.embedding.advance(stack_pressure_Pa, 0.0)
        self.embedding.advance(stack_pressure_Pa, hold_s)
        return self.core(stack_pressure_Pa)["core"]

    def temperature_sensitivity_pm_per_K(self, stack_pressure_Pa: float, delta_K: float = 1.0) -> float:
        """d(centroid)/dT of the present state [pm/K]: the thermo-optic and thermal shift of the fibre
        plus the axial strain its anchors and the layers impose (central difference, the embedded
        state held)."""
        up = self.reading(stack_pressure_Pa, self.temperature_K + delta_K)["fbg_centroid_nm"]
        down = self.reading(stack_pressure_Pa, self.temperature_K - delta_K)["fbg_centroid_nm"]
        return (up - down) * 1e3 / (2 * delta_K)

    def close(self) -> None:
        pass


def cell_model(scn, progress: Progress | None = None, comm=None, msh_path: Path | None = None):
    """The cell model of an fbg_cell scenario: :class:`ProcessCell` or, with ``embedding = "given"``,
    :class:`CellModel`."""
    if scn.geometry.embedding == "process":
        return ProcessCell(scn, progress)
    return CellModel(scn, progress, msh_path=msh_path, comm=comm)


def layers_of(geometry, electrode, electrolyte, temperature_K: float):
    """The foil, membrane and counter-foil :class:`~ecmsim.fibre.embedding.Layer` s of an fbg_cell
    geometry section and its materials at the cell temperature (the counter foil is the electrode's
    material). An electrode record with ``skeleton_*`` keys (Li–Sn) flows by
    :func:`~ecmsim.fibre.embedding.composite_law` with ``geometry.electrode_skeleton``."""
    from ecmsim.fibre.embedding import FlowLaw, Layer, composite_law, skeleton_frame_modulus_Pa
    from ecmsim.materials.creep import law_of

    def flow(material):
        law = law_of(material)
        return FlowLaw.from_norton(law, temperature_K) if law is not None else FlowLaw(0.0, 1.0, 1.0)

    props = electrode.properties
    fraction = props.get("skeleton_volume_fraction", 0.0)
    mode = geometry.electrode_skeleton if fraction > 0 else "none"
    foil_law = composite_law(flow(electrode), fraction, mode, props.get("skeleton_hardness_Pa", 0.0))
    frame = skeleton_frame_modulus_Pa(props.get("skeleton_youngs_modulus_Pa", 0.0), fraction, mode)
    foil = Layer("electrode", geometry.electrode_thickness_m, electrode.youngs_modulus_Pa, electrode.poissons_ratio,
                 foil_law, frame)
    membrane = Layer("electrolyte", geometry.electrolyte_thickness_m, electrolyte.youngs_modulus_Pa,
                     electrolyte.poissons_ratio, flow(electrolyte))
    counter = Layer("counter", geometry.counter_electrode_thickness_m, electrode.youngs_modulus_Pa,
                    electrode.poissons_ratio, foil_law, frame)
    return foil, membrane, counter


__all__ = ["CellModel", "ProcessCell", "cell_model", "layers_of"]
