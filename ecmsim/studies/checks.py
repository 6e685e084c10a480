"""Check functions of ``ecmsim validate``: compute one simulated value by calling the package.

A case in ``validation/cases/*.toml`` names a check with ``simulated.check = "<name>"``. A check
is registered with what it uses, so that the validation knows a case's inputs before anything
runs (docs/validation.md)::

    @check("li_pll_high_stress", runs=[LI_STATIC])          # scenario runs it reads
    def li_pll_high_stress(ctx) -> Result:
        summary, folder = ctx.run(LI_STATIC)
        ...

``runs``: the scenario runs the check reads through ``ctx.run`` (each a :class:`Run`: a scenario
file relative to the repository and its ``--set`` overrides); the validation makes them before the
checks, in parallel, and remakes them at h/2 for the convergence check and once per sample for
the uncertainty bands, so ``ctx.run`` of a run the check does not declare is an error.
``scenarios``: scenario files the check reads without running them; ``materials``: library records
it uses directly. A check takes a context (``ctx.run``, ``ctx.figures`` for PNGs,
``ctx.profile_figure``) and returns a :class:`Result`: the simulated value in SI units, optionally
the reference value when it is a closed form evaluated with the package's own constants, details
for the report, and figure paths. Checks never read test results: each one solves or simulates anew.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ecmsim.io.results import final_interface_pressure, weighted_percentile


@dataclass
class Result:
    """What a check computed. ``value`` [SI]; ``reference``: overrides the case's reference value
    (a closed form evaluated here); ``details``: shown in the report; ``figures``: PNG paths."""

    value: float
    reference: float | None = None
    details: str = ""
    figures: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class Run:
    """One scenario run: a scenario file (relative to the repository) and its ``--set`` overrides."""

    scenario: str
    overrides: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckSpec:
    """A registered check and what it declares it uses."""

    fn: Callable[[Any], Result]
    runs: tuple[Run, ...] = ()
    scenarios: tuple[str, ...] = ()
    materials: tuple[str, ...] = ()


#: name -> check (a CheckSpec; a bare function counts as a check that declares nothing)
CHECKS: dict[str, CheckSpec | Callable[[Any], Result]] = {}


def check(name: str, runs=(), scenarios=(), materials=()):
    """Register a check under ``name`` with the runs, scenario files and material records it uses."""
    def deco(fn):
        CHECKS[name] = CheckSpec(fn, tuple(runs), tuple(scenarios), tuple(materials))
        return fn
    return deco


def spec(name: str) -> CheckSpec:
    """The registered check ``name`` as a CheckSpec."""
    entry = CHECKS[name]
    return entry if isinstance(entry, CheckSpec) else CheckSpec(entry)


# --- mechanics: closed forms ------------------------------------------------------------------------

FLAT = Run("scenarios/flat_bilayer.toml", ("output.fields=false", "output.plots=false"))


@check("patch_test_interface_stress", runs=[FLAT])
def patch_test_interface_stress(ctx) -> Result:
    """Flat Li/PLL bilayer, bonded, roller sides: uniaxial strain, sigma_yy = -p on the whole
    interface. Returns the interface normal stress farthest from -p [Pa]."""
    summary, _ = ctx.run(FLAT)
    m = summary["metrics"]
    p = m["stack_pressure_Pa"]
    worst = max((m["interface_normal_stress_min_Pa"], m["interface_normal_stress_max_Pa"]), key=lambda s: abs(s + p))
    return Result(worst, details=f"min {m['interface_normal_stress_min_Pa']:.10g} Pa, "
                                 f"max {m['interface_normal_stress_max_Pa']:.10g} Pa at p = {p:g} Pa")


KIRSCH_A, KIRSCH_L, KIRSCH_S = 1e-6, 10e-6, 1e6  # hole radius, quarter-plate side [m], remote tension [Pa]


def kirsch_sigma(x, ufl, a: float = KIRSCH_A, S: float = KIRSCH_S):
    """Kirsch (1898): stress around a circular hole of radius a [m], remote sigma_xx = S [Pa] (UFL),
    at the spatial coordinate x; used by this check and the elasticity tests."""
    r2 = x[0] ** 2 + x[1] ** 2
    c, s = x[0] / ufl.sqrt(r2), x[1] / ufl.sqrt(r2)
    c2, s2 = c * c - s * s, 2 * s * c
    q2, q4 = a**2 / r2, a**4 / r2**2
    srr = S / 2 * (1 - q2) + S / 2 * (1 - 4 * q2 + 3 * q4) * c2
    stt = S / 2 * (1 + q2) - S / 2 * (1 + 3 * q4) * c2
    srt = -S / 2 * (1 + 2 * q2 - 3 * q4) * s2
    sxx = srr * c * c + stt * s * s - 2 * srt * s * c
    syy = srr * s * s + stt * c * c + 2 * srt * s * c
    sxy = (srr - stt) * s * c + srt * (c * c - s * s)
    return ufl.as_matrix([[sxx, sxy], [sxy, syy]])


@check("kirsch_stress_concentration", materials=["LLZO"])
def kirsch_stress_concentration(ctx) -> Result:
    """Quarter plate with a hole (radius a, side 10 a), Kirsch tractions on the outer edges,
    symmetry on the cut edges, P2, element size a/20 at the hole: sigma_xx(0, a) / S."""
    from ecmsim import materials
    from ecmsim.core.fem import MPI, ufl
    from ecmsim.geometry import Geometry, Region
    from ecmsim.mechanics.elasticity import PlaneStrainElasticity, Support, Traction
    from ecmsim.mesh import MeshOptions, mesh_geometry

    size = KIRSCH_A / 20
    t = np.linspace(0, math.pi / 2, 181)
    arc = np.column_stack([KIRSCH_A * np.cos(t), KIRSCH_A * np.sin(t)])[::-1]
    outer = np.vstack([[[KIRSCH_A, 0.0], [KIRSCH_L, 0.0], [KIRSCH_L, KIRSCH_L], [0.0, KIRSCH_L]], arc[:-1]])
    geo = Geometry(KIRSCH_L, KIRSCH_L, [Region("electrolyte", outer)], "quarter plate with a hole")
    tm = mesh_geometry(geo, MeshOptions(size_m=size * 8, interface_size_m=size, refine_distance_m=3 * KIRSCH_A),
                       MPI.COMM_SELF)

    def traction(x, n):
        return kirsch_sigma(x, ufl) * n

    problem = PlaneStrainElasticity(tm, {"electrolyte": materials.get("LLZO")},
                                    supports=[Support("bottom", (1,)), Support("left", (0,))],
                                    tractions=[Traction("right", traction=traction),
                                               Traction("top", traction=traction)], degree=2)
    sol = problem.solve()
    sxx = _evaluate(sol.stress, (0.0, KIRSCH_A))[0]
    problem.close()
    return Result(sxx / KIRSCH_S, details=f"{tm.stats()['cells']} triangles, h = a/20 at the hole, P2")


def _evaluate(function, point) -> np.ndarray:
    """A dolfinx Function at one point (serial mesh)."""
    from ecmsim.core.fem import dolfinx

    msh = function.function_space.mesh
    pts = np.array([[point[0], point[1], 0.0]])
    tree = dolfinx.geometry.bb_tree(msh, msh.topology.dim)
    hits = dolfinx.geometry.compute_colliding_cells(msh, dolfinx.geometry.compute_collisions_points(tree, pts), pts)
    return np.asarray(function.eval(pts, np.array([hits.links(0)[0]], dtype=np.int32))).reshape(-1)


HERTZ_R, HERTZ_W, HERTZ_H = 50e-6, 40e-6, 20e-6  # cylinder radius, window width, layer depth [m]


@check("hertz_peak_pressure", materials=["PLL"])
def hertz_peak_pressure(ctx) -> Result:
    """A rigid cylinder (R = 50 um) pressed 60 nm into a PLL layer (plane strain, Nitsche contact,
    h = 50 nm at the contact): peak contact pressure against Hertz p0 = 2 P / (pi a),
    a = sqrt(4 P R / (pi E*)) at the computed force P per unit length."""
    from ecmsim import materials
    from ecmsim.core.fem import MPI
    from ecmsim.geometry import Geometry, Region
    from ecmsim.mechanics.contact import ContactProblem, RigidCircle
    from ecmsim.mechanics.elasticity import Support
    from ecmsim.mesh import MeshOptions, mesh_geometry

    size, zone = 50e-9, 3e-6
    x = np.unique(np.round(np.concatenate([np.linspace(0, HERTZ_W, 21),
                                           HERTZ_W / 2 + np.linspace(-zone, zone, 31)]), 12))
    line = np.column_stack([x, np.full_like(x, HERTZ_H)])
    geo = Geometry(HERTZ_W, 1.5 * HERTZ_H, [Region("electrolyte", np.vstack([[[0.0, 0.0], [HERTZ_W, 0.0]],
                                                                            line[::-1]]))], "half-plane")
    tm = mesh_geometry(geo, MeshOptions(size_m=min(HERTZ_H / 4, 40 * size), interface_size_m=size,
                                        refine_distance_m=20 * size), MPI.COMM_SELF)
    pll = materials.get("PLL")
    problem = ContactProblem(tm, {"electrolyte": pll}, supports=[Support("bottom")], pairs=[],
                             obstacles=[RigidCircle("void", (HERTZ_W / 2, HERTZ_H + HERTZ_R), HERTZ_R,
                                                    motion_m=(0.0, -60e-9))])
    sol = problem.solve(load_steps=4)
    prof = sol.contact["void"]
    problem.close()
    e_star = pll.plane_strain_modulus_Pa
    force = float(np.dot(prof.weight_m, prof.contact_pressure_Pa))
    a = math.sqrt(4 * force * HERTZ_R / (math.pi * e_star))
    p0 = 2 * force / (math.pi * a)
    return Result(float(prof.contact_pressure_Pa.max()), reference=p0,
                  details=f"P = {force:.4g} N/m, Hertz a = {a * 1e6:.4f} um (a/h = {a / size:.0f}), "
                          f"{tm.stats()['cells']} triangles")


# --- the virtual FBG: closed forms -----------------------------------------------------------------

def _silica():
    from ecmsim import materials
    s = materials.get("silica")
    return s, s.youngs_modulus_Pa, s.poissons_ratio, s.get("effective_index"), s.get("p11"), s.get("p12")


@check("fbg_peak_reflectance", materials=["silica"])
def fbg_peak_reflectance(ctx) -> Result:
    """Transfer matrix of a uniform 10 mm grating (delta_n 1e-4, 50 sections) at the design
    wavelength against Erdogan's R_max = tanh^2(kappa L), kappa = pi delta_n / lambda."""
    from ecmsim.fbg import tmm

    lam, n, dn, L, M = 1550e-9, 1.45, 1e-4, 10e-3, 50
    R = tmm.reflectance([lam], np.full((1, M), lam), np.full((1, M), n), np.full(M, math.pi * dn), L / M)[0, 0]
    kappa_L = math.pi * dn / lam * L
    return Result(float(R), reference=math.tanh(kappa_L) ** 2, details=f"kappa L = {kappa_L:.4f}")


