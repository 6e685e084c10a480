"""Creeping bodies in contact (docs/creep.md, "Creep with contact").

- Zero prefactor: the creep + contact problem is the static contact solution, to solver tolerance.
- A creeping Li layer pressed on a rough PLL surface (roughness as an initial gap
  g0 = a ((1 - cos(2 pi x / lambda)) / 2 - 0.1)) under constant stack pressure: the elastic contact is
  partial; as the Li creeps into the valleys the contact fraction grows and approaches 1
  (a Li layer that has relaxed its deviatoric stress presses like a fluid at the stack pressure).
  With an elastic Li the contact fraction stays put over the same hold.
"""

from __future__ import annotations

import numpy as np
import pytest

from ecmsim import materials
from ecmsim.core.fem import MPI
from ecmsim.geometry import generators
from ecmsim.materials.creep import NortonLaw
from ecmsim.mechanics.contact import ContactPair, ContactProblem
from ecmsim.mechanics.creep_contact import CreepContactMechanics
from ecmsim.mechanics.elasticity import Support, Traction
from ecmsim.mesh import MeshOptions, mesh_geometry

pytestmark = pytest.mark.fem

P = 2.4e6
W, H1, H2 = 40e-6, 20e-6, 20e-6
AMPLITUDE, WAVELENGTH = 0.1e-6, 20e-6
MATS = {"electrode": materials.from_mapping({"youngs_modulus_Pa": 4.9e9, "poissons_ratio": 0.38}),
        "electrolyte": materials.get("PLL")}
# relaxes 2.4 MPa of Li deviatoric stress in about a second (mild exponent, as in test_creep.py)
LAW = NortonLaw(prefactor_per_s=2e-3, stress_exponent=4.0, activation_energy_J_per_mol=0.0, reference_stress_Pa=1e6)
TIMES = [0.0, 0.1, 0.3, 1.0, 3.0, 10.0]


def gap(x):
    # the asperity tops overlap by 0.1 a before loading: the Li layer is held by the contact from the
    # first Newton iteration (a layer floating over its gap would make the first tangent singular)
    return AMPLITUDE * (0.5 * (1 - np.cos(2 * np.pi * x[0] / WAVELENGTH)) - 0.1)


@pytest.fixture(scope="module")
def window():
    return mesh_geometry(generators.flat(W, H1, H2), MeshOptions(size_m=4e-6, interface_size_m=1e-6), MPI.COMM_WORLD)


def _hold(tmesh, law):
    pb = CreepContactMechanics(tmesh, MATS, {"electrode": law}, P, 2, 333.15, load_steps=2, initial_gap=gap)
    fractions, its = [], []
    for t0, t1 in zip([0.0] + TIMES[:-1], TIMES, strict=True):
        its.append(pb.advance(t1, t1 - t0))
        pb.accept()
        fractions.append(pb.metrics()["contact_fraction"])
    return pb, fractions, its


def run_hold(tmesh):
    """Contact fraction at TIMES for the creeping Li (the MPI test calls this too)."""
    pb, fractions, its = _hold(tmesh, LAW)
    m = pb.metrics()
    pb.close()
    return fractions, its, m


def test_creeping_li_closes_a_rough_contact(window):
    fractions, its, m = run_hold(window)
    print("contact fraction at", TIMES, ":", np.round(fractions, 3), "Newton", its)
    assert fractions[0] < 0.7                                   # elastic: partial contact
    assert all(b >= a - 1e-12 for a, b in zip(fractions, fractions[1:], strict=False))   # grows monotonically
    assert fractions[-1] > fractions[0] + 0.2                   # and substantially
    assert m["electrode_creep_strain_max"] > 0


def test_zero_prefactor_is_the_static_contact_solution(window):
    zero = NortonLaw(0.0, 4.0, 0.0, 1e6)
    pb, fractions, its = _hold(window, zero)
    ref = ContactProblem(window, MATS, supports=[Support("bottom", (0, 1)), Support("left", (0,)), Support("right", (0,))],
                         tractions=[Traction("top", pressure_Pa=P)], pairs=[ContactPair("interface", gap)], degree=2)
    sol = ref.solve(2)
    for b, r in zip(pb.problem.bodies, ref.bodies, strict=True):
        scale = np.abs(r.u.x.array).max()
        assert np.abs(b.u.x.array - r.u.x.array).max() <= 1e-8 * scale
    static = sol.contact["interface"].metrics()["contact_fraction"]
    assert fractions == [static] * len(TIMES)                    # nothing moves in time
    assert its[1:] == [0] * (len(TIMES) - 1)
    ref_stress = sol.stress.x.array.copy()
    s = pb.solution().stress.x.array
    assert np.abs(s - ref_stress).max() <= 1e-6 * P
    pb.close()
    ref.close()


