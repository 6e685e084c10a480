"""The fibre read-out through plating/stripping cycles: interface window in time -> spectra over time.

The reference study's Fig. 3-4: a waterfall of FBG spectra over three cycles, peak tracks, and the
stress an experimenter reads from a peak shift by eqs. 1-2. Model (docs/fibre_readout.md):

1. **Window -> grating, force balanced** (``pressure_mapping = "cell"``, default). The fibre along
   the grating under the held plunger (:class:`~ecmsim.fibre.grating.GratingCell`): the grating
   (length L) is cut into N sections; in each, the membrane plate presses on the fibre and on the
   foil beside it, whose surface rises and falls with the Li that x-bin j of the 40 um cycling window
   (``interface_profiles.csv``) deposited since the start of cycling (live and dead Li plus the voids
   that keep the layer's envelope), where the membrane touches the foil (no current under the fibre's
   footprint, the membrane's bridge or an open gap: their share crowds into the contacts); optionally with porous dead Li and with the voids that persist beside the fibre
   (``ReadoutOptions.voids``: the void height ODE of :mod:`ecmsim.electrochem.voids`, driven by the
   section's current and closed by creep at the foil's pressure of the step before). Fibre and foil
   carry the plunger's pressure exactly at every section and step (an electrode with a mixed-conducting
   skeleton, ``ReadoutOptions.bulk_supply``: the foil's surface takes the deposit spread over its
   thickness, the Li coming from and going into its bulk); the core strain follows from the section's fibre load (the held cell's rim shape scaled) and the
   axial shear lag along z. Needs a process cell (``geometry.embedding = "process"``).
2. **Window -> grating, stretched** (``"change"`` or ``"absolute"``, kept for comparison: they break
   force balance). Section j's pressure is the stack pressure plus the change of the length-weighted
   mean compressive normal stress of x-bin j since the start (``"change"``), or that mean itself
   (``"absolute"``), clipped at zero; the core strain comes from a small library of fibre-cell
   solutions at a few multiples of the stack pressure (zero strain at zero pressure), interpolated
   linearly in pressure and extrapolated beyond the largest with the last segment's slope. The
   window's mean normal stress is not the plunger's force: with it the fibre has carried 2.8x the
   plunger's load (docs/fibre_readout.md).
3. **Strain profile -> spectrum.** Piecewise-constant core strain along z through the virtual FBG
   (:mod:`ecmsim.fbg`, the transfer matrix and peak analysis of ``ecmsim fbg``), all times on one
   wavelength grid; peaks tracked in time; eqs. 1-2 of the reference paper turn the shift of each
   peak from the nearest pre-cycling (t = 0) peak into a stress::

       d(lambda) / lambda_0 = (1 - n^2 [p12 - nu (p11 + p12)] / 2) eps,    sigma = E eps

:func:`compute` is the model; its files are :mod:`ecmsim.io.readout`. Entry points:
:func:`ecmsim.run.readout.readout` (an existing cycling result folder) and the read-out stage of
``ecmsim run`` (a scenario with a ``[fibre_readout]`` section, :mod:`ecmsim.run.stages`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ecmsim.core.errors import EcmsimError, InputFileError, ScenarioError
from ecmsim.electrochem.voids import porous_dead_li_thickness_m

#: Library pressures as multiples of the stack pressure (zero is added exactly, without a solve);
#: docs/fibre_readout.md: the error of interpolation and of linearity ((1.0,): one solve).
DEFAULT_LIBRARY_FACTORS = (0.25, 0.5, 1.0, 2.0, 4.0)
PRESSURE_MAPPINGS = ("cell", "change", "absolute")
STRAIN_KEYS = ("exx", "eyy", "ezz", "exy")
#: interface_profiles.csv columns used here (facet_length_m is optional: older folders lack it)
_COLS = ("step", "time_s", "x_m", "normal_stress_Pa")


# ---- the pressure library ----------------------------------------------------------------------------

@dataclass(frozen=True)
class StrainLibrary:
    """Core strain of the fibre in the cell against the local stack pressure.

    ``pressures_Pa`` increasing, the first 0 (zero strain); ``cores[k]`` the strains at
    ``pressures_Pa[k]``. Linear between nodes, the last segment's slope beyond the last node.
    """

    pressures_Pa: np.ndarray
    cores: Mapping[str, np.ndarray]
    metrics: tuple[dict, ...] = ()

    @classmethod
    def from_cores(cls, pressures_Pa: Sequence[float], cores: Sequence[Mapping[str, float]],
                   metrics: Sequence[dict] = ()) -> StrainLibrary:
        p = np.asarray(pressures_Pa, dtype=float)
        order = np.argsort(p)
        p = p[order]
        if len(p) < 2 or p[0] < 0 or np.any(np.diff(p) <= 0):
            raise ValueError(f"library pressures must be >= 0, distinct, at least two (got {pressures_Pa})")
        table = {k: np.array([float(cores[i][k]) for i in order]) for k in STRAIN_KEYS}
        return cls(p, table, tuple(metrics))

    def at(self, pressure_Pa) -> dict[str, np.ndarray]:
        """Core strains at pressures (clipped at zero) [-]."""
        q = np.maximum(np.asarray(pressure_Pa, dtype=float), 0.0)
        p = self.pressures_Pa
        out = {}
        for k, v in self.cores.items():
            inside = np.interp(q, p, v)
            slope = (v[-1] - v[-2]) / (p[-1] - p[-2])
            out[k] = np.where(q > p[-1], v[-1] + slope * (q - p[-1]), inside)
        return out


def solve_library(model, pressures_Pa: Sequence[float], progress=None) -> StrainLibrary:
    """Solve ``model`` (a :class:`~ecmsim.fibre.model.CellModel` with one state, or a
    :class:`~ecmsim.fibre.model.ProcessCell`: a fresh embedding at each pressure, held as long as
    its scenario's protocol) at each pressure > 0; zero strain at zero pressure. A pressure whose
    solve fails is left out (said in ``progress``)."""
    from ecmsim.core.errors import SolverError
    from ecmsim.fibre.cell import state_key

    process = hasattr(model, "library_core")
    if not process and len(model.solvers) != 1:
        raise ScenarioError(f"fibre_readout.cell_scenario: the cell scenario has {len(model.solvers)} distinct states "
                            "along the grating; the read-out builds the states itself from the cycling window, so "
                            "give the cell without geometry.states")
    hold_s = model.scn.protocol.build().duration_s if process and model.scn.protocol is not None else 0.0
    ps, cores, metrics = [0.0], [dict.fromkeys(STRAIN_KEYS, 0.0)], [{}]
    for p in sorted(float(x) for x in pressures_Pa if x > 0):
        try:
            if process:
                core = model.library_core(p, hold_s)
                extra = {k: v for k, v in model.embedding.state(p).metrics().items()}
            else:
                r = model.solve(p)[state_key(model.pieces[0][2])]
                core, extra = r.core, {k: v for k, v in r.metrics.items() if isinstance(v, (int, float))}
        except SolverError as err:
            if progress:
                progress(f"  library: the cell solve at {p / 1e6:.3g} MPa failed ({err}); left out")
            continue
        ps.append(p)
        cores.append({k: core[k] for k in STRAIN_KEYS})
        metrics.append({"stack_pressure_Pa": p, **extra})
        if progress:
            progress(f"  library: {p / 1e6:.3g} MPa: core eps_x {core['exx']:.4g}, eps_y {core['eyy']:.4g}, "
                     f"eps_z {core['ezz']:.4g}")
    if len(ps) < 2:
        raise EcmsimError("fibre read-out: no library pressure of the cell could be solved")
    return StrainLibrary.from_cores(ps, cores, metrics)


# ---- window -> sections --------------------------------------------------------------------------------

@dataclass(frozen=True)
class WindowHistory:
    """The interface normal stress of a cycling run, per accepted step (from interface_profiles.csv)."""

    step: np.ndarray          # (n_rows,)
    time_s: np.ndarray
    x_m: np.ndarray
    normal_stress_Pa: np.ndarray
    length_m: np.ndarray      # facet lengths (ones when the file has none: plain means)
    deposit_m: np.ndarray | None = None   # the Li layer's envelope at the facet: live plated + dead Li + void
                                          # thickness (None: not in the file)
    current_A_m2: np.ndarray | None = None   # the facet's current density of the step (+ plating)
    dead_m: np.ndarray | None = None      # the facet's dead Li, dense-equivalent thickness [m]

    @classmethod
    def from_rows(cls, rows: np.ndarray, has_length: bool = True) -> WindowHistory:
        """From the columns of :meth:`CyclingProblem.profile_rows` (step, time, x, y, current, sigma_nn, ...)."""
        rows = np.asarray(rows, dtype=float)
        length = rows[:, 9] if has_length and rows.shape[1] > 9 else np.ones(len(rows))
        # plated_thickness_m (column 6) already holds live + dead Li; the void (column 10) keeps the envelope
        deposit = rows[:, 6] + (rows[:, 10] if rows.shape[1] > 10 else 0.0) if rows.shape[1] > 6 else None
        return cls(rows[:, 0].astype(int), rows[:, 1], rows[:, 2], rows[:, 5], length, deposit,
                   rows[:, 4] if rows.shape[1] > 4 else None, rows[:, 7] if rows.shape[1] > 7 else None)

    @classmethod
    def read_csv(cls, path: Path) -> WindowHistory:
        path = Path(path)
        try:
            header = path.read_text().split("\n", 1)[0].strip().split(",")
            data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
        except (OSError, ValueError) as err:
            raise InputFileError(f"{path}: not a readable interface_profiles.csv ({err})") from None
        missing = [c for c in _COLS if c not in header]
        if missing or len(data) == 0:
            raise InputFileError(f"{path}: needs the columns {', '.join(_COLS)} and at least one row "
                                 f"(missing: {', '.join(missing) or 'rows'})")
        col = {c: header.index(c) for c in header}
        length = data[:, col["facet_length_m"]] if "facet_length_m" in col else np.ones(len(data))
        deposit = None
        if "plated_thickness_m" in col:        # live + dead Li, plus the void that keeps the envelope
            deposit = data[:, col["plated_thickness_m"]] + (data[:, col["void_thickness_m"]]
                                                            if "void_thickness_m" in col else 0.0)
        opt = lambda name: data[:, col[name]] if name in col else None  # noqa: E731
        return cls(data[:, col["step"]].astype(int), data[:, col["time_s"]], data[:, col["x_m"]],
                   data[:, col["normal_stress_Pa"]], length, deposit, opt("current_density_A_m2"),
                   opt("dead_li_thickness_m"))

    def steps(self) -> tuple[np.ndarray, np.ndarray]:
        """(step numbers, their times) in order."""
        steps, first = np.unique(self.step, return_index=True)
        return steps, self.time_s[first]

    def bin_pressures(self, sections: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(steps, times, P[time, bin]): length-weighted mean compressive normal stress (-sigma_nn) of
        each of ``sections`` equal x-bins of the window (x range of the facets) [Pa]. An empty bin
        takes the value of the nearest bin that has facets."""
        return self._bins(-self.normal_stress_Pa, sections, "a finite normal stress")

    def bin_deposits(self, sections: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(steps, times, D[time, bin]): length-weighted mean envelope of the plated layer (live + dead Li
        + voids) in each x-bin [m]."""
        if self.deposit_m is None:
            raise InputFileError("interface_profiles.csv: the force-balanced read-out needs the column "
                                 "plated_thickness_m")
        return self._bins(self.deposit_m, sections, "a deposit")

    def bin_means(self, values: np.ndarray, sections: int, what: str) -> np.ndarray:
        """[time, bin]: length-weighted mean of a per-facet column (e.g. the current, the dead Li) in each x-bin."""
        return self._bins(values, sections, what)[2]

    def _bins(self, values: np.ndarray, sections: int, what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        steps, times = self.steps()
        lo, hi = float(self.x_m.min()), float(self.x_m.max())
        b = np.clip(((self.x_m - lo) / max(hi - lo, 1e-300) * sections).astype(int), 0, sections - 1)
        row = np.searchsorted(steps, self.step)
        w = np.where(np.isfinite(values), self.length_m, 0.0)
        num = np.zeros((len(steps), sections))
        den = np.zeros((len(steps), sections))
        np.add.at(num, (row, b), w * np.nan_to_num(values))
        np.add.at(den, (row, b), w)
        with np.errstate(invalid="ignore", divide="ignore"):
            P = num / den
        filled = den[0] > 0
        if not filled.any():
            raise InputFileError(f"interface_profiles.csv: no facet with {what}")
        if not filled.all():                       # more sections than the window has facets per bin
            idx = np.flatnonzero(filled)
            nearest = idx[np.abs(np.arange(sections)[:, None] - idx[None, :]).argmin(axis=1)]
            P = P[:, nearest]
        return steps, times, P


def section_pressures(P_bins: np.ndarray, stack_pressure_Pa: float, mapping: str = "change") -> np.ndarray:
    """Local pressure of every grating section at every time [Pa], clipped at zero.

    ``change``: stack pressure + (bin mean at t - bin mean at the first time); ``absolute``: the bin mean.
    """
    if mapping not in PRESSURE_MAPPINGS:
        raise ValueError(f"pressure_mapping must be one of {PRESSURE_MAPPINGS} (got {mapping!r})")
    P = np.asarray(P_bins, dtype=float)
    local = stack_pressure_Pa + (P - P[0]) if mapping == "change" else P
    return np.maximum(local, 0.0)


def select_times(times_s: np.ndarray, interval_s: float) -> np.ndarray:
    """Indices of the output times: every time (interval 0), else the first time in each interval
    [k interval, (k + 1) interval) and the last time."""
    times_s = np.asarray(times_s, dtype=float)
    if interval_s <= 0:
        return np.arange(len(times_s))
    slot = np.floor(times_s / interval_s + 1e-9)
    keep = np.flatnonzero(np.r_[True, np.diff(slot) > 0])
    return np.unique(np.r_[keep, len(times_s) - 1])


def sections_profile(cores: Mapping[str, np.ndarray], length_m: float, temperature_K: float | None = None,
                     source: str = "fibre read-out"):
    """Piecewise-constant :class:`~ecmsim.fbg.profile.StrainProfile` of N equal sections along the grating
    (steps 1e-9 L wide between sections, as :func:`ecmsim.fibre.cell.strain_profile`)."""
    from ecmsim.fbg.profile import StrainProfile

    n = len(cores["exx"])
    edges = np.linspace(0.0, length_m, n + 1)
    eps = 1e-9 * length_m
    z = np.empty(2 * n)
    z[0::2] = edges[:-1] + np.r_[0.0, np.full(n - 1, eps)]
    z[1::2] = edges[1:]
    rep = {k: np.repeat(np.asarray(cores[k], dtype=float), 2) for k in STRAIN_KEYS}
    return StrainProfile(z_m=z, exx=rep["exx"], eyy=rep["eyy"], ezz=rep["ezz"], exy=rep["exy"],
                         T_K=None if temperature_K is None else np.full(2 * n, temperature_K), source=source)


# ---- eqs. 1-2 ---------------------------------------------------------------------------------------------

def eq12_factor(fibre) -> float:
    """1 - n^2 [p12 - nu (p11 + p12)] / 2 of the reference paper's eq. 1 [-]."""
    return 1.0 - 0.5 * fibre.effective_index ** 2 * (fibre.p12 - fibre.poissons_ratio * (fibre.p11 + fibre.p12))


def eq12_stress(shift_m, wavelength0_m: float, fibre):
    """sigma = E eps, eps = (d(lambda) / lambda_0) / factor (eqs. 1-2) [Pa]."""
    return fibre.youngs_modulus_Pa * np.asarray(shift_m, dtype=float) / wavelength0_m / eq12_factor(fibre)


def delta_sigma(peaks_m: Sequence[float], reference_peaks_m: Sequence[float], fibre
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(reference, shift, stress) of each peak against the nearest reference peak (eqs. 1-2)."""
    peaks = np.asarray(peaks_m, dtype=float)
    ref = np.asarray(reference_peaks_m, dtype=float)
    if peaks.size == 0 or ref.size == 0:
        return np.empty(0), np.empty(0), np.empty(0)
    nearest = ref[np.abs(peaks[:, None] - ref[None, :]).argmin(axis=1)]
    shift = peaks - nearest
    return nearest, shift, eq12_stress(shift, nearest, fibre)


# ---- the read-out ---------------------------------------------------------------------------------------

@dataclass
class Readout:
    """Everything the read-out computed (arrays per output time)."""

    steps: np.ndarray
    times_s: np.ndarray
    pressures_Pa: np.ndarray          # (times, sections)
    wavelength_m: np.ndarray
    spectra: list                     # Spectrum per time
    reports: list                     # PeakReport per time
    tracks: list[list[int]]
    library: StrainLibrary
    delta: list[tuple[np.ndarray, np.ndarray, np.ndarray]]   # per time: (reference, shift, stress)
    metrics: dict[str, Any] = field(default_factory=dict)
    #: mapping "cell": the fibre's load per section [N/m] (times, sections) and the largest force
    #: balance error of the sections' plates over all times [-]
    loads_N_per_m: np.ndarray | None = None
    force_balance_error: float = 0.0
    #: "cell" mapping with voids: the mean void height beside the fibre per section [m] (times, sections)
    voids_m: np.ndarray | None = None
    #: ... and the void height on the plate's grid (times, sections, points) [m], the grid ``plate_x_m``
    void_field_m: np.ndarray | None = None
    plate_x_m: np.ndarray | None = None
    #: "cell" mapping: how often a node of a section's plate went into or out of contact with the foil and
    #: back at the next step, over all steps (the staggered contact's chatter; 0: none)
    contact_reversals: int = 0
    #: metrics of the voids and the porous dead Li ("cell" mapping), merged into ``metrics``
    extra_metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ReadoutOptions:
    """The keys of ``[fibre_readout]`` (see ecmsim/scenario/sections.py) in plain form."""

    sections: int = 10
    output_interval_s: float = 0.0
    library_pressure_factors: tuple[float, ...] = DEFAULT_LIBRARY_FACTORS
    pressure_mapping: str = "cell"
    #: the membrane keeps creeping through the cycling ("cell" mapping; false: its rigidity stays at the hold's)
    creep: bool = True
    #: "cell" mapping: voids that persist in the foil beside the fibre
    #: (:class:`~ecmsim.electrochem.voids.InterfaceVoids`; None: none)
    voids: Any = None
    #: "cell" mapping: porosity of dead Li (0: counted dense) [-]
    dead_li_porosity: float = 0.0
    #: "cell" mapping: the electrode's skeleton feeds the interface from its bulk (Li-Sn; an electrode record with
    #: ``skeleton_network_current_A_m2``): the foil's surface takes the deposit spread over its thickness
    #: (:meth:`~ecmsim.fibre.grating.GratingCell.spread`); false: where the current passes (Li)
    bulk_supply: bool = False


def compute(window: WindowHistory, model, stack_pressure_Pa: float, options: ReadoutOptions = ReadoutOptions(),
            temperature_K: float | None = None, progress=None, library: StrainLibrary | None = None,
            optics: bool = True) -> Readout:
    """The read-out of one cycling window with one fibre cell (``model``: a CellModel, solved collectively
    on its communicator; ``library`` given: no solve). ``optics = False``: library and pressures only
    (the MPI ranks that do not write)."""

    say = progress or (lambda *_: None)
    if options.pressure_mapping == "cell":
        return _compute_cell(window, model, stack_pressure_Pa, options, temperature_K, say, optics)
    steps, times, P_bins = window.bin_pressures(options.sections)
    pick = select_times(times, options.output_interval_s)
    steps, times, P_bins = steps[pick], times[pick], P_bins[pick]
    P = section_pressures(P_bins, stack_pressure_Pa, options.pressure_mapping)
    if library is None:
        say(f"fibre read-out: cell library at {', '.join(f'{f:g}' for f in options.library_pressure_factors)} x "
            f"{stack_pressure_Pa / 1e6:g} MPa")
        library = solve_library(model, [f * stack_pressure_Pa for f in options.library_pressure_factors], say)
    out = Readout(steps, times, P, np.empty(0), [], [], [], library, [])
    if not optics:
        return out
    T = temperature_K if temperature_K is not None else model.scn.loading.temperature_K
    _optics(out, model, [library.at(P[i]) for i in range(len(times))], T, stack_pressure_Pa, options)
    return out


def _compute_cell(window: WindowHistory, model, stack_pressure_Pa: float, options: ReadoutOptions,
                  temperature_K, say, optics: bool) -> Readout:
    """``pressure_mapping = "cell"``: the fibre along the grating with the plunger's force balanced
    (:class:`~ecmsim.fibre.grating.GratingCell`): section j's foil takes the deposit of the window's
    x-bin j since the start of cycling; its plate gives the section's fibre load."""
    from ecmsim.fibre.grating import GratingCell

    if not hasattr(model, "embedding"):
        raise ScenarioError("fibre_readout.pressure_mapping = 'cell' needs a cell scenario with geometry.embedding = "
                            "'process' (the embedded state after its hold); use 'change' with a given-state cell")
    steps, times, D_bins = window.bin_deposits(options.sections)
    memory = options.voids is not None or options.dead_li_porosity > 0.0
    if memory:
        if window.current_A_m2 is None or window.dead_m is None:
            raise InputFileError("interface_profiles.csv: voids and porous dead Li in the read-out need the columns "
                                 "current_density_A_m2 and dead_li_thickness_m")
        I_bins = window.bin_means(window.current_A_m2, options.sections, "a current")
        dead_bins = window.bin_means(window.dead_m, options.sections, "dead Li")
        swell = porous_dead_li_thickness_m(dead_bins - dead_bins[0], options.dead_li_porosity) - (dead_bins - dead_bins[0])
        D_bins = D_bins + swell                 # porous dead Li: the surface rises by h_d phi/(1 - phi) more
    pick = select_times(times, options.output_interval_s)
    hold = model.scn.protocol.build().duration_s if model.scn.protocol is not None else 0.0
    model.advance(stack_pressure_Pa, 0.0)
    model.advance(stack_pressure_Pa, hold)
    spreading = model.foil.thickness_m if options.bulk_supply else 0.0
    grating = GratingCell(model, stack_pressure_Pa, options.sections, hold, creep=options.creep, spreading_m=spreading)
    say(f"fibre read-out: the cell along the grating, {options.sections} sections, the fibre {grating.f0:.4g} N/m "
        f"after a {hold / 3600:g} h hold")
    if spreading:
        say(f"fibre read-out: the electrode's skeleton feeds the interface from its bulk: the foil's surface takes the "
            f"deposit spread over its thickness, {spreading * 1e6:g} um")
    # every window step is integrated: the current of step (t_i-1, t_i] follows the ionic contact of the plate
    # at t_i-1 (staggered, docs/fibre_readout.md "The current follows contact"), so the foil's profile is the sum of
    # the steps' deposits; the void ODE takes the same current and the foil's pressure of the step before
    x = grating.x_m
    share = np.repeat(grating.crowding[None, :], options.sections, axis=0)
    deposit = np.zeros((options.sections, len(x)))
    voids = np.zeros((options.sections, len(x))) if options.voids is not None else None
    pressure = np.full((options.sections, len(x)), stack_pressure_Pa)
    loads, worst = np.empty((len(times), options.sections)), 0.0
    void_mean, void_max = np.zeros((len(times), options.sections)), np.zeros(len(times))
    void_field = np.zeros((len(times), options.sections, len(x))) if voids is not None else None
    contact = np.zeros((len(times), options.sections, len(x)), dtype=bool)
    beside = x > grating.footprint_m
    for i in range(len(times)):
        if i > 0:
            deposit += grating.spread((D_bins[i] - D_bins[i - 1])[:, None] * share)
        if voids is not None and i > 0:
            dt = float(times[i] - times[i - 1])
            voids = options.voids.advance(voids, I_bins[i][:, None] * share, pressure, dt)
            void_mean[i] = voids[:, beside].mean(axis=1)
            void_max[i] = voids.max()
            void_field[i] = voids
        plates = grating.plate(deposit, float(times[i] - times[0]), voids)
        contact[i] = [grating.ionic_contact(pl) for pl in plates]
        pressure = grating.creep_pressure(plates, contact[i])
        share = grating.share(contact[i])
        loads[i] = [pl.fibre_load_N_per_m for pl in plates]
        worst = max(worst, max(pl.force_balance_error for pl in plates))
    steps, times, loads, void_mean, void_max = steps[pick], times[pick], loads[pick], void_mean[pick], void_max[pick]
    flips = contact[1:] != contact[:-1]
    out = Readout(steps, times, np.full_like(loads, stack_pressure_Pa), np.empty(0), [], [], [], None, [],
                  loads_N_per_m=loads, force_balance_error=worst,
                  contact_reversals=int(np.sum(flips[1:] & flips[:-1])))
    out.extra_metrics = {"fbg_readout_contact_reversals": out.contact_reversals,
                         "fbg_readout_bulk_supply_spreading_m": spreading}
    if memory:
        out.voids_m = void_mean
        out.void_field_m = void_field[pick] if void_field is not None else None
        out.plate_x_m = x
        out.extra_metrics |= {
            "fbg_readout_void_height_final_m": float(void_mean[-1].mean()),
            "fbg_readout_void_height_max_m": float(void_max.max()),
            "fbg_readout_dead_li_swell_final_m": float(swell[pick][-1].mean()),
            "fbg_readout_dead_li_porosity": float(options.dead_li_porosity),
        }
        if options.voids is not None:
            out.extra_metrics["fbg_readout_critical_stripping_current_A_m2"] = float(
                options.voids.critical_current_A_m2(stack_pressure_Pa))
    if not optics:
        return out
    T = temperature_K if temperature_K is not None else model.scn.loading.temperature_K
    _optics(out, model, [grating.cores(loads[i], T) for i in range(len(times))], T, stack_pressure_Pa, options)
    return out


def _optics(out: Readout, model, cores: list, temperature_K: float, stack_pressure_Pa: float,
            options: ReadoutOptions) -> None:
    """Spectra, peaks, tracks and eqs. 1-2 of every output time from the sections' core strains."""
    from ecmsim.fbg.analysis import track_peaks, wavelength_grid
    from ecmsim.fbg.sensor import grating_sections, simulate

    grating, fibre = model.grating, model.fibre
    profiles = [sections_profile(c, grating.length_m, temperature_K, source=f"fibre read-out t = {t:g} s")
                for c, t in zip(cores, out.times_s)]
    local = [grating_sections(pr, grating, fibre) for pr in profiles]
    lo = min(float(s.bragg_m.min()) for s in local)
    hi = max(float(s.bragg_m.max()) for s in local)
    out.wavelength_m = wavelength_grid(model.interrogator, lo, hi)
    for i, pr in enumerate(profiles):
        spectrum, report = simulate(pr, grating, model.interrogator, fibre=fibre, source=model.source,
                                    wavelength_m=out.wavelength_m, seed_offset=i, workers=1)
        out.spectra.append(spectrum)
        out.reports.append(report)
    out.tracks = track_peaks(out.reports, model.interrogator.track_max_jump_m)
    ref = [p.wavelength_m for p in out.reports[0].peaks]
    out.delta = [delta_sigma([p.wavelength_m for p in r.peaks], ref, fibre) for r in out.reports]
    out.metrics = readout_metrics(out, fibre, stack_pressure_Pa, options)
    out.metrics.update(out.extra_metrics)


def readout_metrics(r: Readout, fibre, stack_pressure_Pa: float, options: ReadoutOptions) -> dict[str, Any]:
    """Scalar metrics (units in the names) for summary.json."""
    first, last = r.reports[0], r.reports[-1]
    peaks = lambda rep: [p.wavelength_m * 1e9 for p in rep.peaks]  # noqa: E731
    spread = lambda rep: (max(peaks(rep)) - min(peaks(rep))) if rep.count else 0.0  # noqa: E731
    stresses = [(abs(float(s)), float(s), i) for i, (_, _, st) in enumerate(r.delta) for s in st]
    top = max(stresses) if stresses else (0.0, 0.0, 0)
    final = r.delta[-1][2]
    counts = [rep.count for rep in r.reports]
    return {
        "fbg_readout_times": len(r.times_s),
        "fbg_readout_sections": options.sections,
        "fbg_readout_pressure_mapping": options.pressure_mapping,
        "fbg_readout_library_pressures_Pa": [float(p) for p in r.library.pressures_Pa] if r.library else [],
        "fbg_readout_section_pressure_min_Pa": float(r.pressures_Pa.min()),
        "fbg_readout_section_pressure_max_Pa": float(r.pressures_Pa.max()),
        "fbg_readout_section_pressure_final_Pa": [float(p) for p in r.pressures_Pa[-1]],
        "fbg_readout_extrapolated_fraction": (float(np.mean(r.pressures_Pa > r.library.pressures_Pa[-1]))
                                              if r.library else 0.0),
        "fbg_peak_count_initial": first.count,
        "fbg_peaks_initial_nm": peaks(first),
        "fbg_peak_spread_initial_nm": spread(first),
        "fbg_peak_count_final": last.count,
        "fbg_peaks_final_nm": peaks(last),
        "fbg_peak_spread_final_nm": spread(last),
        "fbg_peak_spread_final_m": spread(last) * 1e-9,
        "fbg_peak_count_max": int(max(counts)),
        "fbg_peak_count_min": int(min(counts)),
        "fbg_peak_spread_max_nm": float(max(spread(rep) for rep in r.reports)),
        "fbg_delta_sigma_reference": "nearest peak before cycling (t = 0)",   # words: fibre_readout.json only
        "fbg_delta_sigma_max_Pa": top[0],
        "fbg_delta_sigma_max_signed_Pa": top[1],
        "fbg_delta_sigma_max_time_s": float(r.times_s[top[2]]),
        "fbg_delta_sigma_final_max_Pa": float(np.max(np.abs(final))) if final.size else 0.0,
        "fbg_eq12_factor": eq12_factor(fibre),
        **({} if r.loads_N_per_m is None else {
            "fbg_readout_section_load_initial_N_per_m": [float(v) for v in r.loads_N_per_m[0]],
            "fbg_readout_section_load_final_N_per_m": [float(v) for v in r.loads_N_per_m[-1]],
            "fbg_readout_section_load_min_N_per_m": float(r.loads_N_per_m.min()),
            "fbg_readout_section_load_max_N_per_m": float(r.loads_N_per_m.max()),
            "fbg_readout_force_balance_error_max": r.force_balance_error}),
    }


def library_from_cell_runs(cell_runs: Sequence[str | Path], cell) -> StrainLibrary:
    """A library from finished ``ecmsim run`` folders of the same fibre-cell scenario (any stack pressures):
    their core strains, no solve. InputFileError if a folder is missing or of another cell."""
    ps, cores = [0.0], [dict.fromkeys(STRAIN_KEYS, 0.0)]
    want = {k: v for k, v in cell.to_dict().items() if k not in ("loading", "output", "title")}
    for folder in cell_runs:
        path = Path(folder) / "summary.json"
        try:
            summary = json.loads(path.read_text())
            m = summary["metrics"]
            core = {k: float(m[f"fibre_core_strain_{k[1:]}"]) for k in STRAIN_KEYS}
            p = float(m["stack_pressure_Pa"])
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise InputFileError(f"{path}: not a fibre-cell result (summary.json with fibre_core_strain_* and "
                                 f"stack_pressure_Pa): {err}") from None
        have = {k: v for k, v in summary.get("scenario", {}).items() if k in want}
        if have != {k: json.loads(json.dumps(v)) for k, v in want.items() if k in have}:
            raise InputFileError(f"{path}: a run of another cell than the cell scenario (its geometry, materials, "
                                 "interface, mesh or fbg differ)")
        ps.append(p)
        cores.append(core)
    return StrainLibrary.from_cores(ps, cores)


__all__ = ["StrainLibrary", "solve_library", "WindowHistory", "section_pressures", "select_times", "sections_profile",
           "eq12_factor", "eq12_stress", "delta_sigma", "Readout", "ReadoutOptions", "compute",
           "library_from_cell_runs", "DEFAULT_LIBRARY_FACTORS", "PRESSURE_MAPPINGS", "STRAIN_KEYS"]