@check("fbg_strain_sensitivity", materials=["silica"])
def fbg_strain_sensitivity(ctx) -> Result:
    """Free fibre under 100 microstrain axial tension (transverse -nu e): peak shift per microstrain
    of the simulated spectrum [m per microstrain]."""
    from ecmsim.fbg import StrainProfile, simulate

    _, _, nu, n, p11, p12 = _silica()
    strain = 1e-4
    _, report = simulate(StrainProfile.uniform(10e-3, exx=-nu * strain, eyy=-nu * strain, ezz=strain))
    p_e = 0.5 * n * n * (p12 - nu * (p11 + p12))
    return Result(report.shift_m / (strain * 1e6), details=f"p_e = {p_e:.5f}; closed form lambda_D (1 - p_e) "
                                                             f"= {1550e-9 * (1 - p_e) * 1e6:.5g} pm/ue")


@check("fbg_diametral_splitting", materials=["silica"])
def fbg_diametral_splitting(ctx) -> Result:
    """A 125 um fibre under a diametral line load of 3000 N/m (Timoshenko & Goodier: centre stresses
    2f/(pi D), -6f/(pi D), plane strain): splitting read by the interrogator from the unpolarised
    spectrum (Gaussian apodization) against lambda_D (n^2/2)(p12 - p11)(e_x - e_y)."""
    from ecmsim.fbg import Grating, StrainProfile, simulate

    silica, E, nu, n, p11, p12 = _silica()
    D, f, lam = silica.get("diameter_m"), 3000.0, 1550e-9
    sx, sy = 2 * f / (math.pi * D), -6 * f / (math.pi * D)
    sz = nu * (sx + sy)
    tr = sx + sy + sz
    ex, ey = ((1 + nu) * sx - nu * tr) / E, ((1 + nu) * sy - nu * tr) / E
    _, report = simulate(StrainProfile.uniform(10e-3, exx=ex, eyy=ey, ezz=0.0), Grating(apodization="gaussian"))
    closed = lam * 0.5 * n * n * (p12 - p11) * (ex - ey)
    return Result(report.splitting_m, reference=closed, details=f"{report.count} peaks")


