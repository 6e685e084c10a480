"""The fibre read-out through the cycles (ecmsim/fibre/readout.py, docs/fibre_readout.md): the pressure
library, window -> sections, the optics against direct spectra, eqs. 1-2, the scenario keys.

The optics tests use a library of known core strains (no FE); one module fixture solves a small,
coarse fibre cell at three pressures and directly at an intermediate one."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from conftest import SCENARIOS, assert_one_line_error, run_cli
from ecmsim.fbg.optics import Fibre
from ecmsim.fbg.parameters import Grating, Interrogator, Source
from ecmsim.fbg.sensor import simulate
from ecmsim.fibre.cell import core_strain, state_key, strain_profile
from ecmsim.geometry.cell import CellSection
from ecmsim.fibre.readout import (ReadoutOptions, StrainLibrary, WindowHistory, compute, delta_sigma, eq12_factor,
                                  eq12_stress, section_pressures, select_times, sections_profile)

FIBRE = Fibre.from_material("silica")
P0 = 2.4e6
#: core stresses per Pa of stack pressure: twice those of the Li cell at 2.4 MPa (fbg_cell_li.toml: -1.57 and
#: -34.8 MPa), so that the grating (uniform, as fbg_cell_li.toml) resolves the two eigenmode peaks (~250 pm apart)
S_PER_PA = (-2 * 1.569 / 2.4, -2 * 34.78 / 2.4)


def _core(p, nonlinear=0.0):
    """A core strain at stack pressure p: the Li cell's per-MPa stresses, optionally not linear in p."""
    f = p * (1 + nonlinear * p / P0)
    return core_strain(S_PER_PA[0] * f, S_PER_PA[1] * f, 0.0, FIBRE)


def _library(factors=(0.5, 1.0, 2.0, 4.0), nonlinear=0.0):
    ps = [0.0] + [f * P0 for f in factors]
    return StrainLibrary.from_cores(ps, [_core(p, nonlinear) for p in ps])


def _model(grating=None):
    """What :func:`compute` uses of a CellModel when the library is given (no FE)."""
    return SimpleNamespace(grating=grating or Grating(design_wavelength_m=1542e-9, apodization="uniform"),
                           fibre=FIBRE, interrogator=Interrogator(), source=Source(), solvers={0: None})


def _window(levels_Pa: np.ndarray, times_s: np.ndarray, facets_per_bin: int = 3, width_m: float = 40e-6):
    """A synthetic window history: levels_Pa[t, bin] compressive, facets of unit length per bin."""
    n_t, n_b = levels_Pa.shape
    x = (np.arange(n_b * facets_per_bin) + 0.5) / (n_b * facets_per_bin) * width_m
    rows = []
    for i, t in enumerate(times_s):
        s = -np.repeat(levels_Pa[i], facets_per_bin)
        rows.append(np.column_stack([np.full(x.size, i), np.full(x.size, t), x, np.zeros(x.size), np.zeros(x.size),
                                     s, np.zeros(x.size), np.zeros(x.size), np.ones(x.size), np.full(x.size, 1e-7)]))
    return WindowHistory.from_rows(np.vstack(rows))


# ---- pure parts ------------------------------------------------------------------------------------------

def test_library_interpolates_and_extrapolates_with_the_last_slope():
    lib = _library(nonlinear=0.3)
    p = lib.pressures_Pa
    got = lib.at(p)
    for k in ("exx", "eyy"):
        assert np.allclose(got[k], lib.cores[k], rtol=0, atol=1e-18)          # nodes exactly
    mid = lib.at(0.5 * (p[2] + p[3]))["eyy"]
    assert mid == pytest.approx(0.5 * (lib.cores["eyy"][2] + lib.cores["eyy"][3]), rel=1e-12, abs=0)
    slope = (lib.cores["eyy"][-1] - lib.cores["eyy"][-2]) / (p[-1] - p[-2])
    assert lib.at(p[-1] + 1e6)["eyy"] == pytest.approx(lib.cores["eyy"][-1] + slope * 1e6, rel=1e-12, abs=0)
    assert lib.at(-1e6)["eyy"] == 0.0                                           # tension carries no load