def test_the_facet_stress_sees_a_creep_strain_linear_in_the_cell(window):
    """The Nitsche terms' facet correction C : (eps_c + eps_g) is fitted to the quadrature points in DG1: an
    eigenstrain linear in x is reproduced at the cells' corners (so on their facets), where a cell mean would
    miss it by its gradient times the distance to the centroid."""
    from ecmsim.core.fem import basix, fem, ufl
    from ecmsim.mechanics.creep_contact import CreepConstitutive

    const = CreepConstitutive(window, MATS, {"electrode": LAW}, degree=2)
    msh = window.mesh
    x = ufl.SpatialCoordinate(msh)
    cells = const.cells

    def linear(xy):   # an eigenstrain [-] with xx, yy and xy parts varying over the window
        return np.stack([np.stack([1e-3 * xy[..., 0] / W, 2e-4 * xy[..., 1] / H1, 0 * xy[..., 0]], -1),
                         np.stack([2e-4 * xy[..., 1] / H1, -5e-4 * xy[..., 0] / W, 0 * xy[..., 0]], -1),
                         np.stack([0 * xy[..., 0], 0 * xy[..., 0], 3e-4 * xy[..., 1] / H1], -1)], -2)

    xq = fem.Expression(x, const.points).eval(msh, cells).reshape(-1, 2)
    const.eigenstrain[:] = linear(xq)
    const.update()                                  # no bodies: zero strain; dt = 0: no creep
    corners = basix.geometry(basix.CellType.triangle)
    got = fem.Expression(const.facet_correction, corners).eval(msh, cells).reshape(len(cells), 3, 3, 3)
    eg = linear(fem.Expression(x, corners).eval(msh, cells).reshape(len(cells), 3, 2))
    # creeping cells take the trace as its cell mean (mean dilatation, as their points do): for a linear
    # field the mean of the corners
    tr = np.trace(eg, axis1=2, axis2=3)
    shift = np.where(const.dilatation._active_cells[:, None], tr.mean(axis=1, keepdims=True) - tr, 0.0)
    assert const.dilatation._active_cells.any() and not const.dilatation._active_cells.all()
    eg = eg + shift[..., None, None] / 3 * np.eye(3)
    lam = const.lam.x.array[cells][:, None, None, None]
    mu = const.mu.x.array[cells][:, None, None, None]
    want = lam * np.trace(eg, axis1=2, axis2=3)[..., None, None] * np.eye(3) + 2 * mu * eg
    scale = np.abs(want).max()
    assert scale > 1e6                                        # MPa-sized: the check is not of zeros
    assert np.abs(got - want).max() <= 1e-9 * scale
    # the cell mean (what the facets saw before) misses the corners by a finite fraction
    mean = want.mean(axis=1, keepdims=True)
    assert np.abs(mean - want).max() > 1e-3 * scale


def _jacobian_mismatch(tmesh) -> float:
    """|central difference of the residual - J dx| / |J dx| after one creeping step of the rough contact
    (dt = 1 s: the Li relaxes, theta << 1 at its points), for a random direction dx."""
    pb = CreepContactMechanics(tmesh, MATS, {"electrode": LAW}, P, 2, 333.15, load_steps=2, initial_gap=gap)
    pb.advance(0.0, 0.0)
    pb.accept()
    pb.advance(1.0, 1.0)
    assert pb.constitutive.relaxation_max() > 0.5               # the facet stress is far from elastic
    problem = pb.problem.problem
    snes = problem.solver
    x = snes.getSolution().copy()
    snes.computeJacobian(x, problem.A, problem.A)
    dx = x.duplicate()
    dx.setArray(np.random.default_rng(0).standard_normal(x.getLocalSize()))
    dx.scale(1e-9 * x.norm() / dx.norm())                       # far from the contact's kinks
    jdx, fp, fm = x.duplicate(), x.duplicate(), x.duplicate()
    problem.A.mult(dx, jdx)
    snes.computeFunction(x + dx, fp)
    snes.computeFunction(x - dx, fm)
    fd = fp - fm
    fd.scale(0.5)
    mismatch = (fd - jdx).norm() / jdx.norm()
    pb.close()
    return mismatch


def test_the_contact_jacobian_is_the_derivative_of_its_residual(window, monkeypatch):
    """With the facet stress's creep derivative (CreepConstitutive.facet_tangent_correction) the Jacobian
    is the residual's derivative to round-off; with the elastic facet tangent (what it was before) it is
    off by a finite fraction, which is what this check sees."""
    from ecmsim.mechanics.contact import problem
    from ecmsim.mechanics.creep_contact import CreepConstitutive

    # full Newton steps reach the state to check from (backtracking stalls on this 1 s step: docs/creep.md)
    monkeypatch.setattr(problem, "CREEP_LINE_SEARCH", "basic")
    consistent = _jacobian_mismatch(window)
    monkeypatch.setattr(CreepConstitutive, "facet_tangent_correction", lambda self, w: None)
    elastic = _jacobian_mismatch(window)
    print(f"Jacobian mismatch: consistent {consistent:.2e}, elastic facet tangent {elastic:.2e}")
    assert consistent < 1e-6
    assert elastic > 1e-3


