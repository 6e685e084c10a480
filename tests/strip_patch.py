"""The stripped patch of the contact cycling window, shared by tests/test_contact_cycling.py and
tests/test_stripping_onset.py (docs/electrochem.md, "The critical stripping current of the contact window").

A flat window (electrode over electrolyte, W wide, frictionless contact, P2, stack pressure on the electrode's
top) whose interface offset recedes at v_s over the central half (|x - W/2| < W/4, ramping to 0 over the next
facet, or over a given width) and stays put elsewhere: the Li must creep sideways into the stripped patch.
``opens`` says whether a strip loses contact, ``onset_velocity`` bisects on v_s for the largest stripping
velocity at which it does not, ``patch_case`` and ``measure`` set up the measurement of the docs.

``python tests/strip_patch.py`` prints the docs' table (10 bisections, ~5 min CPU); ``--test-law-only`` its
first four rows; ``--refinement`` the mesh study (2x and 4x finer interface facets, ~30 min CPU).
"""

from __future__ import annotations

import math

import numpy as np

from contact_cases import contact_modulus
from ecmsim import materials
from ecmsim.core.fem import MPI
from ecmsim.geometry import generators
from ecmsim.materials.creep import NortonLaw
from ecmsim.mechanics.creep_contact import CreepContactMechanics
from ecmsim.mesh import MeshOptions, mesh_geometry
from ecmsim.run.timeloop import MAX_COUPLING_ITERATIONS

P, T = 2.4e6, 333.15
W, H1, H2 = 20e-6, 10e-6, 10e-6
MATS = {"electrode": materials.get("Li"), "electrolyte": materials.get("PLL")}
# relaxes MPa of Li deviatoric stress in about a second (as test_creep_contact.py)
LAW = NortonLaw(prefactor_per_s=2e-3, stress_exponent=4.0, activation_energy_J_per_mol=0.0, reference_stress_Pa=1e6)
ELASTIC = NortonLaw(0.0, 4.0, 0.0, 1e6)


def flat_window(scale: float = 1.0, refine: int = 1):
    """The tests' window, W x (H1 + H2) with 8 interface facets (8 ``refine``), all lengths times ``scale``."""
    return mesh_geometry(generators.flat(scale * W, scale * H1, scale * H2),
                         MeshOptions(size_m=scale * 5e-6 / refine, interface_size_m=scale * 2.5e-6 / refine),
                         MPI.COMM_WORLD)


def contact(tmesh, law=ELASTIC, gap_offset=True, pressure_Pa=P, temperature_K=T, mats=None):
    """The creep-contact problem of the window: ``law`` for the electrode, the electrolyte elastic."""
    return CreepContactMechanics(tmesh, mats or MATS, {"electrode": law}, pressure_Pa, 2, temperature_K,
                                 load_steps=1, gap_offset=gap_offset)


def width(tmesh) -> float:
    """The window's width [m]."""
    x = tmesh.mesh.geometry.x[:, 0]
    return float(MPI.COMM_WORLD.allreduce(x.max(), op=MPI.MAX) - MPI.COMM_WORLD.allreduce(x.min(), op=MPI.MIN))


def patch_offset(depth, w=W, ramp=None):
    """A stripped patch: the surface receded by ``depth`` at the facets of the central half of the interface
    (the offset ramps to 0 over the next facet). With ``ramp`` [m]: a profile independent of the mesh, -depth
    for |x - W/2| < W/4 - ramp/2, 0 beyond W/4 + ramp/2, linear between (half depth at |x - W/2| = W/4)."""
    if ramp is None:
        return lambda p: np.where(np.abs(p[:, 0] - w / 2) < w / 4, -depth, 0.0)
    return lambda p: -depth * np.clip((w / 4 + ramp / 2 - np.abs(p[:, 0] - w / 2)) / ramp, 0.0, 1.0)