def test_window_bins_are_length_weighted_and_change_mapping_starts_at_the_stack_pressure():
    # one step, two bins; bin 0 has facets of length 1 and 3 at 2 and 6 MPa -> 5 MPa
    rows = np.array([[0, 0.0, 1e-6, 0, 0, -2e6, 0, 0, 1, 1e-7], [0, 0.0, 2e-6, 0, 0, -6e6, 0, 0, 1, 3e-7],
                     [0, 0.0, 9e-6, 0, 0, -1e6, 0, 0, 1, 1e-7], [0, 0.0, 10e-6, 0, 0, 1e6, 0, 0, 1, 1e-7]])
    _, _, P = WindowHistory.from_rows(rows).bin_pressures(2)
    assert P[0] == pytest.approx([5e6, 0.0])
    levels = np.array([[3e6, 4e6, 5e6], [1e6, 9e6, 6e6]])
    P = section_pressures(levels, P0, "change")
    assert np.allclose(P[0], P0, atol=0)
    assert np.allclose(P[1], [P0 - 2e6, P0 + 5e6, P0 + 1e6], atol=0)
    assert np.allclose(section_pressures(levels - 4e6, P0, "absolute")[0], [0.0, 0.0, 1e6], atol=0)  # clipped
    assert list(select_times(np.array([0, 10, 590, 600, 650, 1300, 1310.0]), 600)) == [0, 3, 5, 6]
    assert list(select_times(np.array([0, 10, 20.0]), 0)) == [0, 1, 2]


def test_eq12_inverted_against_a_known_strain():
    """Eq. 1 with the paper's constants: factor 1 - 1.45^2 [0.252 - 0.17 (0.113 + 0.252)] / 2 = 0.80031;
    a peak shifted by lambda0 * 0.80031 * 1e-3 reads sigma = 69.9 GPa * 1e-3 = 69.9 MPa."""
    assert eq12_factor(FIBRE) == pytest.approx(1 - 0.5 * 1.45 ** 2 * (0.252 - 0.17 * (0.113 + 0.252)), rel=1e-12, abs=0)
    assert eq12_factor(FIBRE) == pytest.approx(0.80031, abs=1e-5)
    lam0 = 1542.18e-9
    shift = lam0 * 0.800313 * 1e-3
    assert float(eq12_stress(shift, lam0, FIBRE)) == pytest.approx(69.9e6, rel=1e-5, abs=0)
    ref, sh, st = delta_sigma([lam0 - 0.05e-9, 1542.40e-9, lam0 + 2 * shift], [lam0, 1542.37e-9], FIBRE)
    assert list(ref) == [lam0, 1542.37e-9, 1542.37e-9]                   # the nearest pre-cycling peak
    assert sh[1] == pytest.approx(0.03e-9, rel=1e-6, abs=0)
    assert st[0] == pytest.approx(-69.9e6 * 0.05e-9 / shift, rel=1e-5, abs=0)
    assert st[2] == pytest.approx(69.9e6 * (2 * shift + lam0 - 1542.37e-9) / shift * lam0 / 1542.37e-9, rel=1e-5, abs=0)


# ---- optics against direct spectra ------------------------------------------------------------------------

def test_uniform_window_gives_exactly_the_fibre_cell_spectrum():
    """Every section at the stack pressure: the spectrum of the fibre cell's own profile (two peaks)."""
    model = _model()
    lib = _library()
    times = np.array([0.0, 600.0])
    r = compute(_window(np.full((2, 10), 3e6), times), model, P0, ReadoutOptions(sections=10, pressure_mapping="change"),
                temperature_K=333.15, library=lib)
    core = lib.at(P0)
    section = CellSection()          # the fibre cell's own profile (one state over the grating)
    direct_profile = strain_profile([(0.0, model.grating.length_m, section)],
                                    {state_key(section): {k: float(v) for k, v in core.items()}}, 333.15)
    spectrum, report = simulate(direct_profile, model.grating, model.interrogator, fibre=FIBRE, source=model.source,
                                wavelength_m=r.wavelength_m, workers=1)
    assert report.count == 2
    for rep, spec in zip(r.reports, r.spectra):
        assert np.allclose(spec.R, spectrum.R, rtol=0, atol=1e-12)
        assert [p.wavelength_m for p in rep.peaks] == pytest.approx([p.wavelength_m for p in report.peaks],
                                                                       abs=1e-15)
    assert r.metrics["fbg_peak_count_final"] == 2 and r.metrics["fbg_delta_sigma_max_Pa"] == 0.0


