"""Voids on stripping (ecmsim/electrochem/cycling.py item 6, docs/electrochem.md "Voids on stripping"):
the critical stripping current, the self-limiting contact fraction of the mean field, closure under
pressure, against their closed forms and by hand; the Li-Sn skeleton's supply i_n in the window's voids
(the read-out's law, docs/electrochem.md "The Li-Sn skeleton's supply")."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from conftest import read_summary, run_cli
from ecmsim.core.constants import FARADAY_C_PER_MOL
from ecmsim.electrochem.cycling import CyclingProblem
from ecmsim.electrochem.voids import InterfaceVoids
from ecmsim.materials import get
from ecmsim.materials.creep import law_of

OMEGA = 13.0e-6
T = 333.15
P = 2.4e6
#: the LiSn record's skeleton supply [A/m2] (Wan et al. 2020, docs/electrochem.md), written out
I_N = 300.0


def _interface(n=400, supply_m=20e-6, pressure=P, electrode="Li", creep=True):
    """The void state of a CyclingProblem without a window: n equal facets at one compressive stress, with
    the supply of the electrode's record (its Norton law at the supply length, its skeleton: Li none,
    LiSn i_n), as the run builds it (ecmsim/run/stages/electrochem.py)."""
    c = object.__new__(CyclingProblem)
    c.length = np.full(n, 1e-7)
    c.x = np.arange(n) * 1e-7
    c.gap = np.zeros(n)
    c.normal_stress = np.full(n, -pressure)
    c.omega = OMEGA
    c.void_supply = InterfaceVoids.of_electrode(get(electrode), supply_m, T, creep)
    return c


def _creep_velocity(p, supply_m=20e-6):
    """v_c = l eps_dot(p) [m/s] by hand: the Li law (LiSn has the Li matrix's) at the supply length."""
    law = law_of(get("Li"), supply_m)
    return supply_m * law.rate_factor_per_s(T) * (p / law.reference_stress_Pa) ** 6.6


def test_critical_stripping_current_is_the_creep_supply():
    """i_c = F l eps_dot(p) / Omega, with eps_dot the Li law at the supply length (size effect):
    by hand for l = 20 um at 2.4 MPa and 60 C, and its steep rise with pressure (n = 6.6)."""
    c = _interface()
    law = law_of(get("Li"), 20e-6)
    by_hand = FARADAY_C_PER_MOL * 20e-6 * law.rate_factor_per_s(T) * (P / law.reference_stress_Pa) ** 6.6 / OMEGA
    assert c.critical_stripping_current_A_m2(P) == pytest.approx(by_hand, rel=1e-12, abs=0)
    assert c.critical_stripping_current_A_m2(2 * P) / c.critical_stripping_current_A_m2(P) == \
        pytest.approx(2 ** 6.6, rel=1e-12, abs=0)


def test_below_the_critical_current_nothing_opens():
    c = _interface()
    v_s = 0.5 * c.critical_stripping_current_A_m2(P) * OMEGA / FARADAY_C_PER_MOL
    assert np.all(c._void_step(np.full(400, v_s), 600.0) == 0.0)


@pytest.mark.parametrize("ratio", [3.0, 30.0, 3000.0])
def test_above_it_the_contact_fraction_limits_itself(ratio):
    """Stripping at ratio x i_c through equal facets: the contacts that stay carry the load (p/c) and
    creep feeds them faster; in the mean field the closed facets' supply l eps_dot(p/c) balances the
    stripping velocity v_s at c* = (1/ratio)^(1/n) (to one facet of 400). The facets that open are the
    balanced ones: their void starts at (v_s - v_c(p/c*)) dt, close to zero."""
    c = _interface()
    v_s = ratio * c.critical_stripping_current_A_m2(P) * OMEGA / FARADAY_C_PER_MOL
    gap = c._void_step(np.full(400, v_s), 600.0)
    c_star = (1.0 / ratio) ** (1.0 / 6.6)
    assert c.contact_fraction(gap) == pytest.approx(c_star, abs=1.5 / 400)
    opened = gap[gap > 0]
    assert opened.size and np.all(opened < 1e-3 * v_s * 600.0)


def test_pressure_closes_an_open_void_with_the_contacts_surplus():
    """A rest step: a void of 1 um at one facet, the 399 others in contact at p. Creep brings
    l eps_dot(p/c) to each contact (c = 399/400); with no stripping all of it spreads into the one void:
    it shrinks by 399 v_c dt, to zero when that exceeds it. No supply (creep disabled): it stays."""
    c = _interface()
    c.gap[7] = 1e-6
    v_c = float(c.supply_velocity(np.array([P]), 399 / 400)[0])
    dt = 0.5e-6 / (399 * v_c)
    gap = c._void_step(np.zeros(400), dt)
    assert gap[7] == pytest.approx(0.5e-6, rel=1e-9, abs=0) and np.count_nonzero(gap) == 1
    assert np.all(c._void_step(np.zeros(400), 3 * dt) == 0.0)
    c.void_supply = dataclasses.replace(c.void_supply, law=None)
    assert c._void_step(np.zeros(400), 3 * dt)[7] == 1e-6


def _strip(pressure, strip_s=7200.0, steps=72, ratio=30.0):
    c = _interface(pressure=pressure)
    v_s = ratio * _interface().critical_stripping_current_A_m2(P) * OMEGA / FARADAY_C_PER_MOL
    for _ in range(steps):
        open_ = c.gap > 0                    # open facets pass no current: the rest share it
        share = v_s * c.length.sum() / max(float(np.dot(~open_, c.length)), 1e-300)
        c.gap = c._void_step(np.where(open_, 0.0, share), strip_s / steps)
    return c, v_s


def test_a_strip_keeps_the_contact_fraction_and_rest_closes_the_voids():
    """Strip for 2 h at 30 i_c(2.4 MPa) in 100 s steps: the contact fraction stays near c* (the open
    facets pass their current to the rest, so the balance is c* of the *shared* current). The voids are
    shallow (the mean field opens the balanced facets: nm, not the um of the stripped depth) and the
    contacts' surplus closes them in the first second of rest: in this model voids do not persist
    (docs/electrochem.md, limits). At 4x the pressure creep outruns the same strip: nothing opens
    (i_c grows 4^6.6 = 9400x)."""
    c, v_s = _strip(P)
    assert 0.3 < c.contact_fraction() < 0.8
    assert 0 < c.gap.max() < 1e-3 * v_s * 7200
    c.gap = c._void_step(np.zeros(400), 1.0)
    assert c.contact_fraction() == 1.0
    hi, _ = _strip(4 * P)
    assert hi.contact_fraction() == 1.0 and not hi.gap.any()


# -- the Li-Sn skeleton's supply in the window (one law with the read-out's voids) ----------------------------

def test_lisn_critical_current_is_the_creep_supply_plus_the_skeleton():
    """i_c = F (l eps_dot(p) + v_n) / Omega = i_c,creep + i_n: by hand for LiSn at 2.4 and 7 MPa; Li's has no
    skeleton term (the same number as test_critical_stripping_current_is_the_creep_supply)."""
    li, lisn = _interface(), _interface(electrode="LiSn")
    assert lisn.void_supply.network_current_A_m2 == I_N
    for p in (P, 7e6):
        creep_part = FARADAY_C_PER_MOL * _creep_velocity(p) / OMEGA
        assert lisn.critical_stripping_current_A_m2(p) == pytest.approx(creep_part + I_N, rel=1e-12, abs=0)
        assert li.critical_stripping_current_A_m2(p) == pytest.approx(creep_part, rel=1e-12, abs=0)
    assert _interface(electrode="LiSn", creep=False).critical_stripping_current_A_m2(P) == I_N


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9])
def test_lisn_stripping_below_the_skeleton_supply_opens_no_void_where_li_does(fraction):
    """Stripping at fraction x i_n (150 A/m2 at 0.5, some 30 x Li's i_c at l = 20 um, 2.4 MPa) through equal
    facets: Li loses contact (c < 1, voids open), the same window of LiSn keeps every facet closed, in one step
    and over 2 h of 100 s steps with the open facets' current shared by the rest."""
    v_s = fraction * I_N * OMEGA / FARADAY_C_PER_MOL
    li, lisn = _interface(), _interface(electrode="LiSn")
    assert li.contact_fraction(li._void_step(np.full(400, v_s), 600.0)) < 1.0
    assert np.all(lisn._void_step(np.full(400, v_s), 600.0) == 0.0)
    for c in (li, lisn):
        for _ in range(72):
            open_ = c.gap > 0
            share = v_s * c.length.sum() / max(float(np.dot(~open_, c.length)), 1e-300)
            c.gap = c._void_step(np.where(open_, 0.0, share), 100.0)
    assert li.contact_fraction() < 0.9 and li.gap.max() > 0.0
    assert lisn.contact_fraction() == 1.0 and not lisn.gap.any()


