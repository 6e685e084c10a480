"""The fibre's embedding in time (ecmsim/fibre/embedding.py), its axial model (ecmsim/fibre/axial.py)
and how the interrogator reads a splitting: closed forms, limits, the finite-element cell."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from conftest import SCENARIOS, assert_one_line_error, read_summary, run_cli
from ecmsim import materials, scenario
from ecmsim.fibre.axial import AxialSupport, anchor_stiffness, axial_strain
from ecmsim.fibre.embedding import (Embedding, FlowLaw, Layer, bridging, composite_law, film_flux, section_rigidity,
                                    squeeze_load, squeeze_load_newtonian, squeeze_velocity)
from ecmsim.materials.creep import law_of

R = 62.5e-6
T = 333.15
LI = FlowLaw.from_norton(law_of(materials.get("Li")), T)


# ---- the squeeze film -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("h_c", [0.2e-6, 2e-6, 10e-6])
def test_newtonian_film_gives_reynolds_closed_form(h_c):
    """A cylinder approaching a wall through a Newtonian film: f = 3 sqrt2 pi mu V (R/h)^1.5."""
    mu = 3e4
    law = FlowLaw(1e6 / (3 * mu), 1.0, 1e6)          # eps_dot = sigma / (3 mu): shear viscosity mu
    assert law.shear_coefficient == pytest.approx(1 / mu, rel=1e-12, abs=0)
    far = 60 * math.sqrt(2 * R * h_c)                 # the closed form integrates to infinity
    got = squeeze_load(2e-7, h_c, R, law, extent_m=far)
    assert got == pytest.approx(squeeze_load_newtonian(2e-7, h_c, R, mu), rel=3e-3, abs=0)


def test_film_flux_closed_form_and_threshold():
    """q = 2 B (G h/2)^(n+2) / ((n+2) G^2) without a threshold (Newtonian: h^3 G / 12 mu); no flow
    below the yield gradient 2 tau_y / h; the threshold formula tends to it as tau_y -> 0."""
    h, G = 10e-6, 3e9
    assert film_flux(G, h, FlowLaw(1 / 3, 1.0, 1.0)) == pytest.approx(h ** 3 * G / 12, rel=1e-12, abs=0)
    q = film_flux(G, h, LI)
    assert q == pytest.approx(2 * LI.shear_coefficient * (G * h / 2) ** (LI.stress_exponent + 2)
                              / ((LI.stress_exponent + 2) * G * G), rel=1e-12, abs=0)
    yielding = FlowLaw(LI.rate_per_s, LI.stress_exponent, LI.reference_stress_Pa, threshold_Pa=2e6)
    tau_y = 2e6 / math.sqrt(3)
    assert film_flux(0.99 * 2 * tau_y / h, h, yielding) == 0.0
    assert film_flux(1.5 * 2 * tau_y / h, h, yielding) > 0.0
    tiny = FlowLaw(LI.rate_per_s, LI.stress_exponent, LI.reference_stress_Pa, threshold_Pa=1e-3)
    assert film_flux(G, h, tiny) == pytest.approx(q, rel=1e-6, abs=0)


@pytest.mark.parametrize("threshold", [0.0, 6e6])
def test_sinking_speed_inverts_the_load(threshold):
    """squeeze_velocity is the inverse of squeeze_load (exact without a threshold, 1 % through the table)."""
    from ecmsim.fibre.embedding import SqueezeTable
    law = FlowLaw(LI.rate_per_s, LI.stress_exponent, LI.reference_stress_Pa, threshold)
    table = SqueezeTable(law, R, 0.2e-6, 100e-6) if threshold else None
    for h_c in (1e-6, 30e-6):
        f_yield = squeeze_load(1e-30, h_c, R, law)
        f = f_yield + 2000.0
        V = squeeze_velocity(f, h_c, R, law, table)
        assert V > 0
        assert squeeze_load(V, h_c, R, law) == pytest.approx(f, rel=1e-2 if threshold else 1e-9, abs=0)
        if threshold:
            assert squeeze_velocity(0.9 * f_yield, h_c, R, law, table) == 0.0   # the film holds the fibre


# ---- the plate over the fibre -------------------------------------------------------------------------------------

def test_bridging_plate_closed_form():
    """l = (72 D h / p)^(1/4), f = 4 p l / 3; a prop lower than the fibre's own footprint load gives p D."""
    D, h, p = 4e-5, 25e-6, 2.4e6
    f, landing = bridging(p, h, D, 125e-6)
    assert landing == pytest.approx((72 * D * h / p) ** 0.25, rel=1e-14, abs=0)
    assert f == pytest.approx(4 * p * landing / 3, rel=1e-14, abs=0)
    assert bridging(p, 1e-12, D, 125e-6)[0] == pytest.approx(p * 125e-6, rel=1e-14, abs=0)
    # bonded layers: one layer gives E t^3 / 12 (1 - nu^2); two equal bonded layers 8 times one
    one = section_rigidity([(380e6, 0.4, 100e-6)])
    assert one == pytest.approx(380e6 * 1e-12 / (12 * 0.84), rel=1e-12, abs=0)
    assert section_rigidity([(380e6, 0.4, 100e-6), (380e6, 0.4, 100e-6)]) == pytest.approx(8 * one, rel=1e-12, abs=0)