def test_two_pressure_levels_give_the_two_pairs_of_direct_peaks():
    """Half the grating at the stack pressure, half at six times it: four peaks, each pair where a
    grating uniformly at that pressure puts its two peaks, to 50 pm: each half is 5 mm long, so its
    peaks are twice as wide (~0.3 nm) and the neighbours pull on each other (measured: <= 47 pm)."""
    model = _model()
    lib = _library(factors=(0.5, 1.0, 2.0, 4.0, 8.0))
    hi = 6 * P0
    levels = np.array([np.full(10, P0), np.r_[np.full(5, P0), np.full(5, hi)]])
    r = compute(_window(levels, np.array([0.0, 3600.0])), model, P0, ReadoutOptions(sections=10, pressure_mapping="absolute"),
                temperature_K=333.15, library=lib)
    direct = []
    for p in (P0, hi):
        c = lib.at(p)
        prof = sections_profile({k: np.full(10, float(v)) for k, v in c.items()}, model.grating.length_m, 333.15)
        _, rep = simulate(prof, model.grating, model.interrogator, fibre=FIBRE, source=model.source,
                          wavelength_m=r.wavelength_m, workers=1)
        assert rep.count == 2
        direct += [p.wavelength_m for p in rep.peaks]
    got = sorted(p.wavelength_m for p in r.reports[-1].peaks)
    assert len(got) == 4, got
    assert np.max(np.abs(np.array(got) - np.sort(direct))) < 50e-12, (np.array(got) - np.sort(direct)) * 1e12
    # the shifted pair reads the stress of eqs. 1-2 from its shift against the nearest t = 0 peak
    assert r.metrics["fbg_delta_sigma_max_Pa"] > 0 and r.metrics["fbg_peak_count_initial"] == 2


# ---- the scenario keys --------------------------------------------------------------------------------------

@pytest.mark.parametrize("override, fragment", [
    ("fibre_readout.sections=0", "fibre_readout.sections"),
    ("fibre_readout.output_interval_s=-5", "fibre_readout.output_interval_s"),
    ("fibre_readout.library_pressure_factors=[1.0, 1.0]", "fibre_readout.library_pressure_factors"),
    ("fibre_readout.library_pressure_factors=[0.0, 1.0]", "fibre_readout.library_pressure_factors"),
    ("fibre_readout.pressure_mapping='relative'", "fibre_readout.pressure_mapping"),
    ("fibre_readout.cell_scenario='missing.toml'", "fibre_readout.cell_scenario"),
    ("fibre_readout.cell_scenario='cycling_li_pll.toml'", "fbg_cell"),
    ("fibre_readout.section_count=3", "fibre_readout.section_count"),
    ("cycling.profiles=false", "cycling.profiles"),
])
def test_bad_fibre_readout_keys_are_one_line(tmp_path, override, fragment):
    proc = run_cli("run", str(SCENARIOS / "cycling_li_pll_fbg.toml"), "-o", str(tmp_path / "r"), "--set", override)
    assert_one_line_error(proc, fragment, "cycling_li_pll_fbg.toml")


# ---- the library against direct solves of a small fibre cell (FE) --------------------------------------------

#: a small, fast version of the Li cell (as tests/test_fbg_cell.py: 1 mm half width, coarse far field)
_SMALL = ["geometry.width_m=1e-3", "geometry.standoff_length_m=0.5e-3", "mesh.size_m=50e-6", "mesh.interface_size_m=3e-6"]


@pytest.fixture(scope="module")
def small_cell_solves():
    """Library at 1.2 and 2.4 MPa (+ zero), direct solves at 1.8 MPa (inside) and 3.0 MPa (beyond)."""
    from ecmsim import scenario
    from ecmsim.fibre.model import CellModel
    from ecmsim.fibre.readout import solve_library

    model = CellModel(scenario.load(SCENARIOS / "fbg_cell_li_given.toml", _SMALL))
    try:
        lib = solve_library(model, [1.2e6, 2.4e6])
        direct = {p: next(iter(model.solve(p).values())).core for p in (1.8e6, 3.0e6)}
    finally:
        model.close()
    return lib, direct


