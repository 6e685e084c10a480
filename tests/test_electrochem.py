"""Current distribution: Butler–Volmer limits, the flat window, constriction by insulating gaps,
charge conservation, stress coupling, the run stage, serial vs MPI."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import SCENARIOS, read_summary, run_cli, run_cli_mpi
from ecmsim.core.constants import FARADAY_C_PER_MOL, GAS_CONSTANT_J_PER_MOL_K
from ecmsim.electrochem.kinetics import ButlerVolmer, ionic_conductivity_S_m, stress_overpotential_shift_V
from ecmsim.materials import Material, get

pytestmark = pytest.mark.fem

T = 333.15
F_RT = FARADAY_C_PER_MOL / (GAS_CONSTANT_J_PER_MOL_K * T)


# -- kinetics (closed forms) ----------------------------------------------------------------------

@pytest.mark.parametrize("alpha", [0.3, 0.5, 0.7])
def test_butler_volmer_linear_limit(alpha):
    bv = ButlerVolmer(1.5, alpha, T)
    eta = np.array([-1e-6, 1e-6]) / F_RT
    # i = -i0 f eta (1 + O(f eta)): plating (i > 0) for eta < 0
    assert bv.current_density(eta) == pytest.approx(-1.5 * F_RT * eta, rel=2e-6, abs=0)
    assert bv.charge_transfer_resistance_ohm_m2 == pytest.approx(1 / (1.5 * F_RT), rel=1e-14, abs=0)


@pytest.mark.parametrize("alpha", [0.3, 0.5])
def test_butler_volmer_tafel_limits(alpha):
    bv = ButlerVolmer(0.2, alpha, T)
    eta = 30 / F_RT  # f eta = 30: the back reaction is e^-30 of the forward one
    assert bv.current_density(-eta) == pytest.approx(0.2 * math.exp(alpha * 30), rel=1e-12, abs=0)
    assert bv.current_density(eta) == pytest.approx(-0.2 * math.exp((1 - alpha) * 30), rel=1e-12, abs=0)
    # Tafel slope of plating: d eta / d ln i = -1/(alpha f)
    i1, i2 = 1e4, 1e5  # i/i0 >= 5e4: the back reaction is below 1e-9
    slope = (bv.overpotential(i2) - bv.overpotential(i1)) / math.log(i2 / i1)
    assert slope == pytest.approx(-1 / (alpha * F_RT), rel=1e-6, abs=0)


@pytest.mark.parametrize("alpha", [0.25, 0.5])
def test_overpotential_inverts_current(alpha):
    bv = ButlerVolmer(1.13, alpha, T)
    for i in (-50.0, -2.0, 0.0, 1e-3, 2.0, 500.0):
        assert float(bv.current_density(bv.overpotential(i))) == pytest.approx(i, rel=1e-10, abs=1e-13)


def test_conductivity_arrhenius():
    pll = get("PLL")
    assert ionic_conductivity_S_m(pll, 333.15) == pll.get("ionic_conductivity_S_m")
    ea = pll.get("ionic_conductivity_activation_energy_J_per_mol")
    expected = pll.get("ionic_conductivity_S_m") * math.exp(-ea / GAS_CONSTANT_J_PER_MOL_K * (1 / 298.15 - 1 / 333.15))
    assert ionic_conductivity_S_m(pll, 298.15) == pytest.approx(expected, rel=1e-14, abs=0)
    assert ionic_conductivity_S_m(pll, 298.15) < ionic_conductivity_S_m(pll, 333.15)
    plain = Material("x", 1e9, 0.3, {"ionic_conductivity_S_m": 0.5})
    assert ionic_conductivity_S_m(plain, 250.0) == 0.5


def test_stress_shift_magnitude():
    # 0.135 mV per MPa for Li (Omega = 13.0 cm3/mol)
    assert stress_overpotential_shift_V(1e6, 13.0e-6) == pytest.approx(13.0e-6 * 1e6 / FARADAY_C_PER_MOL)
    assert stress_overpotential_shift_V(1e6, 13.0e-6) == pytest.approx(0.1347e-3, rel=1e-3, abs=0)


def test_library_kinetics_from_interfacial_resistance():
    """i0 of Li and Li-Sn reproduce the paper's R_surf (450 / 200 ohm, two interfaces of 1.131 cm2)."""
    area = math.pi * 0.006 ** 2
    for key, r_surf in (("Li", 450.0), ("LiSn", 200.0)):
        bv = ButlerVolmer(get(key).get("exchange_current_density_A_m2"), 0.5, T)
        assert 2 * bv.charge_transfer_resistance_ohm_m2 / area == pytest.approx(r_surf, rel=0.01, abs=0), key


