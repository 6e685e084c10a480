"""The fibre read-out through the cycles (ecmsim/fibre_readout.py, docs/fibre_readout.md): the pressure
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
from ecmsim.fibre_cell import core_strain, state_key, strain_profile
from ecmsim.geometry.cell import CellSection
from ecmsim.fibre_readout import (ReadoutOptions, StrainLibrary, WindowHistory, compute, delta_sigma, eq12_factor,
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
    assert mid == pytest.approx(0.5 * (lib.cores["eyy"][2] + lib.cores["eyy"][3]), rel=1e-12)
    slope = (lib.cores["eyy"][-1] - lib.cores["eyy"][-2]) / (p[-1] - p[-2])
    assert lib.at(p[-1] + 1e6)["eyy"] == pytest.approx(lib.cores["eyy"][-1] + slope * 1e6, rel=1e-12)
    assert lib.at(-1e6)["eyy"] == 0.0                                           # tension carries no load


def test_window_bins_are_length_weighted_and_change_mapping_starts_at_the_stack_pressure():
    # one step, two bins; bin 0 has facets of length 1 and 3 at 2 and 6 MPa -> 5 MPa
    rows = np.array([[0, 0.0, 1e-6, 0, 0, -2e6, 0, 0, 1, 1e-7], [0, 0.0, 2e-6, 0, 0, -6e6, 0, 0, 1, 3e-7],
                     [0, 0.0, 9e-6, 0, 0, -1e6, 0, 0, 1, 1e-7], [0, 0.0, 10e-6, 0, 0, 1e6, 0, 0, 1, 1e-7]])
    _, _, P = WindowHistory.from_rows(rows).bin_pressures(2)
    assert P[0] == pytest.approx([5e6, 0.0])
    levels = np.array([[3e6, 4e6, 5e6], [1e6, 9e6, 6e6]])
    P = section_pressures(levels, P0, "change")
    assert np.allclose(P[0], P0)
    assert np.allclose(P[1], [P0 - 2e6, P0 + 5e6, P0 + 1e6])
    assert np.allclose(section_pressures(levels - 4e6, P0, "absolute")[0], [0.0, 0.0, 1e6])  # clipped
    assert list(select_times(np.array([0, 10, 590, 600, 650, 1300, 1310.0]), 600)) == [0, 3, 5, 6]
    assert list(select_times(np.array([0, 10, 20.0]), 0)) == [0, 1, 2]


def test_eq12_inverted_against_a_known_strain():
    """Eq. 1 with the paper's constants: factor 1 - 1.45^2 [0.252 - 0.17 (0.113 + 0.252)] / 2 = 0.80031;
    a peak shifted by lambda0 * 0.80031 * 1e-3 reads sigma = 69.9 GPa * 1e-3 = 69.9 MPa."""
    assert eq12_factor(FIBRE) == pytest.approx(1 - 0.5 * 1.45 ** 2 * (0.252 - 0.17 * (0.113 + 0.252)), rel=1e-12)
    assert eq12_factor(FIBRE) == pytest.approx(0.80031, abs=1e-5)
    lam0 = 1542.18e-9
    shift = lam0 * 0.800313 * 1e-3
    assert float(eq12_stress(shift, lam0, FIBRE)) == pytest.approx(69.9e6, rel=1e-5)
    ref, sh, st = delta_sigma([lam0 - 0.05e-9, 1542.40e-9, lam0 + 2 * shift], [lam0, 1542.37e-9], FIBRE)
    assert list(ref) == [lam0, 1542.37e-9, 1542.37e-9]                   # the nearest pre-cycling peak
    assert sh[1] == pytest.approx(0.03e-9, rel=1e-6)
    assert st[0] == pytest.approx(-69.9e6 * 0.05e-9 / shift, rel=1e-5)
    assert st[2] == pytest.approx(69.9e6 * (2 * shift + lam0 - 1542.37e-9) / shift * lam0 / 1542.37e-9, rel=1e-5)


# ---- optics against direct spectra ------------------------------------------------------------------------

def test_uniform_window_gives_exactly_the_fibre_cell_spectrum():
    """Every section at the stack pressure: the spectrum of the fibre cell's own profile (two peaks)."""
    model = _model()
    lib = _library()
    times = np.array([0.0, 600.0])
    r = compute(_window(np.full((2, 10), 3e6), times), model, P0, ReadoutOptions(sections=10),
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