@pytest.mark.slow
def test_library_interpolation_against_direct_solves(small_cell_solves):
    """Linear interpolation in pressure at the midpoint of the library interval 1.2-2.4 MPa and
    extrapolation half an interval beyond with the last slope: core strains to 2 % (measured
    0.25-0.45 %, docs/fibre_readout.md; the nearest node instead would be ~25 % off); the
    zero-pressure node is exact (no load, no strain). Four small-cell solves, ~1 min."""
    lib, direct = small_cell_solves
    assert lib.pressures_Pa[0] == 0.0 and all(lib.cores[k][0] == 0.0 for k in ("exx", "eyy"))
    for p, tol in ((1.8e6, 0.02), (3.0e6, 0.02)):
        got = lib.at(p)
        for k in ("exx", "eyy"):
            err = abs(float(got[k]) - direct[p][k]) / abs(direct[p][k])
            print(f"interpolation error {k} at {p / 1e6:g} MPa: {err:.4f}")
            assert err < tol, (p, k, err)
        # the splitting strain eps_x - eps_y, which sets the peak separation
        d_lib, d_dir = float(got["exx"] - got["eyy"]), direct[p]["exx"] - direct[p]["eyy"]
        assert abs(d_lib - d_dir) / abs(d_dir) < tol


# ---- ecmsim run of a cycling scenario with [fibre_readout] -------------------------------------------------------

_SHORT = ["--set", "protocol.steps=['Plate at 0.2 mA/cm2 for 20 minutes', 'Strip at 0.2 mA/cm2 for 20 minutes']",
          "--set", "protocol.cycles=1", "--set", "output.fields=false", "--set", "fibre_readout.output_interval_s=600"]


def _short_contact_readout(name: str, out):
    """One short cycle of a shipped read-out scenario on a contact window: its summary, the stack pressure [Pa]
    and the window's contact force over p W; the run succeeded, with contact, and the fibre cell kept force
    balance."""
    from conftest import read_summary

    proc = run_cli("run", str(SCENARIOS / name), "-o", str(out), "-q", *_SHORT)
    assert proc.returncode == 0, proc.stderr
    summary = read_summary(out)
    m = summary["metrics"]
    assert summary["scenario"]["interface"]["model"] == "contact"
    assert m["fbg_readout_force_balance_error_max"] < 0.01
    p, width = summary["scenario"]["loading"]["stack_pressure_Pa"], summary["scenario"]["geometry"]["window_width_m"]
    return summary, p, m["contact_force_N_per_m"] / (p * width)


def _diffusion_critical_current_A_m2(scn: dict, diffusion_m3_s: float) -> float:
    """F v_d / Omega = F 4 P B / (Omega l^2), B = D_i delta_i Omega / (R T), by hand from a run's scenario (the voids'
    l = creep.characteristic_length_m; creep adds 1e-7 of it at the Li cells' 2.4 MPa, 60 C)."""
    ell, T = scn["creep"]["characteristic_length_m"], scn["loading"]["temperature_K"]
    p = scn["loading"]["stack_pressure_Pa"]
    return 4.0 * p * diffusion_m3_s / (8.314462618 * T * ell ** 2) * 96485.33212


@pytest.mark.fem
def test_bonded_li_readout_takes_a_void_diffusion_supply_when_set(tmp_path):
    """The shipped bonded Li read-out, one short cycle, with ``cycling.void_diffusion_m3_s`` = 1e-19 m^3/s (the Li
    contact window's D_i delta_i): the voids' critical stripping current is F 4 P B / (Omega l^2) plus the creep's
    (1e-6), 0.84 mA/cm^2 > 0.2, so the 20 minute strip leaves under 1 % of the 0.32 um it leaves with creep alone
    (test_cycling_readout_run_...), and the read-out keeps force balance."""
    from conftest import read_summary

    out = tmp_path / "run"
    proc = run_cli("run", str(SCENARIOS / "cycling_li_pll_fbg.toml"), "-o", str(out), "-q", *_SHORT,
                   "--set", "cycling.void_diffusion_m3_s=1e-19")
    assert proc.returncode == 0, proc.stderr
    summary = read_summary(out)
    m = summary["metrics"]
    by_hand = _diffusion_critical_current_A_m2(summary["scenario"], 1e-19)
    assert m["fbg_readout_critical_stripping_current_A_m2"] == pytest.approx(by_hand, rel=1e-6, abs=0)
    strip = 2.0 * 1200 * 13.0e-6 / 96485.33212
    assert m["fbg_readout_void_height_final_m"] < 0.01 * strip
    assert m["fbg_readout_force_balance_error_max"] < 0.01


