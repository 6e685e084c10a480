"""Li diffusion along a contact interface (ecmsim.electrochem.diffusion; docs/electrochem.md, interface
diffusion): the facet graph, the discrete operator against closed forms, conservation, the direction of the
flux, and on the FE window the decay of a surface wave at the rate of the linear theory, B E* k^3 / 2."""

from __future__ import annotations

import numpy as np
import pytest

from ecmsim.core.constants import GAS_CONSTANT_J_PER_MOL_K
from ecmsim.electrochem.diffusion import InterfaceDiffusion, facet_neighbours

T, VM = 333.15, 13.0e-6
ESTAR = 4.2e8


def _chain(x_nodes, y_nodes):
    """Facets of a polyline through the nodes: midpoints, unit normals, lengths."""
    p = np.column_stack([x_nodes, y_nodes])
    t = np.diff(p, axis=0)
    length = np.linalg.norm(t, axis=1)
    normal = np.column_stack([-t[:, 1], t[:, 0]]) / length[:, None]
    mid = 0.5 * (p[1:] + p[:-1])
    return mid[:, 0], mid[:, 1], normal, length


def _flat(N=64, W=40e-6):
    """N facets of a flat interface W wide: midpoints, unit normals, lengths."""
    xs = np.linspace(0.0, W, N + 1)
    return _chain(xs, np.zeros_like(xs))


def _diffusion(x, y, normal, length, D=1e-20, gamma=0.0):
    return InterfaceDiffusion(x, y, normal, length, diffusion_m3_s=D, temperature_K=T, molar_volume_m3_mol=VM,
                              contact_modulus_Pa=ESTAR, interface_energy_J_m2=gamma)


def test_neighbours_of_a_shuffled_polyline_are_its_chain():
    xs = np.linspace(0.0, 40e-6, 41)
    x, y, n, L = _chain(xs, 3e-6 * np.sin(2 * np.pi * xs / 20e-6))
    order = np.random.default_rng(1).permutation(len(x))
    pairs = facet_neighbours(x[order], y[order], n[order], L[order])
    assert len(pairs) == len(x) - 1
    back = np.sort(order[pairs], axis=1)                   # in the polyline's own facet numbers
    back = back[np.argsort(back[:, 0])]
    assert np.array_equal(back, np.column_stack([np.arange(39), np.arange(1, 40)]))


def test_laplacian_of_a_parabola_is_two_inside():
    xs = np.linspace(0.0, 20e-6, 33)
    x, y, n, L = _chain(xs, np.zeros_like(xs))
    lap = _diffusion(x, y, n, L).laplacian(x ** 2)
    assert np.allclose(lap[1:-1], 2.0, rtol=1e-9, atol=0)
    # mirror sides: no flux through the window's ends
    assert lap[0] == pytest.approx((x[1] ** 2 - x[0] ** 2) / (x[1] - x[0]) / L[0], rel=1e-12, abs=0)


def test_diffusion_moves_li_and_conserves_it():
    rng = np.random.default_rng(7)
    xs = np.cumsum(rng.uniform(0.2e-6, 2e-6, 60))
    x, y, n, L = _chain(xs, 1e-6 * rng.standard_normal(60))
    p = rng.uniform(0, 20e6, len(x))
    closed = rng.uniform(size=len(x)) > 0.3
    dh = _diffusion(x, y, n, L).step(p, closed, 50.0)
    assert np.abs(dh).max() > 0
    assert abs(np.dot(L, dh)) < 1e-12 * np.dot(L, np.abs(dh))


def test_li_leaves_a_pressure_peak_for_its_neighbours():
    xs = np.linspace(0.0, 21e-6, 22)                       # 21 facets: facet 10 in the middle
    x, y, n, L = _chain(xs, np.zeros_like(xs))
    p = np.full(len(x), 2.4e6)
    p[10] = 10e6
    dh = _diffusion(x, y, n, L).step(p, np.ones(len(x), bool), 1.0)
    assert dh[10] < 0 and dh[9] > 0 and dh[11] > 0
    assert dh[9] == pytest.approx(dh[11], rel=1e-9, abs=0)
    # far from the peak only the implicit step's elastic coupling moves the surface, by ~1 % of the peak's move
    assert np.abs(dh[[0, 1, 2, 18, 19, 20]]).max() < 2e-2 * abs(dh[10])