# -- finite elements ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def flat_mesh():
    from ecmsim.core.fem import MPI
    from ecmsim.geometry import generators
    from ecmsim.mesh import MeshOptions, mesh_geometry

    return mesh_geometry(generators.flat(40e-6, 10e-6, 20e-6), MeshOptions(size_m=4e-6, interface_size_m=2e-6),
                         MPI.COMM_WORLD)


@pytest.fixture(scope="module")
def flat_problem(flat_mesh):
    from ecmsim.electrochem.potential import PotentialProblem

    problem = PotentialProblem(flat_mesh, ButlerVolmer(1.13, 0.5, T), 0.01, stress_coupling=True)
    yield problem
    problem.close()


@pytest.mark.parametrize("i_app", [0.02, 2.0, -2.0, 200.0])
def test_flat_interface_uniform_current(flat_problem, i_app):
    """Linear, intermediate, stripping and Tafel currents: i(x) = i_app, V = -eta(i_app) + i_app h / kappa."""
    flat_problem.set_interface_state(active=lambda x: np.ones(len(x)), pressure_Pa=lambda x: np.zeros(len(x)))
    flat_problem.set_current_density(i_app)
    sol = flat_problem.solve()
    m = sol.metrics
    assert m["current_density_mean_A_m2"] == pytest.approx(i_app, rel=1e-9, abs=0)
    assert m["current_density_cv"] < 1e-8
    assert np.allclose(sol.profile.current_density_A_m2, i_app, rtol=1e-8, atol=0)
    expected = -flat_problem.kinetics.overpotential(i_app) + i_app * 20e-6 / 0.01
    assert m["window_voltage_V"] == pytest.approx(expected, rel=1e-9, abs=0)
    assert m["electrolyte_mean_thickness_m"] == pytest.approx(20e-6, rel=1e-12, abs=0)


def test_stress_coupling_shifts_voltage_by_omega_p_over_F(flat_problem):
    """Uniform compression p: galvanostatic, so the window voltage rises by exactly Omega p / F."""
    flat_problem.set_current_density(2.0)
    flat_problem.set_interface_state(active=lambda x: np.ones(len(x)), pressure_Pa=lambda x: np.zeros(len(x)))
    v0 = flat_problem.solve().metrics["window_voltage_V"]
    flat_problem.set_interface_state(pressure_Pa=lambda x: np.full(len(x), 20e6))
    v1 = flat_problem.solve().metrics["window_voltage_V"]
    flat_problem.set_interface_state(pressure_Pa=lambda x: np.zeros(len(x)))
    assert v1 - v0 == pytest.approx(13.0e-6 * 20e6 / FARADAY_C_PER_MOL, rel=1e-8, abs=0)


