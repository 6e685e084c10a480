"""Voids that persist from cycle to cycle, and porous dead Li (ecmsim/electrochem/voids.py; docs/electrochem.md
"Voids that persist", docs/fibre_readout.md): the void height ODE against its closed forms (opens under
stripping, closes under pressure, accumulates above twice the critical current), and the same voids and
porous dead Li in the foil beside the fibre of the cell along the grating."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import SCENARIOS
from ecmsim.electrochem.voids import InterfaceVoids, porous_dead_li_thickness_m
from ecmsim.materials import get as get_material
from ecmsim.materials.creep import law_of

F = 96485.33212            # [C/mol]
OMEGA = 13.0e-6            # [m3/mol]
T = 333.15                 # [K]
P = 2.4e6                  # [Pa]
ELL = 20e-6                # [m] a supply length at which i_c(2.4 MPa) is of the order of the cycling current


def _creep_rate(p):
    """The Li record's law written out by hand (LePage et al. 2019 with the Xu et al. 2017 size effect at l):
    A exp(-Q/RT) (p / (sigma0 (L_ref/l)^m))^n."""
    s0 = 1.0e6 * (2.2e-4 / ELL) ** 0.85
    return 4.25e4 * math.exp(-37.0e3 / (8.314462618 * T)) * (p / s0) ** 6.6


def _voids():
    return InterfaceVoids(law_of(get_material("Li"), ELL), ELL, T, OMEGA)


def test_critical_stripping_current_is_the_creep_supply():
    """i_c = F l eps_dot(p) / Omega with the cited law, by hand; it grows as p^n (n = 6.6) from 3 to 7 MPa."""
    v = _voids()
    assert float(v.critical_current_A_m2(P)) == pytest.approx(F * ELL * _creep_rate(P) / OMEGA, rel=1e-12, abs=0)
    ratio = float(v.critical_current_A_m2(7e6) / v.critical_current_A_m2(3e6))
    assert ratio == pytest.approx((7 / 3) ** 6.6, rel=1e-12, abs=0)
    assert float(v.closure_velocity(-1e6)) == 0.0             # tension supplies nothing


def test_void_opens_under_stripping_and_closes_under_pressure_as_the_closed_form():
    """Strip at i = 3 i_c for t_s, then rest under the same pressure: exactly
    g(t) = (v_s - v_c) t while stripping, g(t_s) - v_c (t - t_s) at rest, closed (0) from
    t_close = t_s + g(t_s) / v_c on; the code steps with uneven dt (exact for constant rates)."""
    v = _voids()
    ic = float(v.critical_current_A_m2(P))
    i = -3.0 * ic                                             # stripping
    vs, vc = 3.0 * ic * OMEGA / F, ELL * _creep_rate(P)        # by hand
    ts = 3600.0
    t_close = ts + (vs - vc) * ts / vc                        # = 3 ts: closes after twice the stripping time
    assert t_close == pytest.approx(3 * ts, rel=1e-12, abs=0)
    times = np.concatenate([np.sort(np.random.default_rng(0).uniform(0, ts, 7)), [ts],
                            np.sort(np.random.default_rng(1).uniform(ts, 4 * ts, 9)), [4 * ts]])
    g, t_prev = np.zeros(1), 0.0
    for t in times:
        # a step ending at or before ts strips; after ts the cell rests (a step never straddles ts here)
        current = i if t <= ts else 0.0
        g = v.advance(g, current, P, t - t_prev)
        expected = (vs - vc) * t if t <= ts else max((vs - vc) * ts - vc * (t - ts), 0.0)
        assert g[0] == pytest.approx(expected, rel=1e-12, abs=1e-9 * vs * ts), t
        t_prev = t
    assert g[0] == 0.0                                        # closed under pressure
    # below the critical current nothing opens
    assert v.advance(np.zeros(1), -0.99 * ic, P, ts)[0] == 0.0
    assert v.advance(np.zeros(1), -1.01 * ic, P, ts)[0] > 0.0


@pytest.mark.parametrize("factor, grows", [(1.8, False), (2.2, True)])
def test_voids_accumulate_cycle_to_cycle_above_twice_the_critical_current(factor, grows):
    """Symmetric cycles (strip t, plate t at |i|): plating does not fill voids, creep closes them at v_c all
    cycle long, so a void grows by (v_s - 2 v_c) t per cycle if positive: above 2 i_c it accumulates
    linearly cycle by cycle, below it is back to 0 before the next strip."""
    v = _voids()
    ic = float(v.critical_current_A_m2(P))
    t = 7200.0
    vs, vc = factor * ic * OMEGA / F, ELL * _creep_rate(P)
    g = np.zeros(1)
    for n in range(1, 4):
        for k in range(4):                                     # strip in 4 steps
            g = v.advance(g, -factor * ic, P, t / 4)
        peak = g[0]
        g = v.advance(g, factor * ic, P, t)                    # plate: creep closes, plating does not fill
        per_cycle = (vs - 2 * vc) * t
        if grows:
            assert g[0] == pytest.approx(n * per_cycle, rel=1e-9, abs=0)
        else:
            assert g[0] == 0.0
            assert peak == pytest.approx((vs - vc) * t, rel=1e-9, abs=0)


R_GAS = 8.314462618        # [J/(mol K)]


def test_interface_diffusion_supplies_the_stripped_patchs_closed_form():
    """With D_i delta_i (the contact window's interface diffusion) the voids get v_d = C p B / l^2, B = D_i delta_i
    Omega / (R T), C = 4 (the sharp patch's steady state, integrated here): by hand to 1e-12, linear in p (not
    p^n), nothing under tension, added to the creep supply in i_c; D = 0 is the creep supply bit for bit. At the
    Li cell's 2.4 MPa, 60 C, l = 2 um and the shipped 1e-19 m^3/s: 0.836 mA/cm^2, above the cycling current's 0.2."""
    from patch_steady import steady_patch_constant

    from ecmsim.electrochem.voids import DIFFUSION_PATCH_CONSTANT

    sharp = steady_patch_constant(lambda x: (x < 1.0).astype(float))      # a patch of half width 1, sharp edge
    assert sharp == pytest.approx(DIFFUSION_PATCH_CONSTANT, rel=1e-4, abs=0)
    D = 1e-19
    law = law_of(get_material("Li"), ELL)
    v = InterfaceVoids(law, ELL, T, OMEGA, 0.0, D)
    by_hand = 4.0 * P * D * OMEGA / (R_GAS * T) / ELL ** 2
    assert float(v.diffusion_velocity(P)) == pytest.approx(by_hand, rel=1e-12, abs=0)
    assert float(v.diffusion_velocity(7e6) / v.diffusion_velocity(3e6)) == pytest.approx(7 / 3, rel=1e-12, abs=0)
    assert float(v.diffusion_velocity(-1e6)) == 0.0
    assert float(v.critical_current_A_m2(P)) == pytest.approx(F * (by_hand + ELL * _creep_rate(P)) / OMEGA,
                                                              rel=1e-12, abs=0)
    plain = InterfaceVoids(law, ELL, T, OMEGA)
    assert float(InterfaceVoids(law, ELL, T, OMEGA, 0.0, 0.0).supply_velocity(P)) == float(plain.supply_velocity(P))
    ell, T60 = 2e-6, 333.15
    li = InterfaceVoids.of_electrode(get_material("Li"), ell, T60, diffusion_m3_s=D)
    ic = float(li.critical_current_A_m2(P))
    assert ic == pytest.approx(F * 4.0 * P * D / (R_GAS * T60 * ell ** 2), rel=1e-6, abs=0)   # creep: 1e-7 of it
    assert 8.3 < ic < 8.4


def test_interface_diffusion_keeps_voids_shut_below_its_critical_current_and_opens_them_above():
    """No creep, diffusion only: stripping at 0.9 i_c for 2 h opens nothing; at 1.5 i_c the void grows at
    exactly v_s - v_d = 0.5 v_d (1e-12); after it, resting under p closes it at v_d: shut after half the
    stripping time. Voids accumulate over symmetric cycles above 2 i_c only, as with creep."""
    v = InterfaceVoids(None, ELL, T, OMEGA, 0.0, 1e-19)
    ic = float(v.critical_current_A_m2(P))
    vd = float(v.diffusion_velocity(P))
    g = np.zeros(1)
    for _ in range(12):
        g = v.advance(g, -0.9 * ic, P, 600.0)
    assert g[0] == 0.0
    g = v.advance(np.zeros(1), -1.5 * ic, P, 3600.0)
    assert g[0] == pytest.approx(0.5 * vd * 3600.0, rel=1e-12, abs=0)
    assert v.advance(g, 0.0, P, 0.99 * 1800.0)[0] > 0.0 and v.advance(g, 0.0, P, 1.01 * 1800.0)[0] == 0.0
    for factor, grows in ((1.8, False), (2.2, True)):
        g = np.zeros(1)
        for _ in range(2):
            g = v.advance(v.advance(g, -factor * ic, P, 3600.0), factor * ic, P, 3600.0)
        assert (g[0] > 0.0) == grows
        if grows:
            assert g[0] == pytest.approx(2 * (factor - 2.0) * vd * 3600.0, rel=1e-9, abs=0)


def test_porous_dead_li_occupies_more_than_dense():
    """h_d / (1 - phi): 1 um dense-equivalent at phi = 0.5 takes 2 um; phi = 0 is the dense count; phi >= 1
    refused."""
    assert float(porous_dead_li_thickness_m(1e-6, 0.5)) == pytest.approx(2e-6, rel=1e-12, abs=0)
    assert float(porous_dead_li_thickness_m(1e-6, 0.0)) == 1e-6
    with pytest.raises(ValueError):
        porous_dead_li_thickness_m(1e-6, 1.0)


# ---- the cell along the grating ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def li_cell():
    from ecmsim import scenario
    from ecmsim.fibre.model import cell_model

    return cell_model(scenario.load(SCENARIOS / "fbg_cell_li.toml"))


def _window(currents, dts, dead_fraction=0.0, facets=20):
    """A uniform cycling window: per step the current (+ plating) and its length; deposit = the
    cumulative i Omega/F dt, dead Li = dead_fraction of every plated increment (rows as profile_rows)."""
    from ecmsim.fibre.readout import WindowHistory

    rows, t, dep, dead = [], 0.0, 0.0, 0.0
    x = np.linspace(0.0, 40e-6, facets)
    for k, (i, dt) in enumerate(zip([0.0] + list(currents), [0.0] + list(dts))):
        t += dt
        dh = i * OMEGA / F * dt
        dep += dh
        dead += dead_fraction * max(dh, 0.0)
        for xx in x:
            rows.append([k, t, xx, 0.0, i, -P, dep, dead, 1.0, 2e-6, 0.0])
    return WindowHistory.from_rows(np.array(rows))


def _compute(cell, window, **options):
    from ecmsim.fibre.readout import ReadoutOptions, _compute_cell
    return _compute_cell(window, cell, P, ReadoutOptions(sections=2, creep=False, **options), T,
                         lambda *_: None, optics=False)


def test_grating_voids_open_beside_the_fibre_and_close_under_the_foil_pressure(li_cell):
    """The must-show case in the cell: strip at 3 i_c for 1 h, then rest 4 h under the plunger. Far from the
    fibre (the plate rests on the flat foil at the stack pressure) the void height after the first step is the
    closed form (v_s c - v_c) t with the held state's far-field share c (1e-9); it opens, then closes under
    the pressure within the rest. Just beside the fibre, where the membrane bridges from the fibre to its
    landing on the foil (no ionic contact), no current flows and no void grows. Every step keeps force balance
    (1e-8)."""
    v = _voids()
    ic = float(v.critical_current_A_m2(P))
    currents, dts = [-3 * ic] * 4 + [0.0] * 8, [900.0] * 4 + [1800.0] * 8
    out = _compute(li_cell, _window(currents, dts), voids=v)
    assert out.force_balance_error < 1e-8
    from ecmsim.fibre.grating import GratingCell
    grating = GratingCell(li_cell, P, 2, out_hold(li_cell), creep=False)
    x, field = out.plate_x_m, out.void_field_m
    vs, vc = 3 * ic * OMEGA / F, ELL * _creep_rate(P)
    far = len(x) - 1
    c_far = grating.crowding[far]            # the held state's far-field share: the bridge's current spread
    assert 1.0 < c_far < 1.0 + 1e-3 / x[-1]
    assert field[1, 0, far] == pytest.approx((vs * c_far - vc) * 900.0, rel=1e-9, abs=0)
    assert field[-1, 0, far] == 0.0 and field[4, 0, far] > 0.0          # opened, then closed
    near = np.flatnonzero(x > grating.footprint_m)[2]                     # beside the fibre, under the bridge
    assert x[near] < min(pl.landing_m for pl in grating.plate(np.zeros(2), 0.0))
    assert np.all(field[:, :, x < x[near] + 0.3e-3] == 0.0)      # no ionic contact under the bridge: no current


def test_grating_voids_keep_the_sections_charge(li_cell):
    """No creep (voids never close), stripping at 3 i_c for 2 h: the current follows the plate's contact, yet
    every section's void volume is its stripped charge, W v_s t, at every step (1e-12), and none grows under
    the bridge; the crowding puts the deepest void beyond the landing, deeper than the mean."""
    v = InterfaceVoids(None, ELL, T)
    ic = float(_voids().critical_current_A_m2(P))
    out = _compute(li_cell, _window([-3 * ic] * 8, [900.0] * 8), voids=v)
    x, field = out.plate_x_m, out.void_field_m
    w = np.full(len(x), x[1] - x[0])
    w[[0, -1]] *= 0.5
    vs = 3 * ic * OMEGA / F
    for k in range(9):
        np.testing.assert_allclose(field[k] @ w, x[-1] * vs * 900.0 * k, rtol=1e-12, atol=1e-12 * x[-1] * vs)
    assert np.all(field[:, :, x < 0.5e-3] == 0.0)
    assert field[-1].max() > 1.3 * vs * 7200.0                     # measured 1.61


def test_grating_voids_accumulate_and_the_fibre_load_does_not_return(li_cell):
    """Two symmetric cycles at 3 i_c (above 2 i_c): the void beside the fibre grows cycle by cycle, so the
    foil stays higher than the dense count after each strip and the fibre's load after cycle 2 differs from
    cycle 1's and from the start (by > 1 %); without voids (the same window, the current following the plate's
    contact of the step before) it returns to its start (1e-6)."""
    v = _voids()
    ic = float(v.critical_current_A_m2(P))
    cyc = [3 * ic] * 4 + [-3 * ic] * 4
    window = _window(cyc * 2, [900.0] * 16)
    plain = _compute(li_cell, window)
    np.testing.assert_allclose(plain.loads_N_per_m[-1], plain.loads_N_per_m[0], rtol=1e-6)
    np.testing.assert_allclose(plain.loads_N_per_m[8], plain.loads_N_per_m[0], rtol=1e-6)
    out = _compute(li_cell, window, voids=v)
    v1, v2 = out.voids_m[8].mean(), out.voids_m[16].mean()
    assert v1 > 0.0 and v2 > 1.5 * v1
    load0, load1, load2 = (out.loads_N_per_m[k].mean() for k in (0, 8, 16))
    assert min(abs(load1 / load0 - 1.0), abs(load2 / load0 - 1.0), abs(load2 / load1 - 1.0)) > 0.01


def test_grating_with_interface_diffusion_opens_no_void_where_creep_alone_accumulates(li_cell):
    """The window of test_grating_voids_accumulate_...: two symmetric cycles at 3 i_c of the creep supply, where
    Li's voids accumulate (12 um beyond the landing after two cycles) and the load does not return. With Li
    diffusing along the interface at a D_i delta_i whose supply at the stack pressure is 10 times that current, no
    void opens anywhere at any time (the touching membrane before the landing presses too, GratingCell.
    creep_pressure) and the fibre's load returns to its start (1e-6) as without voids; at a twentieth of that
    D_i delta_i (the supply half the current) the far field's voids accumulate again (measured 2.5 -> 3.4 um) and
    the load does not return (> 1 %)."""
    v = _voids()
    ic = float(v.critical_current_A_m2(P))
    per_unit = float(InterfaceVoids(None, ELL, T, OMEGA, 0.0, 1.0).critical_current_A_m2(P))   # i_c,d per m^3/s
    window = _window(([3 * ic] * 4 + [-3 * ic] * 4) * 2, [900.0] * 16)
    strong = _compute(li_cell, window, voids=InterfaceVoids(v.law, ELL, T, OMEGA, 0.0, 30 * ic / per_unit))
    assert strong.force_balance_error < 1e-8 and strong.void_field_m.max() == 0.0
    np.testing.assert_allclose(strong.loads_N_per_m[-1], strong.loads_N_per_m[0], rtol=1e-6)
    weak = _compute(li_cell, window, voids=InterfaceVoids(v.law, ELL, T, OMEGA, 0.0, 1.5 * ic / per_unit))
    far = weak.plate_x_m > 1.2e-3
    assert weak.void_field_m[16][:, far].max() > 1.2 * weak.void_field_m[8][:, far].max() > 0.0
    assert abs(weak.loads_N_per_m[16].mean() / weak.loads_N_per_m[0].mean() - 1.0) > 0.01


def test_grating_porous_dead_li_raises_the_foil_by_h_phi_over_1_minus_phi(li_cell):
    """Plating only, 10 % dead: with porosity phi the section's fibre load equals that of a dense deposit
    of (net + dead phi/(1 - phi)) beside the fibre, plated by a current larger by that ratio (1e-12), and
    differs from the dense count."""
    window = _window([2.0] * 4, [1800.0] * 4, dead_fraction=0.1)
    out = _compute(li_cell, window, dead_li_porosity=0.5)
    plated = 2.0 * OMEGA / F * 7200.0
    expected = plated + 0.1 * plated * 0.5 / 0.5
    ref = _compute(li_cell, _window([2.0 * expected / plated] * 4, [1800.0] * 4)).loads_N_per_m[-1, 0]
    assert out.loads_N_per_m[-1, 0] == pytest.approx(ref, rel=1e-12, abs=0)
    assert out.extra_metrics["fbg_readout_dead_li_swell_final_m"] == pytest.approx(0.1 * plated, rel=1e-9, abs=0)
    dense = _compute(li_cell, window)
    assert abs(dense.loads_N_per_m[-1, 0] - ref) > 1e-3 * ref * 1e-3


def out_hold(cell) -> float:
    return cell.scn.protocol.build().duration_s if cell.scn.protocol is not None else 0.0


def test_creep_pressure_keeps_the_plates_force(li_cell):
    """The pressure that closes the foil's voids: under the bridge from the fibre to the landing none, except where
    the membrane still touches (ionic contact, gap g within delta_c = p t_m / E_m): p (1 - g / delta_c) there; the
    stack pressure far away, and the rest of the landing's line load beside it, so that its integral is p W - f/2
    (the plate's force on the foil, to one node's share p h of the node sum) for a flat foil and for a stripped
    one. The held Li cell has such a touching zone before its landing (0.60 against 0.82 mm)."""
    from ecmsim.fibre.grating import GratingCell

    grating = GratingCell(li_cell, P, 2, out_hold(li_cell), creep=False)
    x = grating.x_m
    h = x[1] - x[0]
    plates = grating.plate(np.array([0.0, -2e-6]), 0.0)
    for pl, p in zip(plates, grating.creep_pressure(plates)):
        force = P * grating.half_width_m - 0.5 * pl.fibre_load_N_per_m
        assert np.sum(p) * h == pytest.approx(force, rel=0, abs=1.5 * P * h)
        before = x < pl.landing_m
        touching = grating.ionic_contact(pl) & before
        gap = pl.deflection_m - pl.foundation_m
        assert touching.sum() >= 5 and p[-1] == P
        np.testing.assert_allclose(p[touching], P * (1.0 - np.maximum(gap[touching], 0.0) / grating.contact_gap_m),
                                   rtol=1e-12, atol=0)
        assert np.all(p[before & ~touching] == 0.0)
    # the read-out passes the contact it has already taken for the current share: the same pressure
    given = grating.creep_pressure(plates, np.array([grating.ionic_contact(pl) for pl in plates]))
    assert np.array_equal(given, grating.creep_pressure(plates))
    assert not np.array_equal(grating.creep_pressure(plates, np.zeros_like(given, dtype=bool)), given)


# ---- the Li-Sn skeleton's supply ------------------------------------------------------------------------------------

I_N = 300.0                # [A/m2] the LiSn record's skeleton_network_current_A_m2: 30 mA/cm2 (Wan et al. 2020)


def test_lisn_record_carries_the_skeleton_supply_and_li_none():
    """The LiSn record's skeleton supply is Wan et al.'s demonstrated 30 mA/cm2 (with its source); Li has none, and
    its voids are the creep supply alone: the same numbers as before the skeleton, bit for bit."""
    from ecmsim.electrochem.voids import network_current_A_m2

    lisn, li = get_material("LiSn"), get_material("Li")
    assert network_current_A_m2(lisn) == I_N and "Wan et al." in lisn.sources["skeleton_network_current_A_m2"]
    assert network_current_A_m2(li) == 0.0
    v = InterfaceVoids.of_electrode(li, ELL, T)
    assert v.network_current_A_m2 == 0.0
    p = np.array([0.0, 1e6, P, 7e6])
    assert np.array_equal(v.supply_velocity(p), v.closure_velocity(p))
    g = np.array([0.0, 1e-7, 3e-6])
    i = np.array([-5.0, -0.01, 2.0])
    by_hand = np.maximum(g + (np.maximum(-i, 0.0) * OMEGA / F - ELL * _creep_rate(P)) * 600.0, 0.0)
    np.testing.assert_allclose(v.advance(g, i, P, 600.0), by_hand, rtol=1e-12, atol=0)
    assert float(InterfaceVoids.of_electrode(lisn, ELL, T).critical_current_A_m2(P)) == pytest.approx(
        float(v.critical_current_A_m2(P)) + I_N, rel=1e-12, abs=0)


def test_skeleton_supply_opens_no_void_at_the_cycling_current_and_one_above_its_bound():
    """With the skeleton's supply i_n and no creep: at 0.2 mA/cm2 (2 A/m2, crowded 1.7x) the stripping flux is
    below the supply, v_s < v_n, and no void opens in 2 h; at 1.5 i_n a void opens at exactly
    (1.5 i_n - i_n) Omega / F (1e-12); with creep on top, i_c = i_n + F l eps_dot(p) / Omega."""
    v = InterfaceVoids(None, ELL, T, OMEGA, I_N)
    assert v.network_velocity() == pytest.approx(I_N * OMEGA / F, rel=1e-12, abs=0)
    assert float(v.stripping_velocity(-2.0 * 1.7)) < v.network_velocity()
    g = np.zeros(3)
    for _ in range(12):
        g = v.advance(g, np.array([-2.0, -3.4, -0.2 * I_N]), P, 600.0)
    assert np.all(g == 0.0)
    g = v.advance(np.zeros(1), -1.5 * I_N, P, 3600.0)
    assert float(g[0]) == pytest.approx(0.5 * I_N * OMEGA / F * 3600.0, rel=1e-12, abs=0)
    both = InterfaceVoids(law_of(get_material("Li"), ELL), ELL, T, OMEGA, I_N)
    assert float(both.critical_current_A_m2(P)) == pytest.approx(I_N + F * ELL * _creep_rate(P) / OMEGA,
                                                                 rel=1e-12, abs=0)


def test_grating_with_the_skeleton_opens_no_void_and_returns_where_li_accumulates(li_cell):
    """The window of test_grating_voids_accumulate_...: two symmetric cycles at 3 i_c of the creep supply (above
    2 i_c: Li's voids accumulate, its fibre load does not return, > 1 %). The same foil with the skeleton (its
    supply i_n = 300 A/m2 >> 3 i_c, the deposit spread over t_f = 100 um): no void opens and every step keeps
    force balance (1e-8). Its load returns to its start up to the staggered contact's step error: the spread
    deposit reaches under the bridge and moves the landing, so the current of a step (the contact of the step
    before) differs between plating and stripping; 4x finer steps cut the miss after two cycles by > 4x
    (measured 3.2 % -> 0.40 %: first order or better), towards a return."""
    v = _voids()
    ic = float(v.critical_current_A_m2(P))
    lisn = InterfaceVoids(v.law, ELL, T, OMEGA, I_N)
    miss = []
    for n in (4, 16):
        window = _window(([3 * ic] * n + [-3 * ic] * n) * 2, [3600.0 / n] * (4 * n))
        out = _compute(li_cell, window, voids=lisn, bulk_supply=True)
        assert out.force_balance_error < 1e-8
        assert out.void_field_m.max() == 0.0
        miss.append(abs(out.loads_N_per_m[-1].mean() / out.loads_N_per_m[0].mean() - 1.0))
    assert miss[1] < 0.25 * miss[0] and miss[1] < 5e-3
    assert out.extra_metrics["fbg_readout_bulk_supply_spreading_m"] == pytest.approx(100e-6, rel=1e-12, abs=0)
    li = _compute(li_cell, _window(([3 * ic] * 4 + [-3 * ic] * 4) * 2, [900.0] * 16), voids=v)
    assert li.void_field_m.max() > 0.0 and abs(li.loads_N_per_m[16].mean() / li.loads_N_per_m[0].mean() - 1) > 0.01


def test_standalone_readout_takes_the_skeleton_from_the_runs_electrode(tmp_path):
    """``ecmsim readout`` of a finished run rebuilds the run's own read-out: from summary.json's electrode, LiSn
    gives the voids the network's supply and switches the spreading on (i_n > 0), Li neither; a contact window's
    interface diffusion gives them its supply; a summary without an electrode has neither."""
    from ecmsim.run.readout import _interface_memory

    def summary(electrode):
        return {"scenario": {"materials": {"electrode": electrode}, "loading": {"temperature_K": T},
                             "cycling": {"persistent_voids": True, "dead_li_porosity": 0.5,
                                         "deposition_layer_thickness_m": 10e-6},
                             "creep": {"characteristic_length_m": ELL}}}
    voids, porosity, network = _interface_memory(summary("LiSn"), tmp_path)
    assert network == I_N and voids.network_current_A_m2 == I_N and porosity == 0.5
    voids, _, network = _interface_memory(summary("Li"), tmp_path)
    assert network == 0.0 and voids.network_current_A_m2 == 0.0 and voids.diffusion_m3_s == 0.0
    assert float(voids.critical_current_A_m2(P)) == pytest.approx(F * ELL * _creep_rate(P) / OMEGA, rel=1e-12, abs=0)
    contact = summary("Li")                       # a contact window's run: its interface diffusion feeds the voids
    contact["scenario"]["cycling"]["interface_diffusion_m3_s"] = 1e-19
    voids, _, _ = _interface_memory(contact, tmp_path)
    assert voids.diffusion_m3_s == 1e-19
    assert float(voids.critical_current_A_m2(P)) == pytest.approx(
        F * ELL * _creep_rate(P) / OMEGA + F * 4.0 * P * 1e-19 / (R_GAS * T * ELL ** 2), rel=1e-12, abs=0)
    assert _interface_memory({}, tmp_path) == (None, 0.0, 0.0)


# ---- the scenario key cycling.void_diffusion_m3_s --------------------------------------------------------------

def test_void_diffusion_key_defaults_to_the_windows_and_needs_voids(tmp_path):
    """``cycling.void_diffusion_m3_s``: unset, the voids take the contact window's interface_diffusion_m3_s (0 on a
    bonded window) and the input hash is what it was before the key; set on the bonded Li read-out, it is recorded;
    without voids to supply, or out of range, one line naming the file and the key."""
    from conftest import assert_one_line_error, run_cli

    from ecmsim.run.readout import _interface_memory
    from ecmsim.scenario import load

    bonded = load(SCENARIOS / "cycling_li_pll_fbg.toml")
    assert bonded.cycling.void_diffusion_m3_s is None and "void_diffusion_m3_s" not in bonded.to_dict()["cycling"]
    set_ = load(SCENARIOS / "cycling_li_pll_fbg.toml", ["cycling.void_diffusion_m3_s=1e-19"])
    assert set_.to_dict()["cycling"]["void_diffusion_m3_s"] == 1e-19 and set_.input_hash() != bonded.input_hash()
    voids, _, _ = _interface_memory({"scenario": set_.to_dict()}, tmp_path)     # the standalone read-out takes it
    assert voids.diffusion_m3_s == 1e-19
    contact = load(SCENARIOS / "cycling_li_pll_fbg_contact.toml")
    voids, _, _ = _interface_memory({"scenario": contact.to_dict()}, tmp_path)   # default: the window's
    assert voids.diffusion_m3_s == contact.cycling.interface_diffusion_m3_s == 1e-19
    off = load(SCENARIOS / "cycling_li_pll_fbg_contact.toml", ["cycling.void_diffusion_m3_s=0"])
    assert _interface_memory({"scenario": off.to_dict()}, tmp_path)[0].diffusion_m3_s == 0.0
    scn = SCENARIOS / "cycling_li_pll_fbg.toml"
    for setting, fragments in (("cycling.persistent_voids=false", ("void_diffusion_m3_s", "persistent_voids")),
                               ("cycling.void_diffusion_m3_s=-1", ("void_diffusion_m3_s",))):
        extra = ["--set", "cycling.void_diffusion_m3_s=1e-19"] if "persistent" in setting else []
        proc = run_cli("run", str(scn), "-o", str(tmp_path / "out"), *extra, "--set", setting)
        assert_one_line_error(proc, "cycling_li_pll_fbg.toml", *fragments)
