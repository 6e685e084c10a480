"""Contact (Nitsche) against closed forms and against the bonded solver.

- Flat bilayer under pressure: contact and bonded give the same field (uniaxial strain is
  exact in the discrete space; Nitsche is consistent) to round-off.
- A body pulled away (prescribed displacement) separates: zero pressure, gap = the pull.
- Hertz, plane strain, two elastic half-planes (initial gap of a circle) and a rigid cylinder on
  a half-plane: half-width and peak pressure at the computed force, and their convergence.
- Rough interface with voids: Newton iterations per load step, and the answer over a decade
  of the Nitsche parameter.
- Friction: a large coefficient sticks (= bonded), a small one slips partly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from contact_cases import (HERTZ_DEPTH, HERTZ_R, HERTZ_WIDTH, LI_PLL, ROUGH_MESH, circle_gap, contact_modulus,
                           hertz_geometry, hertz_measure, rough_void_geometry)
from ecmsim import materials
from ecmsim.core.errors import MeshError, SolverError
from ecmsim.core.fem import MPI, fem, ufl
from ecmsim.geometry import generators
from ecmsim.mechanics.contact import (ContactPair, ContactProblem, ContactProfile, RigidCircle, find_bodies,
                                      stack_pressure_contact_problem)
from ecmsim.mechanics.elasticity import Support, stack_pressure_problem
from ecmsim.mechanics.stresses import field_metrics, interface_profile
from ecmsim.mesh import MeshOptions, TaggedMesh, mesh_geometry

pytestmark = pytest.mark.fem

P = 2.4e6
WIDTH = 40e-6


def _norm(comm, form) -> float:
    return math.sqrt(comm.allreduce(fem.assemble_scalar(fem.form(form)), op=MPI.SUM))


def _max_abs(comm, values) -> float:
    return comm.allreduce(float(np.abs(values).max()) if len(values) else 0.0, op=MPI.MAX)


@pytest.fixture(scope="module")
def flat_mesh():
    return mesh_geometry(generators.flat(WIDTH, 15e-6, 20e-6), MeshOptions(size_m=3e-6, interface_size_m=1.5e-6),
                         MPI.COMM_WORLD)


@pytest.fixture(scope="module")
def sinusoidal_mesh():
    geo = generators.sinusoidal(WIDTH, 20e-6, 20e-6, 2e-6, 20e-6)
    return mesh_geometry(geo, MeshOptions(size_m=1e-6, interface_size_m=0.5e-6), MPI.COMM_WORLD)


@pytest.fixture(scope="module")
def rough_mesh():
    return mesh_geometry(rough_void_geometry(), MeshOptions(**ROUGH_MESH), MPI.COMM_WORLD)


# --- flat interface: contact = bonded ---------------------------------------------------------------

def test_flat_interface_contact_equals_bonded(flat_mesh):
    """Tolerance: 1e-9 relative on displacement and stress (round-off of LU + Newton's rtol)."""
    comm = flat_mesh.comm
    contact = stack_pressure_contact_problem(flat_mesh, LI_PLL, P).solve(load_steps=3)
    bonded = stack_pressure_problem(flat_mesh, LI_PLL, P).solve()
    u_bonded = fem.Function(contact.u.function_space)
    u_bonded.interpolate(bonded.u)
    assert _max_abs(comm, contact.u.x.array - u_bonded.x.array) < 1e-9 * _max_abs(comm, u_bonded.x.array)
    assert _max_abs(comm, contact.stress.x.array - bonded.stress.x.array) < 1e-9 * P
    c = contact.contact["interface"]
    assert np.allclose(c.contact_pressure_Pa, P, rtol=1e-9, atol=0)
    assert np.all(np.abs(c.gap_m) < 1e-9 * 1e-7)          # displacements are ~1e-7 m
    metrics = c.metrics()
    assert metrics["contact_fraction"] == pytest.approx(1.0, abs=1e-12)
    assert metrics["contact_force_N_per_m"] == pytest.approx(P * WIDTH, rel=1e-9, abs=0)
    # the same interface metrics as the bonded run, through the unchanged post-processing
    a, b = interface_profile(contact).metrics(WIDTH), interface_profile(bonded).metrics(WIDTH)
    assert a["interface_normal_stress_mean_Pa"] == pytest.approx(b["interface_normal_stress_mean_Pa"], rel=1e-9, abs=0)
    assert field_metrics(contact)["von_mises_max_Pa"] == pytest.approx(field_metrics(bonded)["von_mises_max_Pa"],
                                                                       rel=1e-9, abs=0)
    # linear in the load with a fixed contact set: one Newton iteration, then the predictor is exact
    assert contact.info["newton_iterations"] == [1, 0, 0]


# --- separation -------------------------------------------------------------------------------------

def test_body_pulled_away_separates(flat_mesh):
    """Electrode top lifted by 50 nm, electrolyte bottom fixed: the electrode moves up rigidly."""
    lift = 50e-9

    def up(x):
        return np.vstack([np.zeros_like(x[0]), np.full_like(x[0], lift)])

    problem = ContactProblem(flat_mesh, LI_PLL, supports=[Support("bottom"), Support("top", (0, 1), up),
                                                          Support("left", (0,)), Support("right", (0,))])
    sol = problem.solve(load_steps=2)
    c = sol.contact["interface"]
    assert np.all(c.contact_pressure_Pa == 0.0)
    assert np.allclose(c.gap_m, lift, rtol=1e-9, atol=0)
    assert c.metrics()["contact_fraction"] == 0.0
    assert c.metrics()["separated_fraction"] == 1.0                   # 50 nm: beyond SEPARATION_GAP_M
    assert _max_abs(flat_mesh.comm, sol.stress.x.array) < 1e-6 * P    # both bodies unstressed


def test_separated_fraction_counts_gaps_wider_than_a_nanometre_not_the_pressure_sign():
    """contact_fraction counts samples with pressure; separated_fraction those with a gap > 1 nm. An open sample
    with a sub-nanometre gap (no pressure) is neither, as on the cycling windows (docs/contact.md)."""
    from ecmsim.mechanics.contact.profile import SEPARATION_GAP_M

    prof = ContactProfile("interface", x_m=np.arange(4.0), y_m=np.zeros(4),
                          gap_m=np.array([-1e-10, 4e-10, 2 * SEPARATION_GAP_M, 50e-9]),
                          contact_pressure_Pa=np.array([2e6, 0.0, 0.0, 0.0]),
                          weight_m=np.array([0.5, 0.25, 0.125, 0.125]))
    m = prof.metrics()
    assert m["contact_fraction"] == 0.5
    assert m["separated_fraction"] == 0.25


def test_body_pulled_by_a_load_is_an_error_not_a_field(flat_mesh):
    """A tensile 'stack pressure' pulls the electrode off: nothing holds it, the solve must say so."""
    with pytest.raises(SolverError, match=r"load step 1 of 2 .*residual norm"):
        stack_pressure_contact_problem(flat_mesh, LI_PLL, -1e6).solve(load_steps=2)


# --- Hertz ------------------------------------------------------------------------------------------

def _hertz(rigid: bool, size: float, steps: int = 4):
    """Displacement control: the top of the upper body (or the rigid cylinder) moves down."""
    tm = mesh_geometry(hertz_geometry(rigid), MeshOptions(size_m=min(HERTZ_DEPTH / 4, 40 * size),
                                                          interface_size_m=size, refine_distance_m=20 * size),
                       MPI.COMM_WORLD)
    if rigid:
        mats = {"electrolyte": materials.get("PLL")}
        problem = ContactProblem(tm, mats, supports=[Support("bottom")], pairs=[],
                                 obstacles=[RigidCircle("void", (HERTZ_WIDTH / 2, HERTZ_DEPTH + HERTZ_R), HERTZ_R,
                                                        motion_m=(0.0, -60e-9))])
        facet = "void"
    else:
        mats = LI_PLL

        def down(x):
            return np.vstack([np.zeros_like(x[0]), np.full_like(x[0], -80e-9)])

        problem = ContactProblem(tm, mats, supports=[Support("bottom"), Support("top", (0, 1), down)],
                                 pairs=[ContactPair("interface", initial_gap=circle_gap)])
        facet = "interface"
    sol = problem.solve(load_steps=steps)
    return tm, sol, hertz_measure(sol.contact[facet], contact_modulus(mats))


@pytest.fixture(scope="module")
def hertz_runs():
    """The Hertz measures and Newton iterations of :func:`_hertz` by (rigid, h), each solved once in
    this module: the 50 nm solve of the half-width check is the middle level of the convergence check
    (the module's tests share a worker: tests/conftest.py)."""
    runs: dict = {}

    def get(rigid: bool, size: float):
        if (rigid, size) not in runs:
            _, sol, m = _hertz(rigid, size)
            runs[rigid, size] = m, list(sol.info["newton_iterations"])
        return runs[rigid, size]

    return get


@pytest.mark.parametrize("rigid", [False, True], ids=["elastic-elastic", "rigid-cylinder"])
def test_hertz_half_width_and_peak_pressure(rigid, hertz_runs):
    """At h = 50 nm (a/h ~ 30 for a ~ 1.4-1.6 µm): a and p0 within 3 % of Hertz at the computed force."""
    m, newton = hertz_runs(rigid, 50e-9)
    print(f"Hertz ({'rigid' if rigid else 'elastic'}): P = {m['P_N_per_m']:.4g} N/m, a = {m['a_m'] * 1e6:.4f} µm, "
          f"a_FE = {m['a_fe_m'] * 1e6:.4f} µm ({m['a_error']:+.2%}), p0 = {m['p0_Pa']:.4g} Pa, "
          f"p0_FE = {m['p0_fe_Pa']:.4g} Pa ({m['p0_error']:+.2%}); Newton {newton}")
    assert m["a_m"] > 20 * 50e-9                 # the contact is resolved by the mesh
    assert abs(m["a_error"]) < 0.03
    assert abs(m["p0_error"]) < 0.03
    assert max(newton) <= 20


@pytest.mark.slow
@pytest.mark.parametrize("rigid", [False, True], ids=["elastic-elastic", "rigid-cylinder"])
def test_hertz_convergence_under_refinement(rigid, hertz_runs):
    rows = []
    for size in (100e-9, 50e-9, 25e-9):
        m, _ = hertz_runs(rigid, size)
        rows.append((size, m))
    print(f"\nHertz {'rigid cylinder' if rigid else 'elastic cylinder'} on a half-plane (plane strain, R = 50 µm)")
    print("  h [nm]   a [µm]   a_FE [µm]  err_a    p0 [MPa]  p0_FE [MPa]  err_p0")
    for size, m in rows:
        print(f"  {size * 1e9:5.0f}   {m['a_m'] * 1e6:.4f}   {m['a_fe_m'] * 1e6:.4f}    {m['a_error']:+.2%}   "
              f"{m['p0_Pa'] * 1e-6:.4f}    {m['p0_fe_Pa'] * 1e-6:.4f}      {m['p0_error']:+.2%}")
    err_a = [abs(m["a_error"]) for _, m in rows]
    err_p = [abs(m["p0_error"]) for _, m in rows]
    # About 0.3 % of the finest a error is the finite window (20 µm deep bodies; doubling the window
    # gives -0.73 % instead of -1.02 % for elastic-elastic): the bound is 1.5 % for a, 1 % for p0.
    assert err_a[-1] < 0.015 and err_p[-1] < 0.01
    assert err_a[-1] < err_a[0] / 1.9 and err_p[-1] < err_p[0] / 1.9
    assert err_a[1] < err_a[0] and err_p[1] < err_p[0]


# --- rough interface with voids -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rough_problem(rough_mesh):
    return stack_pressure_contact_problem(rough_mesh, LI_PLL, P)


def _solve_copy(problem, gamma0: float, steps: int = 4):
    """Solve from scratch at gamma0 (same compiled forms) and keep copies of what is compared."""
    problem.reset()
    problem.gamma0.value = gamma0
    sol = problem.solve(load_steps=steps)
    u, s = sol.u.copy(), sol.stress.copy()
    return sol, u, s, sol.contact["interface"].metrics(), interface_profile(sol).metrics(WIDTH)


def test_rough_interface_with_voids_newton_iterations(rough_problem):
    sol, *_, contact, profile = _solve_copy(rough_problem, 100.0)
    print("rough + voids: Newton iterations per load step", sol.info["newton_iterations"], contact)
    assert sol.info["newton_iterations"][0] <= 3
    assert all(its <= 2 for its in sol.info["newton_iterations"][1:])
    # the voids carry no load: the interface carries the whole stack load (vertical force balance)
    assert contact["contact_force_N_per_m"] > P * WIDTH
    assert contact["contact_fraction"] > 0.95
    # a frictionless contact carries no tension, and the max normal stress says so when the written
    # profile (interface_profile.csv: shared points merged) shows none. Issue 23: the raw per-facet
    # samples reach +3.8 MPa here next to the void tips, and the metric used to report them.
    written = interface_profile(sol).merged().normal_stress_Pa
    assert written.max() < 0
    assert profile["interface_normal_stress_max_Pa"] <= written.max()
    assert profile["interface_normal_stress_max_Pa"] < 0


def test_rough_interface_answer_over_a_decade_of_the_nitsche_parameter(rough_problem, rough_mesh):
    """gamma0 = 100 vs 1000. Tolerances: L2 of displacement and stress 1 %, contact force 1e-3,
    mean interface stress 1 %, contact fraction 0.01. Point maxima at void tips are singular
    (they grow under refinement with any gamma0) and are not compared."""
    comm = rough_mesh.comm
    _, u1, s1, c1, p1 = _solve_copy(rough_problem, 100.0)
    _, u2, s2, c2, p2 = _solve_copy(rough_problem, 1000.0)
    du = _norm(comm, ufl.inner(u1 - u2, u1 - u2) * ufl.dx) / _norm(comm, ufl.inner(u1, u1) * ufl.dx)
    ds = _norm(comm, ufl.inner(s1 - s2, s1 - s2) * ufl.dx) / _norm(comm, ufl.inner(s1, s1) * ufl.dx)
    print(f"gamma0 100 -> 1000: L2 displacement {du:.2e}, L2 stress {ds:.2e}, contact force "
          f"{c1['contact_force_N_per_m']:.6g} -> {c2['contact_force_N_per_m']:.6g} N/m, mean sigma_n "
          f"{p1['interface_normal_stress_mean_Pa']:.6g} -> {p2['interface_normal_stress_mean_Pa']:.6g} Pa, "
          f"contact fraction {c1['contact_fraction']:.4f} -> {c2['contact_fraction']:.4f}")
    assert du < 0.01 and ds < 0.01
    assert c2["contact_force_N_per_m"] == pytest.approx(c1["contact_force_N_per_m"], rel=1e-3, abs=0)
    assert p2["interface_normal_stress_mean_Pa"] == pytest.approx(p1["interface_normal_stress_mean_Pa"], rel=0.01, abs=0)
    assert c2["contact_fraction"] == pytest.approx(c1["contact_fraction"], abs=0.01)


def test_rough_interface_contact_differs_from_bonded(rough_problem, rough_mesh):
    """Not a check of correctness but of the switch: the sliding interface changes the answer."""
    sol, *_ = _solve_copy(rough_problem, 100.0)
    bonded = stack_pressure_problem(rough_mesh, LI_PLL, P).solve()
    a, b = interface_profile(sol).metrics(WIDTH), interface_profile(bonded).metrics(WIDTH)
    assert a["interface_shear_stress_max_abs_Pa"] < b["interface_shear_stress_max_abs_Pa"]
    assert abs(a["interface_normal_stress_mean_Pa"] / b["interface_normal_stress_mean_Pa"] - 1) > 0.02


# --- friction -----------------------------------------------------------------------------------------

def test_friction_large_coefficient_sticks_small_one_slips(sinusoidal_mesh):
    comm = sinusoidal_mesh.comm
    bonded = stack_pressure_problem(sinusoidal_mesh, LI_PLL, P).solve()
    u_bonded = None
    distance = {}
    for coefficient in (0.0, 0.1, 10.0):
        sol = stack_pressure_contact_problem(sinusoidal_mesh, LI_PLL, P,
                                             friction_coefficient=coefficient).solve(load_steps=4)
        if u_bonded is None:
            u_bonded = fem.Function(sol.u.function_space)
            u_bonded.interpolate(bonded.u)
        distance[coefficient] = _max_abs(comm, sol.u.x.array - u_bonded.x.array) / _max_abs(comm, u_bonded.x.array)
    print("max |u - u_bonded| / max |u_bonded| by friction coefficient:", distance)
    assert distance[10.0] < 1e-3                   # sticks everywhere: bonded, to the Nitsche discretisation
    assert distance[0.0] > 0.05                    # frictionless slides
    assert distance[10.0] < distance[0.1] < distance[0.0]


# --- bodies -------------------------------------------------------------------------------------------

def test_bodies_from_contact_facets(flat_mesh):
    assert find_bodies(flat_mesh, ["interface"]) == [["electrode"], ["electrolyte"]]
    assert find_bodies(flat_mesh, []) == [["electrode", "electrolyte"]]


def test_untagged_split_between_bodies_is_refused(flat_mesh):
    """A facet group between two regions that is neither known nor a contact would become two free
    surfaces: the problem refuses to be built."""
    renamed = dict(flat_mesh.facet_ids)
    renamed["mystery"] = renamed.pop("interface")
    tm = TaggedMesh(flat_mesh.mesh, flat_mesh.cell_tags, flat_mesh.facet_tags, flat_mesh.cell_ids, renamed)
    with pytest.raises(MeshError, match="between two bodies"):
        ContactProblem(tm, LI_PLL, supports=[Support("bottom")], pairs=[])


def test_symmetric_variant_agrees_with_skew(sinusoidal_mesh):
    """theta = 1 needs gamma0 above a trace constant; the weights w = k_other/(k+ + k-) keep that
    constant independent of the stiffness contrast (Li/PLL: 13x), so gamma0 = 30 is enough.
    Tolerance: 1 % in L2 of the stress (both are consistent discretisations of one problem)."""
    comm = sinusoidal_mesh.comm
    skew = stack_pressure_contact_problem(sinusoidal_mesh, LI_PLL, P).solve(load_steps=2)
    s_skew = skew.stress.copy()
    sym = stack_pressure_contact_problem(sinusoidal_mesh, LI_PLL, P, variant="symmetric",
                                         nitsche_parameter=30.0).solve(load_steps=2)
    diff = _norm(comm, ufl.inner(sym.stress - s_skew, sym.stress - s_skew) * ufl.dx)
    print("symmetric (30) vs skew (100): L2 stress difference", diff / _norm(comm, ufl.inner(s_skew, s_skew) * ufl.dx))
    assert diff < 0.01 * _norm(comm, ufl.inner(s_skew, s_skew) * ufl.dx)
    assert sym.contact["interface"].metrics()["contact_fraction"] == pytest.approx(1.0)