def test_separated_contact_carries_no_current(flat_problem):
    flat_problem.set_current_density(2.0)
    flat_problem.set_interface_state(active=lambda x: (x[:, 0] < 20e-6).astype(float))
    sol = flat_problem.solve()
    p = sol.profile
    assert np.all(p.current_density_A_m2[p.active == 0] == 0)
    assert sol.metrics["interface_active_fraction"] == pytest.approx(0.5, abs=0.06)
    # charge balance over the half that carries it
    assert sol.metrics["interface_current_A_m"] == pytest.approx(sol.metrics["applied_current_A_m"], rel=1e-9, abs=0)
    assert sol.metrics["current_density_mean_A_m2"] == pytest.approx(2.0 / sol.metrics["interface_active_fraction"],
                                                                     rel=1e-9, abs=0)
    flat_problem.set_interface_state(active=lambda x: np.ones(len(x)))


def test_no_contact_left_is_an_error(flat_problem):
    from ecmsim.core.errors import SolverError

    flat_problem.set_interface_state(active=lambda x: np.zeros(len(x)))
    with pytest.raises(SolverError, match="no electrode/electrolyte contact"):
        flat_problem.solve()
    flat_problem.set_interface_state(active=lambda x: np.ones(len(x)))


def _constriction(fraction: float, size_m: float) -> tuple[float, float]:
    """(simulated, analytic) extra resistance [ohm m2] of periodic insulating gaps, primary distribution."""
    from ecmsim.electrochem.potential import PotentialProblem
    from ecmsim.core.fem import MPI
    from ecmsim.geometry import generators
    from ecmsim.mesh import MeshOptions, mesh_geometry

    period, width, h, kappa, i_app = 10e-6, 40e-6, 20e-6, 0.01, 2.0
    tm = mesh_geometry(generators.flat(width, 10e-6, h),
                       MeshOptions(size_m=2e-6, interface_size_m=size_m, refine_distance_m=4e-6), MPI.COMM_WORLD)
    # i0 so large that the kinetics are 1e-4 of the constriction: an equipotential electrode
    problem = PotentialProblem(tm, ButlerVolmer(1e6, 0.5, T), kappa, degree=2)
    problem.set_current_density(i_app)
    # strips centred on x = k * period, so the window's insulating sides are symmetry lines
    problem.set_interface_state(
        active=lambda x: (np.abs(np.mod(x[:, 0] + period / 2, period) - period / 2) < fraction * period / 2) * 1.0)
    m = problem.solve().metrics
    problem.close()
    f = m["interface_active_fraction"]  # the facets' own fraction (edges snap to facets)
    simulated = (m["window_voltage_V"] - i_app * h / kappa) / i_app
    analytic = period / (math.pi * kappa) * math.log(1 / math.sin(math.pi * f / 2))
    return simulated, analytic


@pytest.mark.parametrize("fraction", [0.5, 0.25])
def test_constriction_of_periodic_insulating_gaps(fraction):
    """Equipotential strips of active fraction f, period L: extra resistance (L/(pi kappa)) ln(1/sin(pi f/2))
    (conformal map of the semi-infinite strip; the 2D flux-channel result of thermal constriction).
    The strip edges are singular (phi ~ r^1/2): first-order convergence, Richardson to 1 %."""
    (s1, a1), (s2, a2) = _constriction(fraction, 0.5e-6), _constriction(fraction, 0.25e-6)
    e1, e2 = s1 / a1 - 1, s2 / a2 - 1
    assert abs(e2) < abs(e1) and abs(e2) < 0.05, (e1, e2)
    assert abs(2 * e2 - e1) < 0.01, (e1, e2)


@pytest.fixture(scope="module")
def cycled_mesh():
    from ecmsim import scenario
    from ecmsim.core.fem import MPI
    from ecmsim.mesh import MeshOptions, mesh_geometry

    path = SCENARIOS / "li_pll_cycled_image.toml"
    scn = scenario.load(path)
    m = scn.mesh
    return mesh_geometry(scn.geometry.build(path.parent), MeshOptions(m.size_m, m.interface_size_m,
                                                                      m.refine_distance_m, m.max_cells, m.tip_size_m),
                         MPI.COMM_WORLD)