@pytest.mark.parametrize("electrode", ["Li", "LiSn"])
def test_above_the_critical_current_a_void_opens_at_v_s_minus_v_c_minus_v_n(electrode):
    """One facet of 400 strips at i_n + 3 i_c,creep for 600 s, the rest are at rest: it opens and the other
    399 stay in contact (c = 399/400, their load on 399 facets), so its void is exactly
    (v_s - l eps_dot(p / c) - v_n) dt, with eps_dot and v_n = i_n Omega / F written out (v_n = 0 for Li), 1e-9.
    Without creep (all facets at 1.5 i_n, every one opens): (v_s - v_n) dt."""
    v_n = I_N * OMEGA / FARADAY_C_PER_MOL if electrode == "LiSn" else 0.0
    v_c = _creep_velocity(P * 400 / 399)
    v_s = (I_N * OMEGA / FARADAY_C_PER_MOL) + 3 * _creep_velocity(P)
    c = _interface(electrode=electrode)
    stripping = np.zeros(400)
    stripping[0] = v_s
    gap = c._void_step(stripping, 600.0)
    assert v_s - v_c - v_n > 0.5 * _creep_velocity(P)       # well above the critical current, for both
    assert gap[0] == pytest.approx((v_s - v_c - v_n) * 600.0, rel=1e-9, abs=0)
    assert np.count_nonzero(gap) == 1
    bare = _interface(electrode=electrode, creep=False)
    v_s = 1.5 * I_N * OMEGA / FARADAY_C_PER_MOL
    np.testing.assert_allclose(bare._void_step(np.full(400, v_s), 600.0), (v_s - v_n) * 600.0, rtol=1e-12, atol=0)