@pytest.mark.parametrize("m", [2, 6])
def test_step_is_backward_euler_against_the_half_space(m):
    """On a flat, uniform chain, if the pressure is the half-space's (p = E* k h / 2 for a cosine of wave number
    k), a step multiplies a cosine's amplitude by 1 / (1 + dt B lambda E* k / 2), lambda = (2 - 2 cos k d) / d^2 the
    discrete Laplacian's eigenvalue: the implicit step is exact backward Euler."""
    N, W = 64, 40e-6
    x, y, n, L = _flat(N, W)
    dif = _diffusion(x, y, n, L)
    k, d = m * np.pi / W, W / N
    h = 1e-9 * np.cos(k * x)
    p = 2.4e6 + ESTAR * k / 2 * h
    dt = 3.0 / (dif.mobility * ESTAR * k ** 3 / 2)      # three e-folding times: far beyond explicit stability
    h1 = h + dif.step(p, np.ones(N, bool), dt)
    lam = (2 - 2 * np.cos(k * d)) / d ** 2
    assert h1 == pytest.approx(h / (1 + dt * dif.mobility * lam * ESTAR * k / 2), rel=1e-6, abs=1e-6 * 1e-9)


@pytest.mark.parametrize("dt_scale", [0.3, 30.0])
def test_steady_plating_is_balanced_whatever_the_step(dt_scale):
    """A steady non-uniform plating v_e(x) (zero mean) on a flat chain whose pressure is the half-space's
    (p = K h): the surface settles where diffusion carries the plating away, B L p = -v_e, for short and long
    steps alike, approached without oscillating. The step predicts its end pressure from the plating's move as
    well as its own; without the plating's (p + K dh_e) the balance is off by B L K v_e dt, which at
    dt_scale = 30 moves the steady pressure by far more than the 1e-6 asked here."""
    N, W = 64, 40e-6
    x, y, n, L = _flat(N, W)
    dif = _diffusion(x, y, n, L, D=1e-19)
    k = 4 * np.pi / W
    v_e = 1e-10 * np.cos(k * x) + 4e-11 * np.cos(3 * k * x)            # [m/s], zero mean on the facets
    dt = dt_scale / (dif.mobility * ESTAR * k ** 3 / 2)               # in units of the main wave's e-folding time
    closed = np.ones(N, bool)
    h = np.zeros(N)
    amplitudes = []
    for _ in range(400):
        moved = v_e * dt
        h = h + moved + dif.step(2.4e6 + dif.stiffness @ h, closed, dt, moved)
        amplitudes.append(np.dot(h, np.cos(k * x)))
    p = dif.stiffness @ h
    # the balance's pressure: B L p = -v_e, p without its mean (L has the constants as its null space)
    want = np.linalg.lstsq(dif.mobility * dif._lap, -v_e, rcond=None)[0]
    got, want = p - p.mean(), want - want.mean()
    assert np.max(np.abs(got - want)) < 1e-6 * np.max(np.abs(want))
    assert np.all(np.diff(amplitudes) * np.sign(amplitudes[-1]) >= -1e-12 * abs(amplitudes[-1]))  # monotone


@pytest.mark.parametrize("softer", [0.3, 1.5])
def test_coupling_iterations_converge_on_backward_euler_in_the_windows_own_pressure(softer):
    """The window answers a move with K_w = softer * K_c (creep makes it softer; curvature can make it
    stiffer). The step's prediction uses K_c; the coupling iterations (correct(), quasi-Newton with K_c and
    Aitken's relaxation) reach backward Euler in the window's own pressure, (I - dt B L K_w) dh =
    dt B L (p + K_w dh_e), to 1e-9 within 8 iterations, from a first step that misses it by tens of per cent."""
    N, W = 64, 40e-6
    x, y, n, L = _flat(N, W)
    dif = _diffusion(x, y, n, L, D=1e-19)
    k = 4 * np.pi / W
    dt = 10.0 / (dif.mobility * ESTAR * k ** 3 / 2)
    p0 = 2.4e6 + 1e6 * np.cos(k * x) + 3e5 * np.cos(5 * k * x)
    moved_e = 2e-8 * np.cos(3 * k * x)
    K_w = softer * dif.stiffness
    closed = np.ones(N, bool)
    a = dt * dif.mobility
    want = np.linalg.solve(np.eye(N) - a * dif._lap @ K_w, a * dif._lap @ (p0 + K_w @ moved_e))
    dh = dif.step(p0, closed, dt, moved_e)
    first_error = np.abs(dh - want).max() / np.abs(want).max()
    for _ in range(8):
        dh = dh + dif.correct(p0 + K_w @ (moved_e + dh), closed)
    assert first_error > 0.1
    assert np.abs(dh - want).max() < 1e-9 * np.abs(want).max()
    assert np.allclose(dif.moved, dh, rtol=0, atol=1e-15)