@check("fbg_temperature_sensitivity", materials=["silica"])
def fbg_temperature_sensitivity(ctx) -> Result:
    """A free grating at the Li cell's 1542.18 nm heated by 10 K: peak shift per kelvin [m/K]."""
    from ecmsim.fbg import Grating, StrainProfile, simulate

    lam, T0, dT = 1542.18e-9, 293.15, 10.0
    _, report = simulate(StrainProfile.uniform(10e-3, T_K=T0 + dT),
                         Grating(design_wavelength_m=lam, reference_temperature_K=T0))
    return Result(report.shift_m / dT, details="free fibre, strain-free: (alpha + xi) lambda_D")


# --- the reference cells: Li/PLL and Li-Sn/PLL from the FIB-SEM-like images --------------------------

LI_CYCLED = "scenarios/li_pll_cycled_image.toml"
LISN_CYCLED = "scenarios/li_sn_pll_cycled_image.toml"
#: As the reference study's COMSOL model: contact pair at the interface, linear elastic, 2.4 MPa.
CONTACT = ("interface.model=contact", "output.fields=false")
LI_STATIC = Run(LI_CYCLED, CONTACT)
LISN_STATIC = Run(LISN_CYCLED, CONTACT)
#: The Li/PLL window through three plating/stripping cycles (bonded, creep).
LI_CYCLING = Run("scenarios/cycling_li_pll.toml", ("output.fields=false",))