def strip_patch(tmesh, law, v_s, dt, steps, pressure_Pa=P, temperature_K=T, mats=None, check=None, ramp=None,
                diffusion_m3_s=0.0, coupled=True, interface_energy_J_m2=0.0):
    """Strip the central half of the interface at v_s [m/s] (the offset -v_s t there) for ``steps`` steps of dt
    (a number or one per step; ``ramp`` as :func:`patch_offset`). Per step: time, largest gap, contact fraction
    and the smallest contact pressure over the stripped patch's own facets (|x - W/2| < W/4 - W/8: the coarse
    window's ramp facet excluded) [Pa]. ``check(t, metrics)`` is called at every step (the tests check force
    balance there).

    With ``diffusion_m3_s`` > 0, Li diffuses along the interface (ecmsim.electrochem.diffusion): the offset of
    facet k is the patch's -v_s t (:func:`patch_offset` at its midpoint) plus what diffusion has moved there.
    Each step's diffusion predicts its end pressure from the patch's move of the step and its own (and the
    deposit's curvature with ``interface_energy_J_m2``); ``coupled``: then corrected against the solve's own end
    pressure, the mechanics solving the step again (the coupling iterations of a cycling run, at most
    MAX_COUPLING_ITERATIONS); else the one-step lag of before."""
    w = width(tmesh)
    facet = w / 8                                   # the coarse window's interface facet (8 over W)
    mech = contact(tmesh, law, pressure_Pa=pressure_Pa, temperature_K=temperature_K, mats=mats)
    cyc = (_diffusing(tmesh, mech, diffusion_m3_s, temperature_K, mats, interface_energy_J_m2)
           if diffusion_m3_s > 0 else None)
    moved = np.zeros(len(cyc.x)) if cyc is not None else None
    mech.advance(0.0, 0.0)
    mech.accept()
    rows, t = [], 0.0
    xy = np.column_stack([cyc.x, cyc.y]) if cyc is not None else None

    for dt_k in np.broadcast_to(np.asarray(dt, dtype=float), (steps,)):
        if cyc is not None:
            before, after = (patch_offset(v_s * time, w, ramp)(xy) for time in (t, t + dt_k))
            pressure = cyc._contact_state()[1]
            moved = moved + cyc.diffusion.step(pressure, pressure > 0, dt_k, after - before, before + moved)
        t += dt_k
        if cyc is None:
            mech.set_gap_offset(patch_offset(v_s * t, w, ramp))
        else:
            h = after + moved
            mech.set_gap_offset(lambda p, h=h: h[cyc._tree.query(p[:, :2])[1]] if len(p) else np.empty(0))
        mech.advance(t, dt_k)
        if cyc is not None and coupled:     # the cycling problem's own coupling iterations on this trial state
            cyc._diffusing, cyc.h_live_trial = True, after + moved
            cyc.h_dead_trial = cyc.gap_trial = np.zeros_like(moved)
            for _ in range(MAX_COUPLING_ITERATIONS):
                if not cyc.iterate():
                    break
                mech.resolve(t, dt_k)
            mech.settle(t, dt_k)            # as the time loop: the last solve to the step's tolerance
            moved = cyc.h_live_trial - after
        mech.accept()
        m = mech.metrics()
        if check is not None:
            check(t, m)
        s = mech.interface_samples()
        inner = np.abs(s.x_m - w / 2) < w / 4 - facet
        rows.append((t, m["gap_max_m"], m["contact_fraction"], float(s.contact_pressure_Pa[inner].min())))
    if cyc is not None:
        cyc.close()
    mech.close()
    return np.array(rows)


def _diffusing(tmesh, mech, diffusion_m3_s, temperature_K, mats, interface_energy_J_m2=0.0):
    """A cycling problem on ``mech`` with interface diffusion: it gives the facets, their contact state and the
    diffusion step; its potential is never solved here."""
    from ecmsim.electrochem.cycling import CyclingProblem
    from ecmsim.electrochem.kinetics import butler_volmer, ionic_conductivity_S_m
    from ecmsim.electrochem.potential import PotentialProblem

    pot = PotentialProblem(tmesh, butler_volmer(MATS["electrode"], temperature_K),
                           ionic_conductivity_S_m(MATS["electrolyte"], temperature_K), molar_volume_m3_mol=13.0e-6)
    return CyclingProblem(mech, pot, irreversible_fraction=0.0, molar_volume_m3_mol=13.0e-6,
                          temperature_K=temperature_K, interface_diffusion_m3_s=diffusion_m3_s,
                          contact_modulus_Pa=contact_modulus(mats or MATS), interface_energy_J_m2=interface_energy_J_m2)


def opens(tmesh, law, v_s, depth, steps=300, warmup=1e-3, gap_tol=None, **kwargs) -> bool:
    """Whether stripping the patch at v_s [m/s] down to ``depth`` [m] opens a gap: a contact fraction below 1
    at any step (the contact pressure reached 0 at a sample), or with ``gap_tol``: a largest gap above
    ``gap_tol`` x depth at any step (a gap beyond the noise, ~2e-4 x depth here). The duration is depth / v_s
    (the law's absolute rate only sets the time scale), in ``steps`` steps: the first ``warmup`` times the
    others, growing by 1.5 per step up to them (the first creep steps relax the stack pressure's deviatoric
    stress: a long first step fails Newton)."""
    k = np.minimum(warmup * 1.5 ** np.arange(steps), 1.0)
    dt = depth / v_s * k / k.sum()
    rows = strip_patch(tmesh, law, v_s, dt, steps, **kwargs)
    if gap_tol is None:
        return bool(np.any(rows[:, 2] < 1.0))
    return bool(np.any(rows[:, 1] > gap_tol * depth))


def onset_velocity(opens_at, lo, hi, rel=0.03):
    """Bisect (geometrically) on v_s [m/s] for the onset: the largest v_s at which ``opens_at(v_s)`` is False.
    ``lo`` must not open and ``hi`` must (checked; ValueError otherwise). Returns (lo, hi) with hi / lo < 1 + rel."""
    if opens_at(lo):
        raise ValueError(f"v_s = {lo:g} m/s already opens a gap: lower the bracket")
    if not opens_at(hi):
        raise ValueError(f"v_s = {hi:g} m/s opens no gap: raise the bracket")
    while hi / lo > 1 + rel:
        mid = math.sqrt(lo * hi)
        if opens_at(mid):
            hi = mid
        else:
            lo = mid
    return lo, hi