@pytest.mark.parametrize("degree", [1, 2])
def test_charge_conservation_on_voided_image_window(cycled_mesh, degree):
    """The integral of the local current over the interface equals the applied current (v = 1 in the weak form)."""
    from ecmsim.electrochem.potential import PotentialProblem

    problem = PotentialProblem(cycled_mesh, ButlerVolmer(1.13, 0.5, T), 0.01, degree=degree)
    for i_app in (2.0, -2.0, 50.0):
        problem.set_current_density(i_app)
        m = problem.solve().metrics
        assert m["interface_current_A_m"] == pytest.approx(m["applied_current_A_m"], rel=1e-9, abs=0), i_app
    problem.close()


def test_primary_distribution_concentrates_current_at_void_rims(cycled_mesh):
    """Fast kinetics on the voided Li window: current crowds at contacts next to voids (CV grows), as
    the Wagner number kappa R_ct / L falls."""
    from ecmsim.electrochem.potential import PotentialProblem

    cvs = []
    for i0 in (1.13, 1e3):
        problem = PotentialProblem(cycled_mesh, ButlerVolmer(i0, 0.5, T), 0.01)
        problem.set_current_density(2.0)
        cvs.append(problem.solve().metrics["current_density_cv"])
        problem.close()
    assert cvs[0] < 0.05 < cvs[1], cvs


# -- the run stage --------------------------------------------------------------------------------

def test_run_writes_current_metrics_and_profile(tmp_path):
    out = tmp_path / "run"
    proc = run_cli("run", str(SCENARIOS / "flat_bilayer.toml"), "-o", str(out), "-q",
                   "--set", "electrochem.applied_current_density_A_m2=2.0", "--set", "output.fields=false",
                   "--set", "output.plots=false")
    assert proc.returncode == 0, proc.stderr
    m = read_summary(out)["metrics"]
    bv = ButlerVolmer(get("Li").get("exchange_current_density_A_m2"), 0.5, T)
    eta = -bv.overpotential(2.0)
    assert m["current_density_mean_A_m2"] == pytest.approx(2.0, rel=1e-9, abs=0)
    assert m["current_density_max_A_m2"] == pytest.approx(2.0, rel=1e-9, abs=0)
    # symmetric cell: two interfaces plus the 100 um membrane at 0.01 S/m
    assert m["cell_overpotential_V"] == pytest.approx(2 * eta + 2.0 * 100e-6 / 0.01, rel=1e-8, abs=0)
    table = np.loadtxt(out / "current_profile.csv", delimiter=",", skiprows=1)
    assert table.shape[1] == 6 and np.allclose(table[:, 2], 2.0, rtol=1e-8, atol=0)


def test_run_needs_kinetics_keys(tmp_path):
    from conftest import assert_one_line_error

    proc = run_cli("run", str(SCENARIOS / "flat_bilayer.toml"), "-o", str(tmp_path / "x"),
                   "--set", "electrochem.applied_current_density_A_m2=2.0", "--set", "materials.electrode=LLZO")
    assert_one_line_error(proc, "exchange_current_density_A_m2", "LLZO")


@pytest.mark.mpi
def test_current_distribution_parallel_equals_serial(tmp_path, have_mpirun):
    args = ("run", str(SCENARIOS / "li_pll_cycled_image.toml"), "-q", "--set", "interface.model=contact",
            "--set", "electrochem.stress_coupling=true", "--set", "output.fields=false", "--set", "output.plots=false")
    p1 = run_cli(*args, "-o", str(tmp_path / "s"))
    assert p1.returncode == 0, p1.stderr
    p2 = run_cli_mpi(2, *args, "-o", str(tmp_path / "p"))
    assert p2.returncode == 0, p2.stderr + p2.stdout
    a, b = read_summary(tmp_path / "s")["metrics"], read_summary(tmp_path / "p")["metrics"]
    for key in ("current_density_mean_A_m2", "current_density_max_A_m2", "current_density_cv", "window_voltage_V",
                "cell_overpotential_V", "interface_current_A_m"):
        assert b[key] == pytest.approx(a[key], rel=1e-7, abs=0), key