@pytest.mark.fem
def test_lisn_cell_cycles_with_contact_within_small_strain(tmp_path):
    """One short cycle of the shipped Li-Sn read-out (contact window, the skeleton's rigid lift): the window
    keeps full contact and carries the stack load, the fibre cell keeps force balance, the fibre load
    returns after the strip within the dead Li's swell, and the run raises no validity warning (the
    bonded window of the same cell reached creep strain 0.53 over three cycles)."""
    out = tmp_path / "lisn"
    summary, p, force_ratio = _short_contact_readout("cycling_lisn_pll_fbg.toml", out)
    m = summary["metrics"]
    assert m["contact_fraction"] == 1.0
    # the contact force is the pressure's integral over the interface's length, a little above p W on a rough line
    assert 1.0 <= force_ratio < 1.02
    assert m["electrode_creep_strain_max"] < 1e-3 and m["von_mises_max_Pa"] < 3 * p
    assert not [w for w in summary["warnings"] if "small-strain" in w], summary["warnings"]
    loads = np.loadtxt(out / "section_loads.csv", delimiter=",", skiprows=1, ndmin=2)[:, 2:]
    assert np.max(np.abs(loads[-1] / loads[0] - 1)) < 0.01     # back after the strip (dead Li: 5 % of 0.32 um)


@pytest.mark.slow
def test_li_cell_cycles_with_contact_and_reads_out(tmp_path):
    """One short cycle of the Li read-out on the contact window (rounded contour): the window carries the
    stack load through contact, the fibre cell keeps force balance, the run stays within small strain and
    says nothing about its Nitsche parameter (below the tried floor it would: docs/contact.md). The voids beside
    the fibre take the window's interface diffusion as their supply: the read-out's critical stripping current is
    F 4 P B / (Omega l^2) (creep: 1e-7 of it), 0.84 mA/cm^2, above the 0.2 that strips."""
    from ecmsim.scenario.guards import MIN_CREEP_NITSCHE_PARAMETER

    summary, _, force_ratio = _short_contact_readout("cycling_li_pll_fbg_contact.toml", tmp_path / "li")
    m = summary["metrics"]
    assert summary["scenario"]["interface"]["nitsche_parameter"] >= MIN_CREEP_NITSCHE_PARAMETER
    assert 1.0 <= force_ratio < 1.1
    assert m["fbg_peak_count_initial"] >= 2 and m["fbg_readout_dead_li_porosity"] == 0.5
    scn = summary["scenario"]
    by_hand = _diffusion_critical_current_A_m2(scn, scn["cycling"]["interface_diffusion_m3_s"])
    assert m["fbg_readout_critical_stripping_current_A_m2"] == pytest.approx(by_hand, rel=1e-6, abs=0)
    assert not [w for w in summary["warnings"] if "nitsche_parameter" in w or "small-strain" in w], summary["warnings"]