@pytest.mark.parametrize("m", [4, 63])
def test_a_deposit_wave_flattens_at_the_capillary_rate(m):
    """With the interface energy gamma and no pressure (open facets), a deposit h0 cos(k x) decays by
    1 / (1 + dt B gamma lambda^2) per step, lambda = (2 - 2 cos k d) / d^2 the discrete Laplacian's eigenvalue:
    backward Euler of Mullins' dh/dt = -B gamma d^4h/ds^4, whose rate B gamma k^4 lambda^2 tends to as k d -> 0.
    m = 63 on 64 facets is the facet-to-facet zigzag (the highest wave of the facets), which the mechanics
    barely sees (a P1 offset at the vertices averages it out): the interface energy flattens it within a minute
    on 0.6 um facets (16 times faster on 0.3 um ones)."""
    N, W, gamma = 64, 40e-6, 0.5
    x, y, n, L = _flat(N, W)
    dif = _diffusion(x, y, n, L, D=1e-19, gamma=gamma)
    k, d = m * np.pi / W, W / N
    lam = (2 - 2 * np.cos(k * d)) / d ** 2
    h = 1e-8 * np.cos(k * x)
    dt = 2.0 / (dif.mobility * gamma * lam ** 2)
    h1 = h + dif.step(np.zeros(N), np.zeros(N, bool), dt, surface_m=h)
    assert h1 == pytest.approx(h / (1 + dt * dif.mobility * gamma * lam ** 2), rel=1e-9, abs=1e-9 * 1e-8)
    if m == 4:
        assert lam == pytest.approx(k ** 2, rel=0.01, abs=0)     # the long wave: Mullins' k^4
    else:
        assert 1.0 / (dif.mobility * gamma * lam ** 2) < 60.0     # the zigzag: gone within a minute


def test_mobility_is_d_delta_omega_over_kt():
    xs = np.linspace(0.0, 20e-6, 5)
    dif = _diffusion(*_chain(xs, np.zeros_like(xs)), D=3e-20)
    assert dif.mobility == pytest.approx(3e-20 * VM / (GAS_CONSTANT_J_PER_MOL_K * T), rel=1e-12, abs=0)


# -- on the FE window ---------------------------------------------------------------------------------------

def _decay_rate(refine: int, dt_r: float, steps: int) -> float:
    """The flat contact window (elastic Li on PLL, 8 x ``refine`` interface facets) with the Li surface moved by
    h0 cos(k x), k = 4 pi / W, left at rest: the measured decay rate of the wave's amplitude over the linear
    theory's r = B E* k^3 / 2 (two half-spaces, p = E* k h / 2), with steps of dt = dt_r / r."""
    from strip_patch import ELASTIC, MATS, W, contact, flat_window

    from ecmsim.electrochem.cycling import CyclingProblem
    from ecmsim.electrochem.kinetics import butler_volmer, ionic_conductivity_S_m
    from ecmsim.electrochem.potential import PotentialProblem
    from ecmsim.materials import contact_modulus_Pa
    from ecmsim.scenario.steps import parse_step

    estar = contact_modulus_Pa(*MATS.values())
    D, h0, k = 4e-20, 5e-9, 4 * np.pi / W
    tmesh = flat_window(refine=refine)
    mech = contact(tmesh, ELASTIC)
    pot = PotentialProblem(tmesh, butler_volmer(MATS["electrode"], T),
                           ionic_conductivity_S_m(MATS["electrolyte"], T), molar_volume_m3_mol=VM)
    cyc = CyclingProblem(mech, pot, irreversible_fraction=0.0, molar_volume_m3_mol=VM, temperature_K=T,
                         interface_diffusion_m3_s=D, contact_modulus_Pa=estar)
    r = cyc.diffusion.mobility * estar * k ** 3 / 2
    cyc.h_live = h0 * np.cos(k * cyc.x)
    cyc._apply_state()
    volume = np.dot(cyc.length, cyc.h_live)
    rest = parse_step("Rest for 1 hour")
    t, dt = 0.0, dt_r / r
    for k_step in range(steps + 1):
        step_dt = 0.0 if k_step == 0 else dt
        t += step_dt
        for problem in (cyc, mech):
            problem.advance(t, step_dt, rest if k_step else None)
        cyc.accept()
        mech.accept()
        cyc.metrics()
        assert mech.metrics()["contact_force_N_per_m"] == pytest.approx(2.4e6 * W, rel=1e-2, abs=0)
        assert cyc.contact_fraction() == 1.0
    amplitude = 2 / W * np.dot(cyc.length, cyc.h_live * np.cos(k * cyc.x))
    assert abs(np.dot(cyc.length, cyc.h_live) - volume) < 1e-9 * h0 * W   # diffusion neither plates nor strips
    mech.close()
    cyc.close()
    return -np.log(amplitude / h0) / (r * t)