@pytest.mark.slow
@pytest.mark.parametrize("counter_m", [0.0, 100e-6])
def test_bridging_agrees_with_the_finite_element_cell(counter_m):
    """The reduced model's fibre load against the elastic contact cell (rigid fibre, Nitsche contact,
    force balance) of the same geometry: the fibre 60 um in the foil, the membrane (bonded to a Li
    counter foil or alone) laid flat on it, 2.4 MPa: within 5 %."""
    from ecmsim.fbg.optics import Fibre
    from ecmsim.fibre.cell import CellSectionSolver
    from ecmsim.geometry.cell import CellSection

    li, pll = materials.get("Li"), materials.get("PLL")
    section = CellSection(125e-6, 100e-6, 100e-6, counter_m, 3e-3, 60e-6, 0.5e-6, 0.0, 0.0)
    solver = CellSectionSolver(section, li, pll, Fibre.from_material("silica"), (50e-6, 2e-6, None, 2_000_000),
                               nitsche_parameter=10.0, load_steps=8, newton_max_iterations=60)
    try:
        fe = solver.solve(2.4e6).metrics["fibre_line_load_N_per_m"]
    finally:
        solver.close()
    layers = [(pll.youngs_modulus_Pa, pll.poissons_ratio, 100e-6)]
    if counter_m:
        layers.append((li.youngs_modulus_Pa, li.poissons_ratio, counter_m))
    f, _ = bridging(2.4e6, section.standoff_m, section_rigidity(layers), 125e-6)
    assert f == pytest.approx(fe, rel=0.05, abs=0)


# ---- the embedding in time ----------------------------------------------------------------------------------------

def _layers(foil_law, membrane_law=None, frame=0.0):
    elastic = FlowLaw(0.0, 1.0, 1.0)
    return (Layer("electrode", 100e-6, 4.9e9, 0.38, foil_law, frame),
            Layer("electrolyte", 254e-6, 380e6, 0.40, membrane_law or elastic),
            Layer("counter", 100e-6, 4.9e9, 0.38, foil_law, frame))


def test_zero_creep_keeps_the_elastic_cell():
    """With zero creep prefactors nothing flows: after a 10 h hold every output equals the loaded
    (elastic) state to 1e-10, and that state is the elastic plate over the fibre as laid."""
    still = FlowLaw(0.0, LI.stress_exponent, LI.reference_stress_Pa)
    e = Embedding(125e-6, *_layers(still), initial_depth_m=0.5e-6)
    first = e.advance(2.4e6, 0.0)
    last = e.advance(2.4e6, 36000.0)
    for key, value in first.metrics().items():
        assert getattr(last, "time_s") == 36000.0
        assert last.metrics()[key] == pytest.approx(value, rel=1e-10, abs=1e-300), key
    rigidity = section_rigidity([(380e6, 0.40, 254e-6), (4.9e9, 0.38, 100e-6)])
    f, _ = bridging(2.4e6, 124e-6, rigidity, 125e-6)
    assert first.fibre_line_load_N_per_m == pytest.approx(f, rel=1e-12, abs=0)