def _compressive_profile(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    data = np.loadtxt(folder / "interface_profile.csv", delimiter=",", skiprows=1, ndmin=2)
    return data[:, 0], -data[:, 2], data[:, 4]   # x [m], compressive normal stress [Pa], weight [m]


def _spread(p: np.ndarray, w: np.ndarray) -> str:
    """The distribution of a compressive stress along the interface, for the details."""
    q = [weighted_percentile(p, w, k) / 1e6 for k in (5, 50, 95)]
    return (f"5th / 50th / 95th percentile {q[0]:.3g} / {q[1]:.3g} / {q[2]:.3g} MPa, max {p.max() / 1e6:.3g} MPa "
            f"(a singular maximum at a void edge: not compared)")


@check("li_pll_high_interface_stress", runs=[LI_STATIC])
def li_pll_high_interface_stress(ctx) -> Result:
    """95th percentile (by interface length) of the compressive interface normal stress on the cycled
    Li/PLL section at 2.4 MPa with contact [Pa]: the high end of the stress range along the interface."""
    summary, folder = ctx.run(LI_STATIC)
    _, s, w = _compressive_profile(folder)
    return Result(weighted_percentile(s, w, 95),
                  details=f"{_spread(s, w)}; contact fraction {summary['metrics'].get('contact_fraction', 1):.3f}",
                  figures=[ctx.profile_figure("li_pll_profile", [(LI_STATIC, "Li/PLL")])])


@check("li_pll_low_interface_stress", runs=[LI_STATIC])
def li_pll_low_interface_stress(ctx) -> Result:
    """5th percentile (by interface length) of the compressive interface normal stress on the
    cycled Li/PLL section at 2.4 MPa with contact [Pa]: the low end of the stress range."""
    summary, folder = ctx.run(LI_STATIC)
    _, s, w = _compressive_profile(folder)
    return Result(weighted_percentile(s, w, 5),
                  details=f"{_spread(s, w)}; contact fraction {summary['metrics'].get('contact_fraction', 1):.3f}")


def _after_cycling(ctx, q: float) -> Result:
    summary, folder = ctx.run(LI_CYCLING)
    _, p, w = final_interface_pressure(folder)
    tension = float(w[p < 0].sum() / w.sum())
    m = summary["metrics"]
    return Result(weighted_percentile(p, w, q),
                  details=f"{_spread(p, w)}; {tension:.0%} of the window in normal tension (bonded interface); "
                          f"centre {-m['interface_sigma_nn_centre_Pa'] / 1e6:.3g} MPa vs edges "
                          f"{-m['interface_sigma_nn_edge_Pa'] / 1e6:.3g} MPa (compression +)")


@check("li_pll_high_stress_after_cycling", runs=[LI_CYCLING])
def li_pll_high_stress_after_cycling(ctx) -> Result:
    """95th percentile (by interface length) of the compressive interface normal stress on the Li/PLL
    window at the end of three plating/stripping cycles at 2.4 MPa [Pa]."""
    return _after_cycling(ctx, 95)


@check("li_pll_low_stress_after_cycling", runs=[LI_CYCLING])
def li_pll_low_stress_after_cycling(ctx) -> Result:
    """5th percentile (by interface length) of the compressive interface normal stress on the Li/PLL
    window at the end of three plating/stripping cycles at 2.4 MPa [Pa]."""
    return _after_cycling(ctx, 5)


@check("li_pll_centre_edge_ratio", runs=[LI_STATIC])
def li_pll_centre_edge_ratio(ctx) -> Result:
    """Mean normal traction over the central half of the window / over the outer quarters."""
    summary, _ = ctx.run(LI_STATIC)
    return Result(summary["metrics"]["interface_normal_stress_centre_edge_ratio"])


@check("lisn_over_li_stress_heterogeneity", runs=[LI_STATIC, LISN_STATIC])
def lisn_over_li_stress_heterogeneity(ctx) -> Result:
    """Coefficient of variation (std / |mean|) of the interface normal stress, Li-Sn/PLL over Li/PLL,
    both cycled sections at 2.4 MPa with contact."""
    li, _ = ctx.run(LI_STATIC)
    lisn, _ = ctx.run(LISN_STATIC)
    cv_li = li["metrics"]["interface_normal_stress_cv"]
    cv_lisn = lisn["metrics"]["interface_normal_stress_cv"]
    fig = ctx.profile_figure("li_vs_lisn_profile", [(LI_STATIC, "Li/PLL"), (LISN_STATIC, "Li-Sn/PLL")])
    return Result(cv_lisn / cv_li, details=f"CV Li/PLL {cv_li:.3f}, Li-Sn/PLL {cv_lisn:.3f}", figures=[fig])


# --- electrochemistry -------------------------------------------------------------------------------

@check("constriction_periodic_gaps")
def constriction_periodic_gaps(ctx) -> Result:
    """Extra resistance of periodic insulating gaps (active fraction 1/2, period 10 um) on a flat
    window in the primary-distribution limit, against (L / (pi kappa)) ln(1 / sin(pi f / 2)) [ohm m2]."""
    from ecmsim.electrochem.kinetics import ButlerVolmer
    from ecmsim.electrochem.potential import PotentialProblem
    from ecmsim.core.fem import MPI
    from ecmsim.geometry import generators
    from ecmsim.mesh import MeshOptions, mesh_geometry

    period, width, h, kappa, i_app, fraction = 10e-6, 40e-6, 20e-6, 0.01, 2.0, 0.5
    tm = mesh_geometry(generators.flat(width, 10e-6, h),
                       MeshOptions(size_m=2e-6, interface_size_m=0.25e-6, refine_distance_m=4e-6), MPI.COMM_SELF)
    problem = PotentialProblem(tm, ButlerVolmer(1e6, 0.5, 333.15), kappa, degree=2)  # i0 -> oo: primary
    problem.set_current_density(i_app)
    problem.set_interface_state(
        active=lambda x: (np.abs(np.mod(x[:, 0] + period / 2, period) - period / 2) < fraction * period / 2) * 1.0)
    m = problem.solve().metrics
    problem.close()
    f = m["interface_active_fraction"]
    simulated = (m["window_voltage_V"] - i_app * h / kappa) / i_app
    analytic = period / (math.pi * kappa) * math.log(1 / math.sin(math.pi * f / 2))
    return Result(simulated, reference=analytic,
                  details=f"active fraction {f:.4f}, P2, interface elements 0.25 um, kappa {kappa} S/m")


_CURRENT = ("electrochem.applied_current_density_A_m2=2.0", "output.fields=false")
LI_CURRENT = Run("scenarios/current_li_pll_cycled.toml", _CURRENT)
LISN_CURRENT = Run("scenarios/current_li_sn_pll_cycled.toml", _CURRENT)


@check("overpotential_ratio_lisn_over_li", runs=[LI_CURRENT, LISN_CURRENT])
def overpotential_ratio_lisn_over_li(ctx) -> Result:
    """Cell overpotential Li-Sn / Li from the current distribution on the cycled sections at
    0.2 mA/cm2 with contact (symmetric cell, 100 um membrane)."""
    li, _ = ctx.run(LI_CURRENT)
    lisn, _ = ctx.run(LISN_CURRENT)
    eta_li, eta_lisn = li["metrics"]["cell_overpotential_V"], lisn["metrics"]["cell_overpotential_V"]
    return Result(eta_lisn / eta_li, details=f"Li {eta_li * 1e3:.1f} mV (measured 286), Li-Sn {eta_lisn * 1e3:.1f} mV "
                                             f"(measured 163); current CV Li {li['metrics']['current_density_cv']:.4f}, "
                                             f"Li-Sn {lisn['metrics']['current_density_cv']:.4f}")


# --- creep ------------------------------------------------------------------------------------------

@check("norton_relaxation_li", materials=["Li"])
def norton_relaxation_li(ctx) -> Result:
    """Stress relaxation at fixed strain of a Li block (the library's Li law at 60 C with the size
    effect of 5 um Li), held by a fixed top displacement in plane strain: the shear stress
    sxx - syy after one half-time, against the closed form of the Norton law with the 3 mu modulus
    of this stress state [Pa]."""
    from ecmsim import materials
    from ecmsim.core.fem import MPI
    from ecmsim.geometry import generators
    from ecmsim.materials.creep import law_of
    from ecmsim.mechanics.creep import CreepProblem
    from ecmsim.mechanics.elasticity import Support
    from ecmsim.mesh import MeshOptions, mesh_geometry

    li = materials.get("Li")
    law = law_of(li, 5e-6)
    T, delta = 333.15, 2e-9
    tm = mesh_geometry(generators.flat(40e-6, 20e-6, 20e-6), MeshOptions(size_m=10e-6), MPI.COMM_SELF)
    pb = CreepProblem(tm, {"electrode": li, "electrolyte": li}, {"electrode": law, "electrolyte": law},
                      supports=[Support("bottom"), Support("left", (0,)), Support("right", (0,)),
                                Support("top", (1,), value=lambda x: np.vstack([0 * x[0], -delta + 0 * x[0]]))],
                      degree=2, temperature_K=T)
    pb.advance(0.0, 0.0)
    pb.accept()
    s = pb.stress_q.x.array.reshape(-1, 3, 3)[pb.dofs]
    q0 = float(np.mean(s[:, 0, 0] - s[:, 1, 1]))
    modulus = 3 * li.lame_mu_Pa
    t_half = law.half_time_s(q0, modulus, T)
    steps = 200
    for k in range(steps):
        pb.advance((k + 1) * t_half / steps, t_half / steps)
        pb.accept()
    s = pb.stress_q.x.array.reshape(-1, 3, 3)[pb.dofs]
    pb.close()
    exact = float(law.relaxation_stress_Pa(q0, modulus, t_half, T))
    return Result(float(np.mean(s[:, 0, 0] - s[:, 1, 1])), reference=exact,
                  details=f"initial {q0 / 1e6:.4g} MPa, half-time {t_half:.4g} s, {steps} backward-Euler steps")


# --- the fibre inside the cell (docs/fbg_cell.md, validation/fbg_cell_calibration.md) ---------------
FBG_CELL_LI = "scenarios/fbg_cell_li.toml"
FBG_CELL_LISN = "scenarios/fbg_cell_lisn.toml"
#: Pressures of the sensitivity fit, inside the measured calibration range ([P] Fig. 2e: 0.2-3 MPa).
FBG_CELL_PRESSURES_PA = (0.2e6, 0.5e6, 1.0e6, 1.5e6, 2.0e6, 2.4e6, 3.0e6)


def _fbg_cell_sweep(ctx, scenario: str) -> dict:
    """The reference's calibrations made on the process cell of an fbg_cell scenario (docs/fbg_cell.md),
    computed in-process once per scenario and kept in ``ctx.cache``: after the scenario's hold at its
    stack pressure, the temperature sensitivity of the held state and the pressure raised over
    FBG_CELL_PRESSURES_PA (each step held 1 h)."""
    key = ("process cell", scenario)
    if key in ctx.cache:
        return ctx.cache[key]
    from ecmsim import scenario as scenario_mod
    from ecmsim.fibre.model import ProcessCell

    scn = scenario_mod.load(Path(ctx.root) / scenario)
    cell = ProcessCell(scn)
    p = scn.loading.stack_pressure_Pa
    cell.advance(p, 0.0)
    cell.advance(p, scn.protocol.build().duration_s if scn.protocol is not None else 0.0)
    out = {"temperature_pm_per_K": cell.temperature_sensitivity_pm_per_K(p),
           "rows": cell.pressure_steps(FBG_CELL_PRESSURES_PA, 3600.0), "axial": scn.geometry.fibre_axial_strain}
    ctx.cache[key] = out
    return out


#: The shipped cells as `ecmsim run` makes them (load, the scenario's hold): the runs the splitting cases
#: read, so that `validate --uq` can sample their inputs (the pressure and temperature series below are
#: computed in-process and get no band).
FBG_LI = Run(FBG_CELL_LI, ("output.fields=false", "output.plots=false"))
FBG_LISN = Run(FBG_CELL_LISN, ("output.fields=false", "output.plots=false"))


@check("fbg_cell_li_splitting_2p4MPa", runs=[FBG_LI])
def fbg_cell_li_splitting_2p4MPa(ctx) -> Result:
    """Li cell (scenarios/fbg_cell_li.toml) after its hold at 2.4 MPa: the splitting read off the
    simulated spectrum as the interrogator reads it [m]. This is the calibration target (the membrane
    thickness is fitted to it): the check holds the scenario file to its fit."""
    m = ctx.run(FBG_LI)[0]["metrics"]
    return Result(m["fbg_splitting_pm"] * 1e-12,
                  details=f"fibre load {m['fibre_line_load_N_per_m'] / 1e3:.3g} N/mm; eigenmode peaks "
                          f"{m['fbg_eigen_splitting_pm']:.1f} pm apart; {m['fbg_peak_count']} peak(s) read")


@check("fbg_cell_lisn_splitting_2p4MPa", runs=[FBG_LISN, FBG_LI])
def fbg_cell_lisn_splitting_2p4MPa(ctx) -> Result:
    """Li-Sn cell (scenarios/fbg_cell_lisn.toml, the Li cell's membrane, not refitted) after its hold
    at 2.4 MPa: the splitting read [m], predicted (connected skeleton, the upper bound)."""
    m, li = ctx.run(FBG_LISN)[0]["metrics"], ctx.run(FBG_LI)[0]["metrics"]
    read, li_read = m["fbg_splitting_pm"], li["fbg_splitting_pm"]
    return Result(read * 1e-12, details=f"fibre load {m['fibre_line_load_N_per_m'] / 1e3:.3g} N/mm (Li cell "
                                        f"{li['fibre_line_load_N_per_m'] / 1e3:.3g} N/mm); Li-Sn / Li read "
                                        f"splitting {read / li_read:.3g} (measured 1.53)")


@check("fbg_cell_lisn_li_ratio", runs=[FBG_LISN, FBG_LI])
def fbg_cell_lisn_li_ratio(ctx) -> Result:
    """Li-Sn / Li ratio of the splittings read at 2.4 MPa [-] (both with the one calibrated membrane)."""
    m, li = ctx.run(FBG_LISN)[0]["metrics"], ctx.run(FBG_LI)[0]["metrics"]
    return Result(m["fbg_splitting_pm"] / li["fbg_splitting_pm"],
                  details="connected Li22Sn5 skeleton (upper bound); isolated particles give about 1.03")


@check("fbg_cell_one_peak_at_0p2MPa", scenarios=[FBG_CELL_LI])
def fbg_cell_one_peak_at_0p2MPa(ctx) -> Result:
    """Peaks the interrogator reads on the Li cell at 0.2 MPa (the pressure series) [-]."""
    row = _fbg_cell_sweep(ctx, FBG_CELL_LI)["rows"][0]
    return Result(float(row["fbg_peak_count"]), details=f"eigenmode peaks {row['fbg_eigen_splitting_pm']:.0f} pm apart")


@check("fbg_cell_temperature_sensitivity", scenarios=[FBG_CELL_LI])
def fbg_cell_temperature_sensitivity(ctx) -> Result:
    """Li cell after its hold: d(centroid)/dT with the fibre anchored in the cell body [m/K]."""
    s = _fbg_cell_sweep(ctx, FBG_CELL_LI)
    return Result(s["temperature_pm_per_K"] * 1e-12, details=f"fibre_axial_strain = {s['axial']}")


@check("fbg_cell_pressure_sensitivity", scenarios=[FBG_CELL_LI])
def fbg_cell_pressure_sensitivity(ctx) -> Result:
    """Li cell: slope of the centroid shift against stack pressure, linear fit over 0.2-3 MPa (the
    calibration range; the pressure raised in steps, each held 1 h) [m/Pa], with the scenario's
    axial model of the fibre."""
    s = _fbg_cell_sweep(ctx, FBG_CELL_LI)
    P = np.array([r["stack_pressure_Pa"] for r in s["rows"]])
    slope = float(np.polyfit(P, [r["fbg_shift_pm"] * 1e-12 for r in s["rows"]], 1)[0])
    return Result(slope, details=f"fibre_axial_strain = {s['axial']}: {slope * 1e18:.1f} pm/MPa")