def patch_case(law, pressure_Pa, temperature_K, mats=None, scale=1.0, refine=1, depth_factor=9.0, steps=300,
               tmesh=None, **kwargs):
    """``opens_at(v_s)`` of the measurement: the window ``flat_window(scale, refine)`` (or ``tmesh``) whose patch
    (half width a = scale W/4) has an offset ramp as wide as a (:func:`patch_offset`: a profile that does not
    change with the mesh), stripped at v_s under ``pressure_Pa`` to the depth depth_factor x P a / E* (E* of
    the pair, plane strain), in ``steps`` steps (``kwargs`` to :func:`opens`). With that depth the problems at
    two pressures, two creep prefactors or two reference stresses of one Norton law are the same problem in
    units of P, P a / E* and the creep time (P / E*) / eps_dot(P): the onset is v* = l_eff eps_dot(P) with one
    l_eff for all of them (small strain, Norton creep, elastic electrolyte)."""
    mats = mats or MATS
    a = scale * W / 4
    depth = depth_factor * pressure_Pa * a / contact_modulus(mats)
    tmesh = tmesh if tmesh is not None else flat_window(scale, refine)

    def opens_at(v_s):
        return opens(tmesh, law, v_s, depth, steps=steps, pressure_Pa=pressure_Pa, temperature_K=temperature_K,
                     mats=mats, ramp=a, **kwargs)
    return opens_at


def measure(law, pressure_Pa, temperature_K, mats=None, scale=1.0, refine=1, rel=0.03, bracket=(0.01, 2.0), **kw):
    """The onset bracket (lo, hi) [m/s] of :func:`patch_case`, the bisection started at ``bracket`` x a eps_dot(P)
    (a the patch half width)."""
    v = scale * W / 4 * law.rate_per_s(pressure_Pa, temperature_K)
    opens_at = patch_case(law, pressure_Pa, temperature_K, mats, scale, refine, **kw)
    return onset_velocity(opens_at, bracket[0] * v, bracket[1] * v, rel=rel)


def _main(argv):
    """Print the table of docs/electrochem.md ("The critical stripping current of the contact window")."""
    import time

    from ecmsim.core.constants import FARADAY_C_PER_MOL
    from ecmsim.materials.creep import law_of

    omega, ell = 13.0e-6, 2e-6
    li = materials.get("Li")
    cases = [("test law", LAW, p, T, MATS, 1.0, {}) for p in (1.2e6, 2.4e6, 4.8e6, 9.6e6)]
    if "--refinement" in argv:      # the same window with 2x and 4x finer facets, and the gap criterion
        lpscl = {"electrode": li, "electrolyte": materials.get("LPSCl")}
        cases = [(f"test law, refine {r}{', gap > 2e-3 depth' if g else ''}", LAW, P, T, MATS, 1.0,
                  {"refine": r, "steps": 300 * r, "bracket": (0.05, 1.0), "gap_tol": g})
                 for g in (None, 2e-3) for r in (1, 2, 4)]
        cases += [("Li, size effect at 2 um / LPSCl, refine 2", law_of(li, ell), 3e6, 298.15, lpscl, ell / (W / 4),
                   {"refine": 2, "steps": 600, "bracket": (0.002, 0.1)})]
    elif "--test-law-only" not in argv:
        for elyte in ("LPSCl", "PLL"):
            mats = {"electrode": li, "electrolyte": materials.get(elyte)}
            cases += [(f"Li, size effect at 2 um / {elyte}", law_of(li, ell), p, 298.15, mats, ell / (W / 4), {})
                      for p in (3e6, 7e6)]
        mats = {"electrode": li, "electrolyte": materials.get("LPSCl")}
        cases += [("Li bulk law / LPSCl", law_of(li), p, 298.15, mats, ell / (W / 4), {}) for p in (3e6, 7e6)]
    for name, law, p, t, mats, scale, kw in cases:
        t0 = time.process_time()
        try:
            lo, hi = measure(law, p, t, mats, scale, **kw)
        except Exception as err:                 # a bracket that does not hold, Newton failing: say so, go on
            print(f"{name}: P = {p / 1e6:g} MPa: {type(err).__name__}: {str(err)[:200]}", flush=True)
            continue
        eps = law.rate_per_s(p, t)
        a = scale * W / 4
        i_lo, i_hi = (FARADAY_C_PER_MOL * v / omega / 10 for v in (lo, hi))     # mA/cm2
        i_mf = FARADAY_C_PER_MOL * ell * eps / omega / 10
        print(f"{name}: P = {p / 1e6:g} MPa, T = {t:g} K, a = {a * 1e6:g} um: v* = {lo:.4g} - {hi:.4g} m/s, "
              f"l_eff = v*/eps = {lo / eps * 1e6:.4g} - {hi / eps * 1e6:.4g} um (a: {a * 1e6:g} um), "
              f"i* = {i_lo:.3g} - {i_hi:.3g} mA/cm2 (mean field at l = 2 um: {i_mf:.3g}); "
              f"cpu {time.process_time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    import sys

    _main(sys.argv[1:])