# -- what the alpha = 1/2 tests above cannot see (issue 23's mutation check) ---------------------

@pytest.fixture(scope="module")
def skewed_problem(flat_mesh):
    """alpha = 0.3: the cathodic and anodic exponents differ, so swapping them shows."""
    from ecmsim.electrochem.potential import PotentialProblem

    problem = PotentialProblem(flat_mesh, ButlerVolmer(1.13, 0.3, T), 0.01)
    yield problem
    problem.close()


@pytest.mark.parametrize("i_app", [20.0, -20.0])
def test_uniform_current_with_unequal_transfer_coefficients(skewed_problem, i_app):
    """Plating and stripping at alpha = 0.3: V = -eta(i) + i h / kappa with the kinetics' own eta,
    which differs between the two directions (|eta(20)| != |eta(-20)|)."""
    skewed_problem.set_current_density(i_app)
    m = skewed_problem.solve().metrics
    eta = skewed_problem.kinetics.overpotential(i_app)
    assert abs(eta + skewed_problem.kinetics.overpotential(-i_app)) > 1e-3      # asymmetric indeed
    assert m["window_voltage_V"] == pytest.approx(-eta + i_app * 20e-6 / 0.01, rel=1e-9, abs=0)


def test_max_current_counts_only_the_contacting_interface(flat_problem):
    """Half the interface separated: the largest local current is that of the contacting half (the
    facet-midpoint profile's maximum, within the quadrature points' spread), not the Butler-Volmer
    value the potential would give across the gap."""
    flat_problem.set_current_density(2.0)
    flat_problem.set_interface_state(active=lambda x: (x[:, 0] < 20e-6).astype(float),
                                     pressure_Pa=lambda x: np.zeros(len(x)))
    try:
        sol = flat_problem.solve()
        top = sol.profile.current_density_A_m2.max()
        assert sol.metrics["current_density_max_A_m2"] == pytest.approx(top, rel=0.02, abs=0)
    finally:
        flat_problem.set_interface_state(active=lambda x: np.ones(len(x)))


def test_window_voltage_is_the_mean_potential_of_the_counter_electrode():
    """On a wavy interface (longer than the window is wide) the window voltage is the potential
    averaged over the counter electrode's length, sampled here independently along y = 0."""
    from ecmsim.core.fem import MPI, dolfinx
    from ecmsim.electrochem.potential import PotentialProblem
    from ecmsim.geometry import generators
    from ecmsim.mesh import MeshOptions, mesh_geometry

    msh = mesh_geometry(generators.sinusoidal(40e-6, 10e-6, 20e-6, 4e-6, 20e-6),
                        MeshOptions(size_m=4e-6, interface_size_m=1e-6), MPI.COMM_WORLD)
    problem = PotentialProblem(msh, ButlerVolmer(1.13, 0.5, T), 0.01)
    try:
        problem.set_current_density(2.0)
        sol = problem.solve()
        assert problem._sum("interface_length") > 1.2 * problem._sum("counter_length")
        part = sol.part.mesh
        x = np.linspace(0, 40e-6, 2001)
        pts = np.column_stack([x, np.full_like(x, 1e-12), np.zeros_like(x)])
        tree = dolfinx.geometry.bb_tree(part, part.topology.dim)
        cells = dolfinx.geometry.compute_colliding_cells(part, dolfinx.geometry.compute_collisions_points(tree, pts),
                                                         pts)
        phi = np.array([sol.phi.eval(p, cells.links(k)[:1])[0] for k, p in enumerate(pts)])
        mean = np.trapezoid(phi, x) / 40e-6
        assert sol.metrics["window_voltage_V"] == pytest.approx(mean, rel=1e-5, abs=0)
    finally:
        problem.close()