@pytest.mark.parametrize("ratio", [3.0, 30.0])
def test_the_skeleton_supply_is_per_unit_contact_and_does_not_grow_as_contact_falls(ratio):
    """LiSn stripping at i_n + ratio x i_c,creep through equal facets settles at the same contact fraction as Li
    at ratio x i_c,creep, c* = (1/ratio)^(1/n): the closed facets balance v_s = v_c(p/c) + v_n, v_n not scaled
    by 1/c (docs/electrochem.md: the skeleton's supply is per unit area of contact; a supply v_n/c would hold
    LiSn at c = 0.96 for ratio 3)."""
    i_c = FARADAY_C_PER_MOL * _creep_velocity(P) / OMEGA
    c_star = (1.0 / ratio) ** (1.0 / 6.6)
    for electrode, i in (("Li", ratio * i_c), ("LiSn", I_N + ratio * i_c)):
        c = _interface(electrode=electrode)
        gap = c._void_step(np.full(400, i * OMEGA / FARADAY_C_PER_MOL), 600.0)
        assert c.contact_fraction(gap) == pytest.approx(c_star, abs=1.5 / 400), electrode


def test_rest_without_creep_the_skeleton_closes_a_void():
    """Creep off: a void of 1 um at one facet, 399 in contact. Li: nothing closes it. LiSn: each contact gets
    v_n and, not stripping, passes it on into the void (as creep's surplus): it shrinks by 399 v_n dt."""
    v_n = I_N * OMEGA / FARADAY_C_PER_MOL
    dt = 0.5e-6 / (399 * v_n)
    for electrode, left in (("Li", 1e-6), ("LiSn", 0.5e-6)):
        c = _interface(electrode=electrode, creep=False)
        c.gap[7] = 1e-6
        gap = c._void_step(np.zeros(400), dt)
        assert gap[7] == pytest.approx(left, rel=1e-9, abs=0) and np.count_nonzero(gap) == 1


