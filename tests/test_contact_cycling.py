"""Contact + creep + plating in the cycling window (interface.model = "contact" with Plate/Strip steps;
docs/electrochem.md, "Contact + creep + plating in the cycling window").

- The eigenstrain hook of the creep-contact problem: a growth eigenstrain in a flat, closed, frictionless
  window with roller sides is a uniaxial-strain state, so contact and the bonded CreepProblem must give
  the same displacement, and the Nitsche pressure must stay the stack pressure (it sees the growth only
  if the facet stress forgets to subtract it).
- Plating/stripping as a gap offset g_N = g(u) - h: a flat Li layer under the stack pressure (a traction)
  stripped uniformly follows its receding surface by rigid translation at any current (the top moves by
  the stripped thickness, closed form), no gap opens, the window carries the stack load at every step
  (force balance, 1 %); plating back returns it to the start.
- A gap stripped into part of the interface closes under pressure by creep of the Li (monotonically), and
  stays open with an elastic Li; force balance at every step.
- The scenario switch and its one-line errors.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import assert_one_line_error, run_cli
from contact_cases import write_cycling_window
from ecmsim.core.constants import FARADAY_C_PER_MOL
from ecmsim.core.fem import MPI
from ecmsim.electrochem.cycling import CyclingProblem
from ecmsim.electrochem.kinetics import butler_volmer, ionic_conductivity_S_m
from ecmsim.electrochem.potential import PotentialProblem
from ecmsim.geometry import generators
from ecmsim.mechanics.creep import stack_pressure_creep_problem
from ecmsim.mesh import MeshOptions, mesh_geometry
from ecmsim.scenario.steps import parse_step
from strip_patch import ELASTIC, H1, H2, LAW, MATS, T, W, P, flat_window, patch_offset, strip_patch
from strip_patch import contact as _contact

pytestmark = pytest.mark.fem

OMEGA = 13.0e-6


@pytest.fixture(scope="module")
def window():
    return flat_window()


def _top_uy(V, u, y=H1 + H2) -> float:
    """Mean y displacement of the dofs at height y (default: the electrode's top) [m], over the ranks."""
    x = V.tabulate_dof_coordinates()
    top = np.abs(x[:, 1] - y) < 1e-12
    top[V.dofmap.index_map.size_local:] = False      # owned nodes only
    uy = u.x.array.reshape(-1, 2)[: len(x), 1]
    s = MPI.COMM_WORLD.allreduce(np.array([uy[top].sum(), top.sum()]), op=MPI.SUM)
    return float(s[0] / s[1])


def _electrode(mech):
    return next(b for b in mech.problem.bodies if "electrode" in b.regions)


def _force(mech) -> float:
    return mech.metrics()["contact_force_N_per_m"]


# -- step 1: the eigenstrain hook -------------------------------------------------------------------

def test_growth_eigenstrain_in_contact_equals_bonded(window):
    """e_yy = 1 % in the whole electrode: the top rises by e H1 more than the compression; contact
    and bonded agree, and the Nitsche pressure stays the stack pressure."""
    e = 0.01
    contact = _contact(window, gap_offset=False)
    bonded = stack_pressure_creep_problem(window, MATS, {"electrode": ELASTIC}, P, 2, T)
    rest = {}
    for pb in (contact, bonded):
        pb.advance(0.0, 0.0)
        pb.accept()
        rest[pb] = _top_uy(_electrode(pb).V, _electrode(pb).u) if pb is contact else _top_uy(pb.V, pb.u)
        pb.eigenstrain[np.isin(pb.cell_of_point, window.cells("electrode")), 1, 1] = e
        pb.advance(1.0, 1.0)
        pb.accept()
    up_contact = _top_uy(_electrode(contact).V, _electrode(contact).u) - rest[contact]
    up_bonded = _top_uy(bonded.V, bonded.u) - rest[bonded]
    assert up_bonded == pytest.approx(e * H1, rel=1e-6, abs=0)      # the layer grows freely in y
    assert up_contact == pytest.approx(up_bonded, rel=1e-6, abs=0)
    m = contact.metrics()
    assert m["contact_pressure_mean_Pa"] == pytest.approx(P, rel=1e-6, abs=0)
    assert m["contact_pressure_max_Pa"] == pytest.approx(P, rel=1e-6, abs=0)
    contact.close()
    bonded.close()


# -- step 2: plating and stripping in the gap ---------------------------------------------------------

def _cycling(mech, tmesh):
    electrode, electrolyte = MATS["electrode"], MATS["electrolyte"]
    pot = PotentialProblem(tmesh, butler_volmer(electrode, T), ionic_conductivity_S_m(electrolyte, T),
                           molar_volume_m3_mol=OMEGA)
    return CyclingProblem(mech, pot, irreversible_fraction=0.0, molar_volume_m3_mol=OMEGA, temperature_K=T)


def _jump(mech) -> float:
    """Mean y displacement of the electrode's interface minus the electrolyte's [m]."""
    electrolyte = next(b for b in mech.problem.bodies if "electrolyte" in b.regions)
    return _top_uy(_electrode(mech).V, _electrode(mech).u, H2) - _top_uy(electrolyte.V, electrolyte.u, H2)


def _step(cyc, mech, t, dt, step):
    cyc.advance(t, dt, step)
    mech.advance(t, dt, step)
    cyc.accept()
    mech.accept()
    return cyc.metrics(), mech.metrics()


@pytest.mark.parametrize("current, law", [(2.0, ELASTIC), (20.0, LAW)])
def test_flat_layer_follows_its_stripped_surface(window, current, law):
    """Strip 3 x 200 s then plate 3 x 200 s at |i|: the electrode's interface moves away from the electrolyte's
    by the stripped thickness h = -i Omega/F t (1e-6 of it) and back, and so does its top if the Li is elastic
    (creep also compacts the layer); no gap opens, the contact carries P W at every step (1 %)."""
    mech = _contact(window, law)
    cyc = _cycling(mech, window)
    _step(cyc, mech, 0.0, 0.0, None)
    top0, jump0 = _top_uy(_electrode(mech).V, _electrode(mech).u), _jump(mech)
    v = current * OMEGA / FARADAY_C_PER_MOL
    t = 0.0
    strip, plate = parse_step(f"Strip at {current} A/m2 for 10 min"), parse_step(f"Plate at {current} A/m2 for 10 min")
    for k, step in enumerate([strip] * 3 + [plate] * 3):
        c, m = _step(cyc, mech, t + 200.0, 200.0, step)
        t += 200.0
        h = -v * 200.0 * (k + 1) if k < 3 else -v * 200.0 * (5 - k)
        assert _jump(mech) - jump0 == pytest.approx(h, rel=1e-6, abs=1e-6 * v * 600), k
        if law is ELASTIC:
            moved = _top_uy(_electrode(mech).V, _electrode(mech).u) - top0
            assert moved == pytest.approx(h, rel=1e-6, abs=1e-6 * v * 600), k
        assert c["plated_thickness_mean_m"] == pytest.approx(h, rel=1e-9, abs=1e-9 * v * 600), k
        assert m["contact_force_N_per_m"] == pytest.approx(P * W, rel=1e-2, abs=0), k      # force balance
        assert m["contact_fraction"] == 1.0 and m["gap_max_m"] < 1e-3 * v * 200, k
        assert c["interface_active_fraction"] == pytest.approx(1.0, rel=1e-6, abs=0), k   # gap noise ~1e-16 m
    cyc.close()
    mech.close()


@pytest.mark.parametrize("law, closes", [(LAW, True), (ELASTIC, False)])
def test_stripped_patch_closes_under_pressure_by_creep(window, law, closes):
    """A 200 nm deep patch over half the interface: the Li and the PLL touch it only partly (the elastic gap
    is about 100 nm: PLL's 0.38 GPa conforms to ~60 nm of it), the creeping Li flows into it under the stack
    pressure and closes it monotonically (to < 1 % in ~1 s with this law); with an elastic Li the gap stays.
    The window carries P W at every step (1 %)."""
    depth = 200e-9
    mech = _contact(window, law)
    mech.set_gap_offset(patch_offset(depth))
    t, gaps, fractions = 0.0, [], []
    for dt in [0.0] + [0.01 * 1.5 ** k for k in range(12)]:
        t += dt
        mech.advance(t, dt)
        mech.accept()
        m = mech.metrics()
        gaps.append(m["gap_max_m"])
        fractions.append(m["contact_fraction"])
        assert m["contact_force_N_per_m"] == pytest.approx(P * W, rel=1e-2, abs=0), t
    print("gap max [nm]:", np.round(np.array(gaps) * 1e9, 3), "contact fraction", np.round(fractions, 3))
    assert gaps[0] > 0.25 * depth and fractions[0] < 0.5           # elastic: the patch stays partly open
    if closes:
        closing = [g for g in gaps if g > 1e-2 * gaps[0]]           # after that: the gap's noise (~1e-11 m)
        assert all(b < a for a, b in zip(closing, closing[1:], strict=False))
        assert len(closing) < len(gaps) and gaps[-1] < 1e-2 * gaps[0] and fractions[-1] == 1.0
    else:
        assert gaps[-1] == pytest.approx(gaps[0], rel=1e-6, abs=0) and fractions[-1] == fractions[0]
    mech.close()


def _strip_patch(tmesh, law, v_s, dt, steps):
    """strip_patch.strip_patch with force balance checked at every step (1 %)."""
    def check(t, m):
        assert m["contact_force_N_per_m"] == pytest.approx(P * W, rel=1e-2, abs=0), t
    return strip_patch(tmesh, law, v_s, dt, steps, check=check)


def test_stripping_a_patch_opens_a_gap_where_it_outruns_creep(window):
    """Stripping over half the interface (the rest blocked): with an elastic Li the gap opens once the stripped
    depth exceeds the elastic conformity and then grows at exactly v_s (v_c = 0, 1e-6); with the creeping Li it
    grows at v_s - v_c, 0 < v_c < v_s (about 0.66 um/s here at v_s = 1 um/s); at v_s = 0.05 um/s creep keeps
    up: no gap opens (below the critical stripping velocity, about 0.1 um/s with this law and geometry)."""
    v_s, dt = 1e-6, 0.02
    elastic = _strip_patch(window, ELASTIC, v_s, dt, 50)
    creeping = _strip_patch(window, LAW, v_s, dt, 50)
    late = slice(-10, None)
    rate_elastic = np.diff(elastic[late, 1]) / dt
    np.testing.assert_allclose(rate_elastic, v_s, rtol=1e-6)
    assert elastic[-1, 1] < v_s * elastic[-1, 0]                     # minus the elastic conformity
    rate_creep = (creeping[-1, 1] - creeping[-11, 1]) / (10 * dt)
    print(f"gap growth at v_s = {v_s:g} m/s: elastic {rate_elastic.mean():.4g}, creeping {rate_creep:.4g} m/s")
    assert 0.1 * v_s < rate_creep < 0.6 * v_s                         # v_c = v_s - rate
    assert np.all(creeping[:, 1] <= elastic[:, 1] + 1e-12)
    slow = _strip_patch(window, LAW, 0.05e-6, 0.05, 40)
    assert np.all(slow[:, 2] == 1.0) and slow[:, 1].max() < 1e-3 * 0.05e-6 * 2.0


def test_open_facets_pass_no_current(window):
    """Step 3: a facet whose gap is g has the activity exp(-g/g0) of the last accepted contact state (exactly),
    so a stripped patch that stands open (64-102 nm, g0 = 10 nm) takes almost no current in the next strip step
    and the closed facets carry it (charge conserved to 1e-8)."""
    mech = _contact(window, ELASTIC)
    cyc = _cycling(mech, window)
    patch = np.abs(cyc.x - W / 2) < W / 4
    cyc.h_live[patch] = -200e-9
    cyc._apply_state()
    _step(cyc, mech, 0.0, 0.0, None)
    rows = cyc.profile_rows(0, 0.0)
    gap, activity = rows[:, 10], rows[:, 8]
    far = np.abs(cyc.x - W / 2) > 3 * W / 8                         # the outer facets (the ramp lies between)
    assert gap[patch].min() > 5e-8 and gap[far].max() < 1e-10
    np.testing.assert_allclose(activity, np.maximum(np.exp(-gap / cyc.activity_gap), 1e-6), rtol=1e-12, atol=0)
    c, _ = _step(cyc, mech, 20.0, 20.0, parse_step("Strip at 2 A/m2 for 10 min"))
    assert c["charge_balance_error"] < 1e-8
    assert np.abs(cyc.current[patch]).max() < 3e-3 * np.abs(cyc.current[far]).min()   # exp(-64 nm / g0) = 1.7e-3
    assert np.abs(cyc.current[far]).min() > 2.0                        # crowded onto the closed facets
    cyc.close()
    mech.close()


def _lagged_activity_change(tmesh, law, patch_depth, dt):
    """The activity indicator of one strip step of dt from a window whose central half was stripped by
    ``patch_depth`` (0: a flat closed window): (e, indicator, facets' gaps before and after the step)."""
    mech = _contact(tmesh, law)
    mech.error_tolerance = 0.05
    cyc = _cycling(mech, tmesh)
    patch = np.abs(cyc.x - W / 2) < W / 4
    cyc.h_live[patch] = -patch_depth
    cyc._apply_state()
    _step(cyc, mech, 0.0, 0.0, None)
    before = cyc.gap.copy()
    cyc.advance(dt, dt, parse_step("Strip at 2 A/m2 for 10 min"))
    mech.advance(dt, dt)
    indicator = cyc.error_indicator()
    after = np.maximum(cyc._contact_state()[0], 0.0)
    out = cyc.activity_change, indicator, before, after
    cyc.close()
    mech.close()
    return out


def test_contact_status_change_within_a_step_is_the_error_indicator(window):
    """With contact the current of a step follows the last accepted contact state; the step's own solve moves
    the gaps. The indicator is the share of the step's current that this lag misplaced over the protocol's
    error tolerance: 0 on a closed flat window (nothing changes status), first order in dt while a stripped
    patch closes by creep (halving dt halves it), and above the rejection level 1.5 for a step in which the
    patch closes (creeping Li closes 104 nm in about a second)."""
    e_flat, ind_flat, _, _ = _lagged_activity_change(window, LAW, 0.0, 1.0)
    assert e_flat < 1e-6 and ind_flat == pytest.approx(e_flat / 0.05, rel=1e-12, abs=0)
    e1, _, before, after = _lagged_activity_change(window, LAW, 200e-9, 0.01)
    e2, _, _, _ = _lagged_activity_change(window, LAW, 200e-9, 0.005)
    assert before.max() > 5e-8 and after.max() < before.max()       # the patch is open and closing
    print(f"activity change: dt 0.01 s {e1:.4g}, 0.005 s {e2:.4g}")
    assert 1.6 < e1 / e2 < 2.4                                       # first order in dt
    e_big, ind_big, _, after_big = _lagged_activity_change(window, LAW, 200e-9, 1.0)
    assert after_big.max() < 0.1 * before.max() and ind_big > 1.5    # closed within the step: rejected
    assert e_big == pytest.approx(0.05 * ind_big, rel=1e-12, abs=0)


# -- a skeleton that takes the deposit into the bulk (Li-Sn): a rigid lift ------------------------------

def test_rigid_lift_moves_the_electrode_rigidly_on_a_curved_interface():
    """set_gap_lift(l): g_N = g(u) - l.nu, so on a sinusoidal interface (43 degree flanks) the electrode moves up by
    exactly l (every dof, to round-off) and neither the electrolyte nor the contact pressure changes."""
    tmesh = mesh_geometry(generators.sinusoidal(20e-6, 10e-6, 10e-6, 3e-6, 20e-6),
                          MeshOptions(size_m=2.5e-6, interface_size_m=1e-6), MPI.COMM_WORLD)
    lift = 1e-6
    mech = _contact(tmesh, ELASTIC)
    mech.advance(0.0, 0.0)
    mech.accept()
    p0 = mech.metrics()["contact_pressure_max_Pa"]
    before = [b.u.x.array.copy() for b in mech.problem.bodies]
    mech.set_gap_lift(lift)
    mech.advance(1.0, 1.0)
    mech.accept()
    m = mech.metrics()
    for b, a in zip(mech.problem.bodies, before, strict=True):
        d = (b.u.x.array - a).reshape(-1, 2)
        expected = (0.0, lift) if b.name == "electrode" else (0.0, 0.0)
        np.testing.assert_allclose(d, np.broadcast_to(expected, d.shape), rtol=0, atol=1e-9 * lift)
    assert m["contact_pressure_max_Pa"] == pytest.approx(p0, rel=1e-6, abs=0)
    assert m["contact_fraction"] == 1.0
    # the lift that holds a deposit: its volume over the projected width (the facets' normals oriented from the
    # electrolyte into the electrode: sum L_k n_y,k = W), not over the arc length (1.16 W here)
    pot = _cycling(mech, tmesh).pot
    cyc = CyclingProblem(mech, pot, molar_volume_m3_mol=OMEGA, temperature_K=T, bulk_plating=True)
    assert np.dot(cyc.normal[:, 1], cyc.length) == pytest.approx(20e-6, rel=1e-12, abs=0)
    arc = cyc.length.sum()
    assert arc > 1.1 * 20e-6
    assert cyc.rigid_lift(np.full(len(cyc.x), 1e-6)) == pytest.approx(1e-6 * arc / 20e-6, rel=1e-12, abs=0)
    cyc.close()
    mech.close()


def test_bulk_plating_lifts_the_electrode_by_the_mean_deposit(window):
    """A skeleton's network (bulk_plating) spreads the deposit through the electrode: a stripped patch over half the
    interface (-200 nm there) lowers the electrode rigidly by the mean, -100 nm (1e-6), with no gap and the stack
    pressure everywhere; without it the same patch stands open (test_open_facets_pass_no_current)."""
    mech = _contact(window, ELASTIC)
    pot = _cycling(mech, window).pot
    cyc = CyclingProblem(mech, pot, irreversible_fraction=0.0, molar_volume_m3_mol=OMEGA, temperature_K=T,
                         bulk_plating=True)
    _step(cyc, mech, 0.0, 0.0, None)
    patch = np.abs(cyc.x - W / 2) < W / 4
    cyc.h_live[patch] = -200e-9
    mean = float(np.dot(cyc.h_live, cyc.length) / cyc.length.sum())
    cyc._apply_state()
    c, m = _step(cyc, mech, 1.0, 1.0, None)       # a rest step: the predictor moves the electrode by the lift
    assert cyc.rigid_lift(cyc.h_live) == pytest.approx(mean, rel=1e-12, abs=0)
    assert _jump(mech) == pytest.approx(mean, rel=1e-6, abs=0)
    assert m["contact_fraction"] == 1.0 and m["gap_max_m"] < 1e-3 * abs(mean)
    assert m["contact_pressure_max_Pa"] == pytest.approx(P, rel=1e-6, abs=0)
    cyc.close()
    mech.close()
    with pytest.raises(ValueError, match="bulk_plating needs a contact"):
        CyclingProblem(stack_pressure_creep_problem(window, MATS, {}, P, 2, T), pot, bulk_plating=True)


# -- the scenario switch ---------------------------------------------------------------------------

def _write(tmp_path, model="contact", cycling="", creep="true"):
    return write_cycling_window(tmp_path / "c.toml", model, cycling, creep)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The flat window with the Li record's creep: strip 10 min, plate 10 min at 2 A/m2."""
    tmp = tmp_path_factory.mktemp("contact_cycling")
    proc = run_cli("run", str(_write(tmp)), "-o", str(tmp / "out"), "-q")
    assert proc.returncode == 0, proc.stderr
    return tmp / "out"


def _history(folder):
    from ecmsim.io.history import read_history_csv
    return read_history_csv(folder / "history.csv")


def test_contact_cycling_run_keeps_force_balance(uninterrupted):
    from conftest import read_summary

    h = _history(uninterrupted)
    assert len(h["time_s"]) > 10 and h["time_s"][-1] == 1200.0
    np.testing.assert_allclose(h["contact_force_N_per_m"], 2.4e6 * 20e-6, rtol=1e-2)
    assert np.all(h["interface_contact_fraction"] == 1.0) and np.max(h["electrode_creep_strain_max"]) > 0
    s = read_summary(uninterrupted)
    assert s["scenario"]["interface"]["model"] == "contact"


def test_contact_cycling_resume_after_kill_equals_uninterrupted(tmp_path, uninterrupted):
    """SIGKILL right after checkpoint 5, then --resume: the same history and metrics (rel 1e-9)."""
    import os
    import subprocess
    import sys

    from conftest import assert_same_metrics, read_summary

    path, out = _write(tmp_path), tmp_path / "out"
    env = {**os.environ, "ECMSIM_TEST_KILL_AFTER_CHECKPOINT": "5"}
    killed = subprocess.run([sys.executable, "-m", "ecmsim", "run", str(path), "-o", str(out), "-q"], env=env,
                            capture_output=True, text=True)
    assert killed.returncode == -9, killed.stderr
    assert (tmp_path / "out.checkpoint" / "step-5" / "loop.json").exists()
    resumed = run_cli("run", str(path), "-o", str(out), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from the checkpoint" in resumed.stdout + resumed.stderr
    a, b = read_summary(uninterrupted), read_summary(out)
    assert_same_metrics(a, b, rel=1e-9)
    ha, hb = _history(uninterrupted), _history(out)
    assert len(ha["time_s"]) == len(hb["time_s"])
    for key in ("time_s", "contact_force_N_per_m", "electrode_creep_strain_max", "plated_thickness_mean_m",
                "interface_sigma_nn_mean_Pa", "newton_iterations"):
        np.testing.assert_allclose(hb[key], ha[key], rtol=1e-9, atol=1e-12, err_msg=key)


@pytest.mark.mpi
def test_contact_cycling_parallel_equals_serial(tmp_path, have_mpirun, uninterrupted):
    """mpirun -n 2 gives the serial run: metrics rel 1e-7 (absolute floors by their scale), history rel 1e-6."""
    from conftest import assert_same_metrics, read_summary, run_cli_mpi

    p2 = run_cli_mpi(2, "run", str(_write(tmp_path)), "-o", str(tmp_path / "parallel"), "-q")
    assert p2.returncode == 0, p2.stderr + p2.stdout
    a, b = read_summary(uninterrupted), read_summary(tmp_path / "parallel")
    assert b["provenance"]["mpi_ranks"] == 2
    assert_same_metrics(a, b, rel=1e-7)
    ha, hb = _history(uninterrupted), _history(tmp_path / "parallel")
    assert len(ha["time_s"]) == len(hb["time_s"])
    for key in ("contact_force_N_per_m", "plated_thickness_mean_m", "electrode_creep_strain_max"):
        np.testing.assert_allclose(hb[key], ha[key], rtol=1e-6, atol=1e-15, err_msg=key)


@pytest.mark.parametrize("model, cycling, fragments", [
    ("contact", "interface_voids = true", ("cycling.interface_voids", "contact")),
    ("contact", "growth_smoothing_length_m = 2e-6", ("cycling.growth_smoothing_length_m", "contact", "= 0")),
    ("bonded", "contact_activity_gap_m = 1e-8", ("cycling.contact_activity_gap_m", "contact")),
    ("glued", "", ("interface.model", "bonded", "contact")),
    ("contact", "contact_activity_gap_m = -1e-8", ("cycling.contact_activity_gap_m",)),
])
def test_bad_contact_cycling_input_is_one_line(tmp_path, model, cycling, fragments):
    proc = run_cli("run", str(_write(tmp_path, model, cycling)), "-o", str(tmp_path / "out"))
    assert_one_line_error(proc, "c.toml", *fragments)