def test_zero_skeleton_fraction_is_the_li_law_and_the_bounds_are_ordered():
    assert composite_law(LI, 0.0, "connected", 0.37e9) == LI
    assert composite_law(LI, 0.05, "none", 0.37e9) == LI
    iso, con = composite_law(LI, 0.05, "isolated", 0.37e9), composite_law(LI, 0.05, "connected", 0.37e9)
    assert iso.reference_stress_Pa == pytest.approx(LI.reference_stress_Pa * 1.125, rel=1e-12, abs=0) and iso.threshold_Pa == 0
    assert con.threshold_Pa == pytest.approx(0.05 * 0.37e9 / 3, rel=1e-12, abs=0)
    # a Li-Sn record with no skeleton reads like Li with the same modulus
    li = _read("fbg_cell_li.toml", [])
    no_skeleton = _read("fbg_cell_lisn.toml", ['materials.electrode = {youngs_modulus_Pa = 4.9e9, poissons_ratio = 0.38, '
                                               'source = "test", creep_rate_prefactor_per_s = 4.25e4, '
                                               'creep_stress_exponent = 6.6, creep_activation_energy_J_per_mol = 37e3, '
                                               'creep_reference_stress_Pa = 1e6}', "fbg.grating.design_wavelength_m=1542e-9"])
    assert no_skeleton["fbg_eigen_splitting_pm"] == pytest.approx(li["fbg_eigen_splitting_pm"], rel=1e-9, abs=0)
    isolated = _read("fbg_cell_lisn.toml", ['geometry.electrode_skeleton="isolated"'])
    connected = _read("fbg_cell_lisn.toml", [])
    assert connected["fbg_eigen_splitting_pm"] > isolated["fbg_eigen_splitting_pm"]


def _read(name, sets):
    from ecmsim.fibre.model import ProcessCell
    scn = scenario.load(SCENARIOS / name, sets)
    cell = ProcessCell(scn)
    p = scn.loading.stack_pressure_Pa
    cell.advance(p, 0.0)
    cell.advance(p, 36000.0)
    return cell.reading(p)