@pytest.mark.slow
@pytest.mark.mpi
def test_cycling_run_writes_the_readout_standalone_agrees_resume_and_parallel_equal_serial(tmp_path, have_mpirun):
    """One short cycle of cycling_li_pll_fbg.toml (the force-balanced cell along the grating): the files
    and metrics of the read-out, t = 0 at the held cell's load in every section, force balance at every
    output time; the standalone readout() on the same folder gives the same peaks; a run killed after its
    5th checkpoint and resumed gives the same read-out; mpirun -n 2 (the cell on every rank, the optics
    on rank 0) = serial."""
    import os
    import subprocess
    import sys

    from conftest import read_summary, run_cli_mpi
    from ecmsim.run.readout import readout

    out = tmp_path / "run"
    proc = run_cli("run", str(SCENARIOS / "cycling_li_pll_fbg.toml"), "-o", str(out), "-q", *_SHORT)
    assert proc.returncode == 0, proc.stderr
    m = read_summary(out)["metrics"]
    for name in ("spectra_history.csv", "peak_tracks.csv", "delta_sigma.csv", "section_pressures.csv",
                 "section_loads.csv", "fibre_readout.json", "waterfall.png", "peak_tracks.png", "delta_sigma.png"):
        assert (out / name).is_file(), name
    assert not (out / "fibre_library.csv").exists()          # the cell mapping solves no library
    for name in ("peak_tracks.csv", "delta_sigma.csv"):       # times are plain numbers, not np.float64(...)
        t = np.loadtxt(out / name, delimiter=",", skiprows=1, usecols=1, ndmin=1)
        assert t[0] == 0.0 and np.all(np.diff(t) >= 0), name
    loads = np.loadtxt(out / "section_loads.csv", delimiter=",", skiprows=1, ndmin=2)
    assert loads.shape == (m["fbg_readout_times"], 12)
    assert np.allclose(loads[0, 2:], loads[0, 2], rtol=1e-12, atol=0)  # before cycling every section is the held cell
    assert m["fbg_readout_force_balance_error_max"] < 0.01      # 1 % (measured ~1e-9)
    slots = np.floor(loads[:-1, 1] / 600 + 1e-9)              # one spectrum per 10 min (+ the last step)
    assert len(np.unique(slots)) == len(slots) and loads[0, 1] == 0.0
    assert m["fbg_peak_count_initial"] >= 2 and m["fbg_readout_library_pressures_Pa"] == []
    # the shipped scenario keeps the voids that stripping leaves beside the fibre (ell = 2 um: i_c << i, so
    # all of the 20 min strip, 0.32 um, stays) and counts dead Li porous
    strip = 2.0 * 1200 * 13.0e-6 / 96485.33212
    assert m["fbg_readout_void_height_final_m"] == pytest.approx(strip, rel=0.03, abs=0)
    assert m["fbg_readout_critical_stripping_current_A_m2"] < 1e-5 and m["fbg_readout_dead_li_porosity"] == 0.5
    alone = readout(out, SCENARIOS / "fbg_cell_li.toml", output_interval_s=600, out_dir=tmp_path / "alone", plots=False)
    assert alone["fbg_peaks_final_nm"] == pytest.approx(m["fbg_peaks_final_nm"], abs=1e-9)
    # the run's read-out uses the window's history in memory, the standalone one its CSV (9 digits)
    assert alone["fbg_delta_sigma_max_Pa"] == pytest.approx(m["fbg_delta_sigma_max_Pa"], rel=1e-6, abs=0)

    # killed right after its 5th checkpoint, resumed: the same read-out as uninterrupted
    killed_dir = tmp_path / "killed"
    env = {**os.environ, "ECMSIM_TEST_KILL_AFTER_CHECKPOINT": "5"}
    killed = subprocess.run([sys.executable, "-m", "ecmsim", "run", str(SCENARIOS / "cycling_li_pll_fbg.toml"), "-o",
                             str(killed_dir), "-q", *_SHORT, "--set", "protocol.checkpoint_interval_s=0.0"],
                            env=env, capture_output=True, text=True)
    assert killed.returncode == -9 and not killed_dir.exists()
    resumed = run_cli("run", str(SCENARIOS / "cycling_li_pll_fbg.toml"), "-o", str(killed_dir), "-q", *_SHORT,
                      "--set", "protocol.checkpoint_interval_s=0.0", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    r = read_summary(killed_dir)["metrics"]
    assert r["fbg_peaks_final_nm"] == pytest.approx(m["fbg_peaks_final_nm"], abs=1e-9)
    assert r["fbg_readout_section_load_final_N_per_m"] == pytest.approx(m["fbg_readout_section_load_final_N_per_m"],
                                                                         rel=1e-9, abs=0)
    np.testing.assert_allclose(np.loadtxt(killed_dir / "section_loads.csv", delimiter=",", skiprows=1), loads,
                               rtol=1e-9)

    parallel = run_cli_mpi(2, "run", str(SCENARIOS / "cycling_li_pll_fbg.toml"), "-o", str(tmp_path / "p"), "-q",
                           *_SHORT, "--set", "output.plots=false")
    assert parallel.returncode == 0, parallel.stderr
    b = read_summary(tmp_path / "p")["metrics"]
    assert b["fbg_peak_count_final"] == m["fbg_peak_count_final"]
    assert b["fbg_peaks_final_nm"] == pytest.approx(m["fbg_peaks_final_nm"], abs=1e-6)      # 1 fm
    assert b["fbg_delta_sigma_max_Pa"] == pytest.approx(m["fbg_delta_sigma_max_Pa"], rel=1e-6, abs=1.0)
    assert b["fbg_readout_section_load_final_N_per_m"] == pytest.approx(m["fbg_readout_section_load_final_N_per_m"],
                                                                         rel=1e-6, abs=0)


def test_library_from_finished_cell_runs(tmp_path):
    """readout(..., cell_runs=[...]) takes the core strains of finished fibre-cell runs (no solve), and
    refuses a run of another cell."""
    import json

    from ecmsim import scenario
    from ecmsim.core.errors import InputFileError
    from ecmsim.fibre.readout import library_from_cell_runs

    cell = scenario.load(SCENARIOS / "fbg_cell_li_given.toml")
    for name, p, scn in (("a", 2.4e6, cell), ("b", 4.8e6, cell)):
        (tmp_path / name).mkdir()
        core = _core(p)
        metrics = {"stack_pressure_Pa": p, **{f"fibre_core_strain_{k}": core[f"e{k}"] for k in ("xx", "yy", "zz", "xy")}}
        (tmp_path / name / "summary.json").write_text(json.dumps({"metrics": metrics, "scenario": scn.to_dict()}))
    lib = library_from_cell_runs([tmp_path / "b", tmp_path / "a"], cell)
    assert list(lib.pressures_Pa) == [0.0, 2.4e6, 4.8e6]
    assert lib.at(3.6e6)["eyy"] == pytest.approx(0.5 * (_core(2.4e6)["eyy"] + _core(4.8e6)["eyy"]), rel=1e-12, abs=0)
    other = scenario.load(SCENARIOS / "fbg_cell_lisn_given.toml")
    with pytest.raises(InputFileError, match="another cell"):
        library_from_cell_runs([tmp_path / "a"], other)
    with pytest.raises(InputFileError, match="not a fibre-cell result"):
        library_from_cell_runs([tmp_path], cell)


def test_delta_sigma_csv_signs_the_centroid_shift_like_the_peaks(tmp_path):
    """delta_sigma.csv: a centroid that moves to longer wavelengths reads as a positive Delta sigma
    (eq. 1-2, as a peak that moves that way), and its value is eq12_stress of the move."""
    from ecmsim.io.readout import write_outputs

    lam0 = 1550e-9
    spectra = [SimpleNamespace(R=np.zeros(3)) for _ in range(2)]
    reports = [SimpleNamespace(peaks=(), count=0, centroid_m=c) for c in (lam0, lam0 + 0.1e-9)]
    empty = np.zeros(0)
    readout_ = SimpleNamespace(wavelength_m=np.array([1549e-9, 1550e-9, 1551e-9]), steps=np.array([0, 1]),
                               times_s=np.array([0.0, 60.0]), spectra=spectra, reports=reports,
                               delta=[(empty, empty, empty)] * 2, tracks=[[], []], pressures_Pa=np.zeros((2, 1)),
                               library=SimpleNamespace(pressures_Pa=np.zeros(1),
                                                       cores={k: np.zeros(1) for k in ("exx", "eyy", "ezz", "exy")}),
                               loads_N_per_m=None, metrics={})
    write_outputs(tmp_path, readout_, FIBRE, plots=False)
    rows = np.genfromtxt(tmp_path / "delta_sigma.csv", delimiter=",", names=True)
    assert rows["delta_sigma_centroid_Pa"][0] == 0.0
    expected = float(eq12_stress(0.1e-9, lam0, FIBRE))
    assert expected > 0
    assert rows["delta_sigma_centroid_Pa"][1] == pytest.approx(expected, rel=1e-5, abs=0)