@pytest.mark.fem
def test_a_surface_wave_decays_at_the_rate_of_the_linear_theory():
    """Backward Euler at dt r = 0.025 alone gives ln(1.025)/0.025 = 0.988 of r. Measured (one rank): 0.934 with 32
    interface facets, 0.975 with 64: the FE's pressure per wave (0.958 and 0.990 of E* k h / 2) and the facets'
    Laplacian converge on the theory."""
    coarse, fine = _decay_rate(4, 0.025, 40), _decay_rate(8, 0.025, 40)
    assert fine == pytest.approx(np.log(1.025) / 0.025, rel=0.02, abs=0)
    assert abs(fine - 1) < abs(coarse - 1)


# -- the scenario key --------------------------------------------------------------------------------------

def _write(tmp_path, model="contact", cycling="interface_diffusion_m3_s = 1e-19", electrode="Li"):
    from contact_cases import write_cycling_window

    return write_cycling_window(tmp_path / "d.toml", model, cycling, "true", electrode)


@pytest.mark.parametrize("model, cycling, electrode, fragments", [
    ("bonded", "interface_diffusion_m3_s = 1e-19", "Li", ("cycling.interface_diffusion_m3_s", "contact")),
    ("contact", "interface_diffusion_m3_s = 1e-19", "LiSn", ("cycling.interface_diffusion_m3_s", "skeleton")),
    ("contact", "interface_diffusion_m3_s = -1e-19", "Li", ("cycling.interface_diffusion_m3_s",)),
    ("contact", "interface_diffusion_m3_s = 1e-10", "Li", ("cycling.interface_diffusion_m3_s", "< 1e-12 [m3/s]")),
])
def test_bad_interface_diffusion_input_is_one_line(tmp_path, model, cycling, electrode, fragments):
    from conftest import assert_one_line_error, run_cli

    proc = run_cli("run", str(_write(tmp_path, model, cycling, electrode)), "-o", str(tmp_path / "out"))
    assert_one_line_error(proc, "d.toml", *fragments)


def test_input_hash_without_the_key_is_unchanged(tmp_path):
    """A scenario that does not set the key hashes as before the key existed (its runs stay valid)."""
    from ecmsim.scenario import load

    plain = load(_write(tmp_path, cycling=""))
    assert "interface_diffusion_m3_s" not in plain.to_dict()["cycling"]
    zero = load(_write(tmp_path, cycling="interface_diffusion_m3_s = 0.0"))
    assert zero.to_dict()["cycling"]["interface_diffusion_m3_s"] == 0.0


@pytest.mark.fem
def test_a_flat_window_strips_and_plates_back_with_diffusion(tmp_path):
    """On a flat interface the pressure is uniform, so diffusion moves nothing: strip 10 min and plate back with
    diffusion on gives the run without it (the contact force P W at every step)."""
    from conftest import read_summary, run_cli

    for name, cycling in (("on", "interface_diffusion_m3_s = 1e-19\ninterface_energy_J_m2 = 0.5"), ("off", "")):
        proc = run_cli("run", str(_write(tmp_path, cycling=cycling)), "-o", str(tmp_path / name), "-q")
        assert proc.returncode == 0, proc.stderr
    on, off = read_summary(tmp_path / "on"), read_summary(tmp_path / "off")
    for key in ("plated_thickness_max_m", "plated_thickness_min_m", "contact_pressure_max_Pa"):
        assert on["metrics"][key] == pytest.approx(off["metrics"][key], rel=1e-6, abs=1e-15), key


