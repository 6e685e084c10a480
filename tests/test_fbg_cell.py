"""The fibre inside the cell (ecmsim/fibre/cell.py, geometry kind fbg_cell): closed forms, limits,
monotonicity, scenario plumbing and MPI. Coarse meshes, one solved cell shared per module."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import SCENARIOS, assert_one_line_error, read_summary, run_cli, run_cli_mpi
from ecmsim import materials
from ecmsim.fbg.optics import Fibre
from ecmsim.fbg.parameters import Grating
from ecmsim.fbg.profile import StrainProfile
from ecmsim.fbg.sensor import simulate
from ecmsim.fibre.cell import (DiscTractions, ZState, core_strain, disc_centre_stress, interpolate_core_strain,
                               piecewise_states, strain_profile)
from ecmsim.geometry.cell import CellSection
from test_fbg_optics import diametral_load_strains

FIBRE = Fibre.from_material("silica")
R = 0.5 * FIBRE.diameter_m
LAM = 1550e-9


def eigen_splitting_m(core, lam=LAM):
    """lambda (n^2/2)(p12 - p11)(e_x - e_y) for principal axes x, y (e_xy = 0 here)."""
    n = FIBRE.effective_index
    return lam * 0.5 * n * n * (FIBRE.p12 - FIBRE.p11) * abs(core["exx"] - core["eyy"])


# ---- closed forms (no FE) --------------------------------------------------------------------------

def test_disc_centre_stress_reproduces_diametral_and_hydrostatic_loads():
    """Two concentrated forces f at theta = +-90 deg: sigma_xx = 2f/(pi D), sigma_yy = -6f/(pi D);
    a uniform pressure p: sigma = -p I; a load along 30 deg: the rotated tensor."""
    f, D = 3000.0, 2 * R
    eps = 1e-7                                        # a concentrated force as a very narrow pressure
    th = np.array([np.pi / 2, -np.pi / 2])
    t = DiscTractions(th, np.array([f / eps, f / eps]), np.array([eps, eps]), R)
    sxx, syy, sxy = disc_centre_stress(t)
    assert sxx == pytest.approx(2 * f / (math.pi * D), rel=1e-12, abs=0)
    assert syy == pytest.approx(-6 * f / (math.pi * D), rel=1e-12, abs=0)
    assert abs(sxy) < 1e-6 and np.allclose(t.net_force_N_per_m, 0, atol=1e-9)
    th = np.linspace(-np.pi, np.pi, 721)[:-1]
    uniform = DiscTractions(th, np.full(th.size, 2.4e6), np.full(th.size, 2 * np.pi * R / th.size), R)
    assert np.allclose(disc_centre_stress(uniform), (-2.4e6, -2.4e6, 0.0), atol=1e-3)
    a = math.radians(30)
    rot = DiscTractions(np.array([a + np.pi / 2, a - np.pi / 2]), np.array([f / eps] * 2), np.array([eps] * 2), R)
    s1, s2 = 2 * f / (math.pi * D), -6 * f / (math.pi * D)   # along / across the load's normal
    c, s = math.cos(a), math.sin(a)
    # sigma_xx is zero here (s1 c^2 + s2 s^2 = 0 at 30 deg): the floor is round-off of the load's scale
    assert np.allclose(disc_centre_stress(rot), (s1 * c * c + s2 * s * s, s1 * s * s + s2 * c * c, (s1 - s2) * s * c),
                       rtol=1e-9, atol=1e-12 * abs(s2))


def test_core_strain_out_of_plane_conditions():
    """fixed: eps_zz = 0 and the strains of the diametral closed form; free: sigma_zz = 0."""
    f = 2000.0
    sx, sy = 2 * f / (math.pi * 2 * R), -6 * f / (math.pi * 2 * R)
    fixed = core_strain(sx, sy, 0.0, FIBRE, "fixed")
    ex, ey, *_ = diametral_load_strains(f)
    assert fixed["ezz"] == 0.0
    assert fixed["exx"] == pytest.approx(ex, rel=1e-12, abs=0) and fixed["eyy"] == pytest.approx(ey, rel=1e-12, abs=0)
    free = core_strain(sx, sy, 0.0, FIBRE, "free")
    assert free["szz_Pa"] == 0.0
    assert free["ezz"] == pytest.approx(-FIBRE.poissons_ratio * (sx + sy) / FIBRE.youngs_modulus_Pa, rel=1e-12, abs=0)
    # the splitting does not depend on the axial condition (e_x - e_y = (1 + nu)(s_x - s_y)/E either way)
    assert eigen_splitting_m(fixed) == pytest.approx(eigen_splitting_m(free), rel=1e-12, abs=0)


def test_states_along_the_grating_and_interpolation():
    base = CellSection()
    pieces = piecewise_states(base, [ZState(0.002, 0.004, {"void_width_m": 20e-6}),
                                     ZState(0.006, 0.010, {"fibre_depth_in_electrolyte_m": 40e-6})], 0.01)
    assert [(round(a, 6), round(b, 6)) for a, b, _ in pieces] == [(0, 0.002), (0.002, 0.004), (0.004, 0.006),
                                                                  (0.006, 0.01)]
    assert pieces[0][2] == pieces[2][2] == base and pieces[1][2].void_width_m == 20e-6
    from ecmsim.fibre.cell import state_key
    level = {state_key(pieces[0][2]): 0.0, state_key(pieces[1][2]): 1e-5, state_key(pieces[3][2]): 3e-5}
    cores = {k: {"exx": v, "eyy": -v, "ezz": 0.0, "exy": 0.0} for k, v in level.items()}
    prof = strain_profile(pieces, cores)
    means = prof.section_means(np.array([0.0, 0.002, 0.004, 0.006, 0.01]))
    assert np.allclose(means["exx"], [0.0, 1e-5, 0.0, 3e-5], atol=1e-13)
    got = interpolate_core_strain([10e-6, 30e-6], [{"exx": 0.0, "eyy": 0, "ezz": 0, "exy": 0},
                                                   {"exx": 2e-4, "eyy": 0, "ezz": 0, "exy": 0}], np.array([20e-6]))
    assert got["exx"][0] == pytest.approx(1e-4)


# ---- FE: the cell --------------------------------------------------------------------------------------

def _solver(section, electrode="Li", electrolyte="PLL", fine=2e-6, coarse=50e-6, steps=8, axial="fixed"):
    from ecmsim.fibre.cell import CellSectionSolver
    def get(m):
        return materials.get(m) if isinstance(m, str) else m
    return CellSectionSolver(section, get(electrode), get(electrolyte), FIBRE, (coarse, fine, None, 10**6),
                             axial=axial, load_steps=steps, newton_max_iterations=60)


def test_fibre_between_stiff_plates_is_the_diametral_closed_form():
    """Two stiff plates (200 GPa, the same above and below, grooves 0.2 um deep) pressed together
    by their outer faces by the same displacement (the fibre in the middle carries no net force by
    symmetry) touch the fibre only at its top and bottom. From
    the contact tractions, the disc closed form must give the core stress of a diametral line load
    f (Timoshenko & Goodier) with f the computed load, and both eigenmode peaks of the spectrum
    must be those of that load."""
    from ecmsim.fibre.cell import DiscTractions
    from ecmsim.mesh.cell import mesh_cell
    from ecmsim.mechanics.contact import ContactPair, ContactProblem, RigidCircle
    from ecmsim.mechanics.elasticity import Support

    plate = materials.Material(key="plate", youngs_modulus_Pa=200e9, poissons_ratio=0.3,
                               sources={"youngs_modulus_Pa": "test plate", "poissons_ratio": "test plate"})
    section = CellSection(electrode_thickness_m=40e-6, electrolyte_thickness_m=40e-6, counter_electrode_thickness_m=0,
                          width_m=250e-6, fibre_depth_in_electrode_m=0.2e-6, fibre_depth_in_electrolyte_m=0.2e-6)
    tmesh, lay = mesh_cell(section, 20e-6, 0.5e-6)
    h0 = section.standoff_m
    problem = ContactProblem(
        tmesh, {"electrode": plate, "electrolyte": plate},
        supports=[Support("bottom", (0, 1), lambda x: np.stack([0 * x[0], np.full(x.shape[1], 20e-9)])),
                  Support("left", (0,)),
                  Support("top", (1,), lambda x: np.stack([0 * x[0], np.full(x.shape[1], -20e-9)]))],
        pairs=[ContactPair("interface", initial_gap=lambda x: np.full(x.shape[1], h0))],
        obstacles=[RigidCircle("fibre_electrode", lay.fibre_centre_electrode_m, R, conform_to_mesh=True),
                   RigidCircle("fibre_electrolyte", lay.fibre_centre_electrolyte_m, R, conform_to_mesh=True)])
    solution = problem.solve(2)
    problem.close()
    t = [DiscTractions.from_half(c.x_m, c.y_m, c.contact_pressure_Pa, c.weight_m, centre, R)
         for c, centre in ((solution.contact["fibre_electrode"], lay.fibre_centre_electrode_m),
                           (solution.contact["fibre_electrolyte"], lay.fibre_centre_electrolyte_m))]
    f_top, f_bottom = -t[1].net_force_N_per_m[1], t[0].net_force_N_per_m[1]
    assert f_top > 100.0 and f_bottom > 100.0                # N/m: the plates do press on the fibre
    assert f_bottom == pytest.approx(f_top, rel=0.1, abs=0)         # nearly balanced (the two meshes differ)
    # a residual net force is Fourier mode 1 of the rim traction, which does not reach the centre:
    # the centre sees the diametral load of the mean force
    f = 0.5 * (f_top + f_bottom)
    assert solution.contact["interface"].metrics()["contact_force_N_per_m"] == 0.0   # plates apart
    sxx, syy, sxy = disc_centre_stress(t[0] + t[1])
    core = core_strain(sxx, syy, sxy, FIBRE, "fixed")
    ex, ey, *_ = diametral_load_strains(f)
    assert core["exx"] == pytest.approx(ex, rel=0.02, abs=0)
    assert core["eyy"] == pytest.approx(ey, rel=0.02, abs=0)
    # both polarisations, through the optics: lambda_i = lambda_D (1 - n^2/2 (p11 e_i + p12 e_j))
    n, p11, p12 = FIBRE.effective_index, FIBRE.p11, FIBRE.p12
    lam_x, lam_y = LAM * (1 - 0.5 * n * n * (p11 * ex + p12 * ey)), LAM * (1 - 0.5 * n * n * (p11 * ey + p12 * ex))
    prof = StrainProfile.uniform(0.01, exx=core["exx"], eyy=core["eyy"], ezz=core["ezz"])
    spectrum, report = simulate(prof, Grating(apodization="gaussian"))
    from ecmsim.fbg.analysis import parabolic_vertex
    peak = [parabolic_vertex(spectrum.wavelength_m, R_, int(np.argmax(R_)))[0] for R_ in (spectrum.R_x, spectrum.R_y)]
    # the splitting of the two eigenmode peaks is the closed form's (to the 2 % of the strains) ...
    assert (peak[0] - peak[1]) == pytest.approx(lam_x - lam_y, rel=0.02, abs=0)
    # ... and each peak sits where the strain-optic law puts it for the computed core strain
    cx, cy = core["exx"], core["eyy"]
    assert abs(peak[0] - LAM * (1 - 0.5 * n * n * (p11 * cx + p12 * cy))) < 0.05e-12
    assert abs(peak[1] - LAM * (1 - 0.5 * n * n * (p11 * cy + p12 * cx))) < 0.05e-12


@pytest.fixture(scope="module")
def standoff_cell():
    """Li / PLL cell, 1 mm half width, 5 um standoff, coarse: solved at a few pressures."""
    section = CellSection(width_m=1e-3, fibre_depth_in_electrode_m=60e-6, fibre_depth_in_electrolyte_m=60e-6)
    solver = _solver(section)
    out = {p: solver.solve(p) for p in (0.02e6, 0.5e6, 1.0e6, 2.4e6)}
    solver.close()
    return out


@pytest.fixture(scope="module")
def conformal_cell():
    """Fully embedded fibre (both grooves the fibre radius, no standoff) at 2.4 MPa."""
    section = CellSection(width_m=1e-3, fibre_depth_in_electrode_m=R, fibre_depth_in_electrolyte_m=R)
    solver = _solver(section, steps=2)
    r = solver.solve(2.4e6)
    solver.close()
    return r


def test_every_solve_balances_the_fibre_and_the_membrane(standoff_cell, conformal_cell):
    for r in [*standoff_cell.values(), conformal_cell]:
        assert abs(r.metrics["fibre_net_force_N_per_m"]) < 1e-5 * r.metrics["fibre_line_load_N_per_m"]
        assert r.metrics["membrane_equilibrium_error"] < 1e-2


def test_conformal_embedding_splits_little(conformal_cell, standoff_cell):
    """A fully embedded fibre shares the load with the layers around it: a splitting of a few pm at
    2.4 MPa (12 pm here, frictionless), against 190 pm measured; a 5 um standoff already gives
    several times more."""
    conformal = eigen_splitting_m(conformal_cell.core)
    assert 1e-12 < conformal < 20e-12
    assert eigen_splitting_m(standoff_cell[2.4e6].core) > 4 * conformal
    assert conformal_cell.metrics["fibre_standoff_m"] == 0.0


def test_splitting_grows_with_pressure_and_one_peak_near_zero(standoff_cell):
    pressures = sorted(standoff_cell)
    split = [eigen_splitting_m(standoff_cell[p].core) for p in pressures]
    load = [standoff_cell[p].metrics["fibre_line_load_N_per_m"] for p in pressures]
    assert all(b > a for a, b in zip(split, split[1:])), split
    assert all(b > a for a, b in zip(load, load[1:])), load
    grating = Grating(apodization="gaussian")
    reports = {}
    for p in (0.02e6, 2.4e6):
        c = standoff_cell[p].core
        _, reports[p] = simulate(StrainProfile.uniform(0.01, exx=c["exx"], eyy=c["eyy"], ezz=c["ezz"]), grating)
    # a 10 mm gaussian grating's line is ~150 pm wide: the eigen splitting (~2 pm at 0.02 MPa, ~74 pm at
    # 2.4 MPa) stays unresolved, one peak, and broadens it by a fraction of the splitting
    assert reports[0.02e6].count == 1 and reports[2.4e6].count == 1
    low, high = reports[0.02e6].peaks[0].fwhm_m, reports[2.4e6].peaks[0].fwhm_m
    d = eigen_splitting_m(standoff_cell[2.4e6].core)
    assert 0.1 * d < high - low < 0.5 * d, (low, high, d)


def test_states_along_the_grating_make_two_strain_levels(tmp_path):
    """Half the grating with a standoff, half fully embedded: two states solved, two local Bragg
    wavelengths per eigenmode along the grating."""
    out = tmp_path / "run"
    proc = run_cli("run", str(SCENARIOS / "fbg_cell_li_given.toml"), "-o", str(out), "-q", *_SMALL,
                   "--set", "geometry.fibre_depth_in_electrolyte_m=30e-6",
                   "--set", "geometry.states=[{z_from_m = 0.0, z_to_m = 0.005, fibre_depth_in_electrolyte_m = 62.5e-6}]")
    assert proc.returncode == 0, proc.stderr
    s = read_summary(out)
    assert s["metrics"]["fbg_cell_distinct_states"] == 2 and s["metrics"]["fbg_cell_stretches"] == 2
    # two strain levels along the grating: two local Bragg wavelengths per eigenmode, as far apart as
    # the two states' core strains put them (whether the interrogator resolves them as separate
    # peaks depends on the contrast: here, 1 mm wide and coarse, they merge into one broad peak)
    states = s["states"]
    assert len(states) == 2 and states[0]["fibre_line_load_N_per_m"] != states[1]["fibre_line_load_N_per_m"]
    lo, hi = s["metrics"]["fbg_local_bragg_y_range_nm"]
    n, p11, p12 = FIBRE.effective_index, FIBRE.p11, FIBRE.p12
    lam = [1542.0 * (1 - 0.5 * n * n * (p11 * st["fibre_core_strain_yy"] + p12 * st["fibre_core_strain_xx"]))
           for st in states]
    assert hi - lo == pytest.approx(abs(lam[0] - lam[1]), rel=1e-6, abs=1e-6)
    assert hi - lo > 0.005
    for name in ("spectrum.csv", "peaks.csv", "strain_profile.csv", "states.csv", "spectrum.png"):
        assert (out / name).is_file(), name


# ---- robustness of the contact solve ---------------------------------------------------------------

def test_adaptive_increments_halve_on_failure_and_grow_again():
    """The continuation of CellSectionSolver: a Newton solve that fails for increments above 0.3
    is retried from the last converged state with half the increment; after a success the
    increment grows again; every attempt is logged; below MIN_INCREMENT it gives up."""
    from types import SimpleNamespace

    from ecmsim.core.errors import SolverError
    from ecmsim.fibre.cell import MIN_INCREMENT, CellSectionSolver

    state = {"u": 0.0}
    stub = SimpleNamespace(problem=SimpleNamespace(problem=SimpleNamespace(
        solver=SimpleNamespace(getIterationNumber=lambda: 60))), _step_log=[])
    stub._save = lambda: [state["u"]]
    stub._restore = lambda saved: state.update(u=saved[0])

    def advance(a, b, limit=0.3):
        state["u"] = b                       # a failed solve leaves garbage behind ...
        if b - a > limit:
            state["u"] = float("nan")
            raise SolverError("cycled")
        return SimpleNamespace(info={"newton_iterations": [5]})

    sol = CellSectionSolver._adaptive(stub, advance, 1.0)
    assert state["u"] == 1.0                 # ... which the restore removes: it ends converged at 1
    tried = [(round(a, 4), round(b, 4), ok) for a, b, ok, _ in stub._step_log]
    assert tried[:3] == [(0, 1.0, False), (0, 0.5, False), (0, 0.25, True)]
    assert tried[3] == (0.25, 0.75, False)   # grew again after a success (and halved again)
    assert sum(not ok for *_, ok in tried) >= 2 and sol.info["newton_iterations"]
    stub._step_log.clear()
    with pytest.raises(SolverError):
        CellSectionSolver._adaptive(stub, lambda a, b: advance(a, b, limit=MIN_INCREMENT / 4), 1.0)


@pytest.mark.slow
def test_lisn_cell_converges_where_newton_cycled_and_warm_start_agrees():
    """The Li-Sn cell of the scenario with the membrane depth it shipped with before the fit
    (30 um) at 2.4 MPa: with the former settings (Nitsche gamma0 = 100, full
    Newton steps) the first load step cycles between the membrane on the fibre's crown and on
    the foil beside it (measured: > 5 min without converging); with gamma0 = 10, the l2 line
    search and adaptive increments it converges with the fibre balanced. A warm-started solve
    at 1 MPa (from the 2.4 MPa state) equals a cold one."""
    from dataclasses import replace

    from ecmsim import scenario as scenario_mod
    from ecmsim.core.errors import SolverError
    from ecmsim.fibre.cell import CellSectionSolver

    scn = scenario_mod.load(SCENARIOS / "fbg_cell_lisn_given.toml")
    g, m = scn.geometry, scn.mesh
    mats = scn.materials.resolve()

    def solver(**kw):
        return CellSectionSolver(replace(g.section(), fibre_depth_in_electrolyte_m=30e-6), mats["electrode"], mats["electrolyte"], FIBRE,
                                 (m.size_m, m.interface_size_m, m.refine_distance_m, m.max_cells),
                                 newton_max_iterations=40, **kw)
    old = solver(nitsche_parameter=100.0, line_search="basic")
    old.problem.set_pressure("top", 2.4e6)
    old._set_motion(-4.35e-8)
    with pytest.raises(SolverError, match="did not converge"):
        old.problem.solve(8)
    old.close()
    new = solver()
    hot = new.solve(2.4e6)
    assert abs(hot.metrics["fibre_net_force_N_per_m"]) < 1e-5 * hot.metrics["fibre_line_load_N_per_m"]
    assert hot.metrics["membrane_equilibrium_error"] < 1e-2
    assert 2e3 < hot.metrics["fibre_line_load_N_per_m"] < 5e3          # N/m: a strip ~1 mm wide
    warm = new.solve(1.0e6)
    cold = new.solve(1.0e6, warm=False)
    new.close()
    for k in ("fibre_line_load_N_per_m", "fibre_core_strain_xx", "fibre_core_strain_yy"):
        assert warm.metrics[k] == pytest.approx(cold.metrics[k], rel=1e-4, abs=0), k
    assert warm.metrics["fibre_newton_iterations"] < cold.metrics["fibre_newton_iterations"]


# ---- scenario plumbing ----------------------------------------------------------------------------------

#: a small, fast version of the Li scenario (1 mm half width, coarse far field)
_SMALL = ("--set", "geometry.width_m=1e-3", "--set", "geometry.standoff_length_m=0.5e-3", "--set", "mesh.size_m=50e-6",
          "--set", "mesh.interface_size_m=3e-6")


def test_bad_fbg_cell_input_is_one_line(tmp_path):
    proc = run_cli("run", str(SCENARIOS / "fbg_cell_li_given.toml"), "-o", str(tmp_path / "a"),
                   "--set", "geometry.fibre_depth_in_electrolyte_m=70e-6")
    assert_one_line_error(proc, "fibre_depth_in_electrolyte_m", "fibre radius")
    proc = run_cli("run", str(SCENARIOS / "fbg_cell_li_given.toml"), "-o", str(tmp_path / "b"),
                   "--set", "fbg.grating.length_m=-1")
    assert_one_line_error(proc, "fbg.grating.length_m")
    proc = run_cli("run", str(SCENARIOS / "flat_bilayer.toml"), "-o", str(tmp_path / "c"),
                   "--set", "fbg.grating.length_m=0.01")
    assert_one_line_error(proc, "fbg", "fbg_cell")
    proc = run_cli("run", str(SCENARIOS / "fbg_cell_li_given.toml"), "-o", str(tmp_path / "d"),
                   "--set", "interface.model=bonded", "--set", "interface.load_steps=1")
    assert proc.returncode == 2


@pytest.mark.mpi
def test_fbg_cell_parallel_equals_serial(tmp_path, have_mpirun):
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    args = ("run", str(SCENARIOS / "fbg_cell_lisn_given.toml"), "-q", *_SMALL, "--set", "output.plots=false")
    p1 = run_cli(*args, "-o", str(serial))
    assert p1.returncode == 0, p1.stderr
    p2 = run_cli_mpi(2, *args, "-o", str(parallel))
    assert p2.returncode == 0, p2.stderr + p2.stdout
    a, b = read_summary(serial), read_summary(parallel)
    assert b["provenance"]["mpi_ranks"] == 2
    for key in ("fibre_line_load_N_per_m", "fibre_core_strain_xx", "fibre_core_strain_yy", "fbg_peak_x_nm",
                "fbg_peak_y_nm", "fbg_splitting_pm", "fbg_peak_count"):
        assert b["metrics"][key] == pytest.approx(a["metrics"][key], rel=1e-7, abs=1e-9), key