def _lisn_window() -> str:
    """tests/test_cycling.py's window (40 um sinusoidal, plate 10 min, rest 5 min, strip 10 min at 0.2 mA/cm2)
    in LiSn, with creep (l = 10 um: Li's i_c,creep = 0.047 A/m2, 1/40 of the current) and voids on."""
    from test_cycling import SCENARIO

    text = SCENARIO.format(f_irr=0.0, cycles=1, extra="")
    for old, new in (('electrode = "Li"', 'electrode = "LiSn"'), ("enabled = false", "characteristic_length_m = 10e-6"),
                     ("irreversible_fraction = 0.0", "irreversible_fraction = 0.0\ninterface_voids = true")):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def test_a_lisn_window_run_writes_the_critical_current_with_the_skeleton(tmp_path):
    """A LiSn window with interface_voids stripping at 0.2 mA/cm2 (40 x Li's creep-only i_c at l = 10 um, far
    below i_n): summary.json's critical_stripping_current_A_m2 is i_c,creep + i_n (by hand, 1e-12), the run
    says so on its progress line, and no facet loses contact (interface_contact_fraction_min = 1)."""
    path = tmp_path / "lisn.toml"
    path.write_text(_lisn_window())
    proc = run_cli("run", str(path), "-o", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    m = read_summary(tmp_path / "out")["metrics"]
    by_hand = FARADAY_C_PER_MOL * _creep_velocity(P, 10e-6) / OMEGA + I_N
    assert m["critical_stripping_current_A_m2"] == pytest.approx(by_hand, rel=1e-12, abs=0)
    assert m["interface_contact_fraction_min"] == 1.0 and m["void_thickness_max_m"] == 0.0
    assert "and the skeleton 30 mA/cm2" in proc.stdout + proc.stderr


def test_a_li_window_run_takes_the_voids_diffusion_supply(tmp_path):
    """The same window in Li with ``cycling.void_diffusion_m3_s`` set so that Li diffusing along the interface
    supplies 10 x the stripping current at the stack pressure: summary.json's critical_stripping_current_A_m2 is
    i_c,creep + F 4 P B / (Omega l^2) (by hand, 1e-12), the progress line names the diffusion, and no void opens
    (with creep alone, 1/40 of the current, voids open over 59 % of this window's interface: contact fraction 0.41)."""
    from ecmsim.core.constants import GAS_CONSTANT_J_PER_MOL_K

    ell, target = 10e-6, 20.0                      # [m], [A/m2]: 10 x 0.2 mA/cm2
    D = target * GAS_CONSTANT_J_PER_MOL_K * T * ell ** 2 / (4.0 * P * FARADAY_C_PER_MOL)
    text = _lisn_window().replace('electrode = "LiSn"', 'electrode = "Li"')
    text = text.replace("interface_voids = true", f"interface_voids = true\nvoid_diffusion_m3_s = {D!r}")
    path = tmp_path / "li.toml"
    path.write_text(text)
    proc = run_cli("run", str(path), "-o", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    m = read_summary(tmp_path / "out")["metrics"]
    by_hand = FARADAY_C_PER_MOL * _creep_velocity(P, ell) / OMEGA + target
    assert m["critical_stripping_current_A_m2"] == pytest.approx(by_hand, rel=1e-12, abs=0)
    assert "interface diffusion (D_i delta_i" in proc.stdout + proc.stderr
    assert m["void_thickness_max_m"] == 0.0