def test_fibre_cell_run_keeps_force_balance_and_writes_its_history(tmp_path):
    """ecmsim run of the Li cell (load, 10 h hold): the foil's film and the membrane each carry the
    bridged load to 1 % at every step; history.csv, spectra_history.csv (a spectrum per step), the
    reading beside the eigenmode peaks, the groove depths as outputs."""
    out = tmp_path / "li"
    proc = run_cli("run", str(SCENARIOS / "fbg_cell_li.toml"), "-o", str(out), "-q")
    assert proc.returncode == 0, proc.stderr
    with open(out / "history.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) > 10 and float(rows[-1]["time_s"]) == pytest.approx(36000.0, rel=1e-12, abs=0)
    assert max(float(r["fibre_force_balance_error"]) for r in rows) < 1e-2
    spectra = np.loadtxt(out / "spectra_history.csv", delimiter=",", skiprows=1)
    assert spectra.shape[0] == len(rows)
    m = read_summary(out)["metrics"]
    assert m["fibre_depth_in_electrode_m"] > 50e-6 and m["fibre_standoff_m"] > 0
    assert abs(m["fbg_eigen_splitting_pm"] - 1e3 * abs(m["fbg_peak_x_nm"] - m["fbg_peak_y_nm"])) < 1e-9
    assert m["fbg_peak_count"] == 2


@pytest.mark.parametrize("sets, fragment", [
    (["geometry.fibre_depth_in_electrode_m=30e-6"], "geometry.fibre_depth_in_electrode_m: an embedded state is computed"),
    (['geometry.embedding="given"'], "geometry.fibre_depth_in_electrode_m is missing"),
    (['geometry.embedding="given"', "geometry.fibre_depth_in_electrode_m=30e-6",
      "geometry.fibre_depth_in_electrolyte_m=30e-6"], "'coupled' needs embedding = 'process'"),
    (["geometry.anchor_hole_diameter_m=100e-6"], "geometry.anchor_hole_diameter_m"),
])
def test_fibre_cell_input_errors_name_the_key(sets, fragment):
    args = ["run", str(SCENARIOS / "fbg_cell_li.toml"), "-q"]
    for item in sets:
        args += ["--set", item]
    assert_one_line_error(run_cli(*args), fragment)


# ---- the fibre along z ---------------------------------------------------------------------------------------------

EA = 69.9e9 * math.pi * R ** 2


@pytest.mark.parametrize("k, anchor", [(4e8, math.inf), (4e8, 2e5), (1e5, math.inf)])
def test_axial_shear_lag_closed_form_against_finite_differences(k, anchor):
    """u'(z) of the closed form against a second-order finite-difference solution of
    EA u'' = k (u - eps_m z) over the electrode (|z| < a), u'' = 0 in the spans, N continuous at a,
    u(0) = 0 and the anchor spring u(b) = eps_b b - N(b)/k_a: agreement to 1e-4 of the strains."""
    from scipy.sparse import lil_matrix
    from scipy.sparse.linalg import spsolve

    a, b = 6e-3, 7e-3
    ep, es, em, eb = 2e-5, 0.0, 1e-5, 3e-5
    n = 7000                                   # h = 1 um, a on node 6000
    h = b / n
    ia = round(a / h)
    A, rhs = lil_matrix((n + 1, n + 1)), np.zeros(n + 1)
    A[0, 0] = 1.0                              # u(0) = 0
    for i in range(1, n):
        if i < ia:                             # EA (u_{i-1} - 2 u_i + u_{i+1}) / h^2 - k u_i = -k eps_m z_i
            A[i, i - 1], A[i, i], A[i, i + 1] = EA / h ** 2, -2 * EA / h ** 2 - k, EA / h ** 2
            rhs[i] = -k * em * i * h
        elif i > ia:
            A[i, i - 1], A[i, i], A[i, i + 1] = 1.0, -2.0, 1.0
        else:                                  # N continuous at a: u'(a+) - u'(a-) = eps_s - eps_p,
            # with second-order one-sided slopes on each side
            A[i, i - 2], A[i, i - 1], A[i, i] = -0.5 / h, 2.0 / h, -1.5 / h - 1.5 / h
            A[i, i + 1], A[i, i + 2] = 2.0 / h, -0.5 / h
            rhs[i] = es - ep
    # anchor: u(b) + (EA/k_a) (u'(b) - eps_s) = eps_b b
    r = 0.0 if math.isinf(anchor) else EA / anchor
    A[n, n] = 1.0 + r * 1.5 / h
    A[n, n - 1], A[n, n - 2] = -r * 2.0 / h, r * 0.5 / h
    rhs[n] = eb * b + r * es
    u = spsolve(A.tocsr(), rhs)
    z = np.arange(n + 1) * h
    du = np.gradient(u, h)
    pick = z <= 5e-3
    closed = axial_strain(z[pick], AxialSupport(a, b, k, anchor), EA, ep, es, em, eb)
    assert np.max(np.abs(du[pick][1:-1] - closed[1:-1])) < 1e-4 * 1e-5      # strains of order 1e-5


def test_axial_limits():
    """Stiff shear lag: the fibre follows the layers mid-grating; none and free anchors: free
    (eps_pressed); none and rigid anchors: one uniform strain over the anchor span."""
    a, b, ep = 6e-3, 7e-3, 2e-5
    stiff = axial_strain([0.0], AxialSupport(a, b, 1e14), EA, ep, 0.0, 1e-5, 0.0)
    assert stiff[0] == pytest.approx(1e-5, rel=1e-9, abs=0)
    free = axial_strain([0.0, 4e-3], AxialSupport(a, b, 0.0, 1e-12), EA, ep)
    assert free == pytest.approx([ep, ep], rel=1e-6, abs=0)
    rigid = axial_strain([0.0], AxialSupport(a, b, 0.0), EA, ep, 0.0, 0.0, 3e-5)
    assert rigid[0] == pytest.approx((3e-5 * b - (b - a) * (0.0 - ep)) / b, rel=1e-12, abs=0)
    # an epoxy anchor: EA lambda tanh(lambda L), stiffer for a stiffer, longer bond
    assert anchor_stiffness(1e9, 4e-3, 0.8e-3, R, EA) > anchor_stiffness(1e7, 4e-3, 0.8e-3, R, EA) > 0


# ---- the interrogator's reading ------------------------------------------------------------------------------------

def test_reading_bias_reproduces_the_documented_table():
    """docs/fbg_cell.md's read-vs-eigen table: a Gaussian-apodized grating reads one peak up to
    about 160 pm and the eigenmode splitting itself from 175 pm; a uniform grating's side lobes make
    a third maximum and a reading far from the eigenmode splitting (175 pm read as 98 pm)."""
    from ecmsim.fbg.parameters import Grating
    from ecmsim.fbg.sensor import reading_bias

    gauss = Grating(design_wavelength_m=1542e-9, apodization="gaussian", reference_temperature_K=333.15)
    rows = reading_bias(np.array([150.0, 200.0]) * 1e-12, gauss)
    assert rows[0]["peaks_read"] == 1 and rows[0]["read_splitting_pm"] == 0.0
    assert rows[1]["read_splitting_pm"] == pytest.approx(rows[1]["eigen_splitting_pm"], abs=1.0)
    assert rows[1]["eigen_splitting_pm"] == pytest.approx(200.0, abs=1.0)
    uniform = Grating(design_wavelength_m=1542e-9, apodization="uniform", reference_temperature_K=333.15)
    (row,) = reading_bias([175e-12], uniform)
    assert row["peaks_read"] == 2 and row["read_splitting_pm"] == pytest.approx(98.0, abs=2.0)