def test_a_step_that_jumps_at_one_point_is_rejected(window):
    """The step indicator of a creeping body in contact sees a jump of one point's creep strain (a Newton that
    converged across an active-set switch onto a state a shorter step does not reach), which the L1 stress
    error, made to let singular points relax, does not."""
    from ecmsim.mechanics.creep import stress_error_indicator
    from ecmsim.mechanics.creep_contact import MAX_STEP_CREEP_INCREMENT

    pb = CreepContactMechanics(window, MATS, {"electrode": LAW}, P, 2, 333.15, load_steps=2, initial_gap=gap)
    pb.advance(0.0, 0.0)
    pb.accept()
    pb.advance(1e-5, 1e-5)
    c = pb.constitutive
    before = pb.error_indicator()
    points = np.flatnonzero(c._owned_points & (c._rate_q > 0))
    smallest = points[np.argmin(c._weights[points])]              # a point at the interface's fine mesh
    c.p_trial.x.array[c.dofs[smallest]] += 2 * MAX_STEP_CREEP_INCREMENT
    after, l1 = pb.error_indicator(), stress_error_indicator(c)
    print(f"indicator {before:.3g} -> {after:.3g} (L1 stress error alone {l1:.3g})")
    assert before < 1.5 and l1 < 1.5
    assert after >= 2.0
    pb.close()


def test_a_coupling_iterations_solve_is_loose_and_the_steps_last_is_tightened(window, monkeypatch):
    """resolve() (a coupling iteration's solve) stops at COUPLING_SOLVE_LOOSENING times the step's tolerance;
    settle() then takes the step's last solve on to the step's own tolerance, and does nothing a second time.
    The loosening is raised here so that the loose solve surely stops short of the tight one."""
    from ecmsim.mechanics import creep_contact

    pb = CreepContactMechanics(window, MATS, {"electrode": LAW}, P, 2, 333.15, load_steps=2, initial_gap=gap)
    pb.advance(0.0, 0.0)
    pb.accept()
    pb.advance(1.0, 1.0)
    problem = pb.problem.problem
    snes, tight = problem.solver, pb.problem.atol

    def residual() -> float:
        x = snes.getSolution()
        f = x.duplicate()
        snes.computeFunction(x, f)
        return f.norm()

    assert residual() <= tight
    monkeypatch.setattr(creep_contact, "COUPLING_SOLVE_LOOSENING", 1e5)
    for b in pb.problem.bodies:                 # a coupling iteration's change, as an offset's would be
        b.u.x.array[:] *= 1.02
    pb.resolve(1.0, 1.0)
    loose = residual()
    assert pb.problem.atol == tight            # restored
    assert tight < loose <= 1e5 * tight
    assert pb.settle(1.0, 1.0) >= 1
    print(f"residual: loose {loose:.2e}, settled {residual():.2e} (tight {tight:.1e})")
    assert residual() <= tight
    assert pb.settle(1.0, 1.0) == 0
    pb.close()


@pytest.mark.mpi
@pytest.mark.slow
def test_creep_contact_run_parallel_equals_serial(tmp_path, have_mpirun):
    """A [protocol] on the contact scenario through the CLI: serial equals mpirun -n 2."""
    from conftest import SCENARIOS, read_summary, run_cli, run_cli_mpi

    args = [str(SCENARIOS / "sinusoidal_contact.toml"), "--set", "mesh.size_m=4e-6", "--set",
            "mesh.interface_size_m=1e-6", "--set", 'protocol.steps=["Hold for 1 s"]', "--set",
            "protocol.dt_initial_s=1e-3", "--set", "output.plots=false", "--set", "output.fields=false", "-q"]
    p1 = run_cli("run", args[0], "-o", str(tmp_path / "serial"), *args[1:])
    assert p1.returncode == 0, p1.stderr
    p2 = run_cli_mpi(2, "run", args[0], "-o", str(tmp_path / "parallel"), *args[1:])
    assert p2.returncode == 0, p2.stderr + p2.stdout
    a, b = read_summary(tmp_path / "serial"), read_summary(tmp_path / "parallel")
    assert b["provenance"]["mpi_ranks"] == 2
    assert a["solver"]["time_steps"] == b["solver"]["time_steps"] > 3
    assert a["metrics"]["electrode_creep_strain_max"] > 0 and "contact_fraction" in a["metrics"]
    for key, value in a["metrics"].items():
        assert b["metrics"][key] == pytest.approx(value, rel=1e-7, abs=1e-6), key
    rows = (tmp_path / "serial" / "history.csv").read_text().splitlines()
    assert "contact_fraction" in rows[0]


def test_resume_of_creep_with_contact_is_refused_in_one_line(tmp_path):
    """Creep with contact in a hold (no plating or stripping) writes no checkpoints yet: --resume says so,
    exit 2, before any solve."""
    from conftest import SCENARIOS, assert_one_line_error, run_cli

    proc = run_cli("run", str(SCENARIOS / "sinusoidal_contact.toml"), "-o", str(tmp_path / "r"), "--resume",
                   "--set", 'protocol.steps=["Hold for 1 s"]', "--set", "output.plots=false", "-q")
    assert_one_line_error(proc, "--resume", "creep with contact")
    assert not (tmp_path / "r").exists()