#: the shipped Li sinusoid in contact with diffusion, cut to its first 20 minutes of plating on a coarser mesh
SINUSOID_SETS = ["mesh.size_m=4e-6", "mesh.interface_size_m=2e-6",
                 'protocol.steps=["Plate at 0.2 mA/cm2 for 20 minutes"]',
                 "protocol.cycles=1", "protocol.checkpoint_interval_s=0", "output.fields=false", "output.plots=false"]


@pytest.fixture(scope="module")
def sinusoid(tmp_path_factory):
    """scenarios/cycling_li_sinusoid_contact.toml's first 20 minutes of plating, one rank: (the CLI arguments
    of the scenario, output folder)."""
    from conftest import SCENARIOS, run_cli

    tmp = tmp_path_factory.mktemp("diffusing_sinusoid")
    args = [str(SCENARIOS / "cycling_li_sinusoid_contact.toml")] + [a for s in SINUSOID_SETS for a in ("--set", s)]
    whole = run_cli("run", *args, "-o", str(tmp / "whole"), "-q")
    assert whole.returncode == 0, whole.stderr
    return args, tmp / "whole"


KEYS = ("time_s", "plated_thickness_max_m", "plated_thickness_min_m", "contact_fraction", "contact_pressure_max_Pa")


@pytest.mark.fem
def test_diffusing_sinusoid_resumed_after_kill_equals_uninterrupted(tmp_path, sinusoid):
    """The pressure of the last accepted state drives the next step's diffusion, so it is part of the checkpoint:
    SIGKILL after checkpoint 8, --resume, and the history is the uninterrupted one (rel 1e-9)."""
    import os
    import subprocess
    import sys

    from conftest import run_cli
    from ecmsim.io.history import read_history_csv

    args, whole = sinusoid
    env = {**os.environ, "ECMSIM_TEST_KILL_AFTER_CHECKPOINT": "8"}
    killed = subprocess.run([sys.executable, "-m", "ecmsim", "run", *args, "-o", str(tmp_path / "out"), "-q"],
                            env=env, capture_output=True, text=True)
    assert killed.returncode == -9, killed.stderr
    resumed = run_cli("run", *args, "-o", str(tmp_path / "out"), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    a, b = read_history_csv(whole / "history.csv"), read_history_csv(tmp_path / "out" / "history.csv")
    assert len(a["time_s"]) == len(b["time_s"]) > 8
    for key in KEYS:
        np.testing.assert_allclose(b[key], a[key], rtol=1e-9, atol=1e-15, err_msg=key)
    # diffusion acted: the plated thickness varies along the interface, and no facet opened far
    assert a["plated_thickness_max_m"][-1] > 1.05 * a["plated_thickness_min_m"][-1]


@pytest.mark.mpi
@pytest.mark.fem
def test_diffusing_sinusoid_parallel_equals_serial(tmp_path, have_mpirun, sinusoid):
    """mpirun -n 2: the facets, their graph and the contact pressure are gathered on every rank, so the diffusion
    moves the same Li: the serial history to 1e-7 (measured by hand on a 30-minute plating: 2e-10)."""
    from conftest import run_cli_mpi
    from ecmsim.io.history import read_history_csv

    args, whole = sinusoid
    p2 = run_cli_mpi(2, "run", *args, "-o", str(tmp_path / "parallel"), "-q")
    assert p2.returncode == 0, p2.stderr + p2.stdout
    a, b = read_history_csv(whole / "history.csv"), read_history_csv(tmp_path / "parallel" / "history.csv")
    assert len(a["time_s"]) == len(b["time_s"])
    for key in KEYS:
        np.testing.assert_allclose(b[key], a[key], rtol=1e-7, atol=1e-15, err_msg=key)


@pytest.mark.slow
@pytest.mark.fem
def test_diffusion_and_contact_solved_together_do_not_depend_on_the_step(tmp_path):
    """The coarse sinusoid's first hour of plating with steps of at most 300 s and of at most 50 s: the spread of
    the interface normal stress at the end agrees to 8 % (measured 0.306 and 0.299 MPa, 2 %). The coupling
    iterations solve each step's diffusion against the FE's own end pressure; with the one-step lag of before
    (the pressure of the last accepted step, its move through the half-space alone) the same runs gave 0.539
    and 0.412 MPa, 31 % apart, and the longer steps oscillated."""
    from conftest import SCENARIOS, run_cli
    from ecmsim.io.history import read_history_csv

    std = {}
    for dt in (300, 50):
        out = tmp_path / f"dt{dt}"
        proc = run_cli("run", str(SCENARIOS / "cycling_li_sinusoid_contact.toml"), "-o", str(out), "-q",
                       "--set", f"protocol.dt_max_s={dt}", "--set", "mesh.size_m=4e-6",
                       "--set", "mesh.interface_size_m=2e-6",
                       "--set", 'protocol.steps=["Plate at 0.2 mA/cm2 for 1 hours"]', "--set", "protocol.cycles=1",
                       "--set", "protocol.checkpoint_interval_s=0", "--set", "output.fields=false",
                       "--set", "output.plots=false")
        assert proc.returncode == 0, proc.stderr
        h = read_history_csv(out / "history.csv")
        std[dt] = h["interface_sigma_nn_std_Pa"][-1]
        assert max(h["diffusion_coupling_iterations"]) >= 1      # the iterations acted
    assert std[300] == pytest.approx(std[50], rel=0.08, abs=0)


# -- the stripping onset that diffusion sets (tests/strip_patch.py) --------------------------------------------

ONSET_C = 4.3636   # v* = C P B / a^2 for the patch's ramp profile (closed form below)


def _onset_constant() -> float:
    """C of the steady state in 1D (tests/patch_steady.py) for the ramp of strip_patch.patch_offset (full rate
    inside |x| < a/2, 0 beyond 3a/2, W = 4a); 4 for a sharp patch edge."""
    from patch_steady import steady_patch_constant

    return steady_patch_constant(lambda x: np.clip(1.5 - x, 0.0, 1.0))


def test_onset_constant_of_the_closed_form():
    assert _onset_constant() == pytest.approx(ONSET_C, rel=1e-4, abs=0)


@pytest.mark.fem
@pytest.mark.parametrize("pressure_Pa", [3e6, 7e6])
def test_diffusion_keeps_a_stripped_patch_in_contact_up_to_the_closed_form(pressure_Pa):
    """The stripped patch (half width a = 2 um, Li with the size-effect law at 2 um on LPSCl, 25 C), stripped
    9 P a / E* deep. Creep alone keeps contact only below ~1e-18 m/s here (docs/electrochem.md); with Li
    diffusing along the interface (D_i delta_i = 1e-19 m^3/s) the onset is v* = C P B / a^2, C = 4.36: linear
    in P, not p^n. Measured (bisection to 5 %, diffusion and contact solved together): C = 3.64-3.82, 4.00-4.19,
    4.19-4.39 with 8, 16, 32 interface facets, at 3 and 7 MPa alike (with the one-step lag of before: 3.48-3.64,
    3.82-4.00, 4.00-4.19). Here, 16 facets: 0.8 C keeps contact, 1.2 C loses it."""
    from contact_cases import contact_modulus
    from strip_patch import W, flat_window, opens

    from ecmsim import materials
    from ecmsim.materials.creep import law_of

    li = materials.get("Li")
    mats = {"electrode": li, "electrolyte": materials.get("LPSCl")}
    scale, D, T25 = 0.4, 1e-19, 298.15
    a = scale * W / 4
    depth = 9.0 * pressure_Pa * a / contact_modulus(mats)
    tmesh = flat_window(scale, refine=2)
    B = D * VM / (GAS_CONSTANT_J_PER_MOL_K * T25)

    def keeps_contact(v):
        return not opens(tmesh, law_of(li, 2e-6), v, depth, steps=240, diffusion_m3_s=D, pressure_Pa=pressure_Pa,
                         temperature_K=T25, mats=mats, ramp=a)

    v_star = ONSET_C * pressure_Pa * B / a ** 2
    assert keeps_contact(0.8 * v_star)
    assert not keeps_contact(1.2 * v_star)
