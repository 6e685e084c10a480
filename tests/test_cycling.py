"""Plating/stripping cycles: step kinds, charge conservation, a symmetric cycle, dead Li, serial vs MPI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import assert_same_metrics, read_summary, run_cli, run_cli_mpi
from ecmsim.core.constants import FARADAY_C_PER_MOL
from ecmsim.scenario.steps import StepError, parse_step

SCENARIO = """title = "cycling test window"
[geometry]
kind = "sinusoidal"
width_m = 40e-6
electrode_thickness_m = 20e-6
electrolyte_thickness_m = 20e-6
amplitude_m = 3e-6
wavelength_m = 20e-6
[materials]
electrode = "Li"
electrolyte = "PLL"
[loading]
stack_pressure_Pa = 2.4e6
temperature_K = 333.15
[mesh]
size_m = 5e-6
interface_size_m = 2.5e-6
[electrochem]
applied_current_density_A_m2 = 2.0
[creep]
enabled = false
[cycling]
irreversible_fraction = {f_irr}
[output]
fields = false
plots = false
[protocol]
steps = ["Plate at 0.2 mA/cm2 for 10 minutes", "Rest for 5 minutes", "Strip at 2 A/m2 for 10 minutes"]
cycles = {cycles}
dt_initial_s = 200.0
dt_max_s = 200.0
{extra}
"""
OMEGA = 13.0e-6


def write(tmp_path, name="cyc.toml", f_irr=0.0, cycles=1, extra=""):
    path = tmp_path / name
    path.write_text(SCENARIO.format(f_irr=f_irr, cycles=cycles, extra=extra))
    return path


def history(folder):
    from ecmsim.io.history import read_history_csv
    return read_history_csv(folder / "history.csv")


def profiles(folder):
    return np.loadtxt(folder / "interface_profiles.csv", delimiter=",", skiprows=1)


# -- step kinds ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, kind, i, duration", [
    ("Plate at 0.2 mA/cm2 for 2 hours", "plate", 2.0, 7200.0),
    ("Strip at 0.2 mA/cm2 for 2 hours", "strip", -2.0, 7200.0),
    ("plate at 2 A/m2 for 10 min", "plate", 2.0, 600.0),
    ("Strip 0.5 mA cm-2 for 30 minutes.", "strip", -5.0, 1800.0),
    ("Plate at 100 uA/cm2 for 1 h", "plate", 1.0, 3600.0),
])
def test_step_kinds_parse(text, kind, i, duration):
    step = parse_step(text)
    assert step.kind == kind
    assert step.values["current_density_A_m2"] == pytest.approx(i, rel=1e-12, abs=0)
    assert step.duration_s == pytest.approx(duration)


@pytest.mark.parametrize("text", ["Plate at 0 mA/cm2 for 2 h", "Plate at 1 mA/m3 for 2 h", "Plate at -1 A/m2 for 1 h",
                                  "Strip at 0.2 mA/cm2", "Plate at 2e9 A/m2 for 1 h"])
def test_bad_steps_are_refused(text):
    with pytest.raises(StepError):
        parse_step(text)


def test_plate_without_electrochem_is_one_line(tmp_path):
    path = write(tmp_path)
    path.write_text(path.read_text().replace("[electrochem]\napplied_current_density_A_m2 = 2.0\n", ""))
    proc = run_cli("run", str(path), "-o", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "[electrochem]" in proc.stderr


# -- physics ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def symmetric(tmp_path_factory):
    """No creep, no dead Li, alpha = 0.5, bonded: one plate / rest / strip cycle."""
    tmp = tmp_path_factory.mktemp("cycling_symmetric")
    proc = run_cli("run", str(write(tmp)), "-o", str(tmp / "out"), "-q")
    assert proc.returncode == 0, proc.stderr
    return tmp / "out"


def test_charge_is_conserved_at_every_step(symmetric):
    h = history(symmetric)
    current = h["applied_current_density_A_m2"] != 0
    assert current.sum() == 6          # 3 plating + 3 stripping steps of 200 s
    # the facet currents (exact facet integrals) add up to the applied current, every step
    assert np.max(h["charge_balance_error"][current]) < 1e-8
    # and the plated volume is the passed charge times Omega/F
    plate_end = np.flatnonzero(h["protocol_step"] == "Plate at 0.2 mA/cm2 for 10 minutes")[-1]
    width = 40e-6
    assert h["passed_charge_C_m"][plate_end] == pytest.approx(2.0 * width * 600, rel=1e-12, abs=0)
    assert h["plated_volume_m2"][plate_end] == pytest.approx(2.0 * width * 600 * OMEGA / FARADAY_C_PER_MOL, rel=1e-8, abs=0)


def test_stripping_is_minus_plating(symmetric):
    p = profiles(symmetric)
    h = history(symmetric)
    steps = h["step"].astype(int)
    plate = [s for s in steps if h["applied_current_density_A_m2"][s] > 0]
    strip = [s for s in steps if h["applied_current_density_A_m2"][s] < 0]
    i_plate = p[p[:, 0] == plate[0], 4]
    i_strip = p[p[:, 0] == strip[0], 4]
    assert np.std(i_plate) / np.mean(i_plate) > 0.01       # the wavy interface makes the current uneven
    np.testing.assert_allclose(i_strip, -i_plate, rtol=1e-7, atol=1e-9)


def test_symmetric_cycle_returns_stress_to_start(symmetric):
    h = history(symmetric)
    after_plate = np.flatnonzero(h["applied_current_density_A_m2"] > 0)[-1]
    for key in ("interface_sigma_nn_min_Pa", "interface_sigma_nn_max_Pa", "electrode_von_mises_max_Pa",
                "electrolyte_von_mises_max_Pa"):
        start, mid, end = h[key][0], h[key][after_plate], h[key][-1]
        assert abs(mid - start) > 1e-3 * abs(start), key      # plating loads the interface ...
        assert end == pytest.approx(start, rel=1e-7, abs=1.0), key   # ... and stripping unloads it
    assert np.max(np.abs(h["plated_thickness_max_m"][-1])) < 1e-15


@pytest.fixture(scope="module")
def dead_li(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cycling_dead")
    proc = run_cli("run", str(write(tmp, f_irr=0.1, cycles=2)), "-o", str(tmp / "out"), "-q")
    assert proc.returncode == 0, proc.stderr
    return tmp / "out"


def test_dead_li_accumulates_and_blocks_contact(dead_li):
    h = history(dead_li)
    plated_per_cycle = 2.0 * 600 * OMEGA / FARADAY_C_PER_MOL
    cycle_end = [np.flatnonzero(h["cycle"] == c)[-1] for c in (1, 2)]
    # dead Li volume per unit depth: f_irr of the plated volume i W t Omega/F, every cycle
    width = 40e-6
    dead = h["dead_li_volume_m2"][cycle_end]
    np.testing.assert_allclose(dead, [0.1 * plated_per_cycle * width, 0.2 * plated_per_cycle * width], rtol=1e-7)
    # net Li of the window electrode is conserved (a symmetric cycle passes no net charge)
    assert abs(h["plated_volume_m2"][-1]) < 1e-7 * plated_per_cycle * width
    act = h["interface_active_fraction"][cycle_end]
    assert act[0] < 1 and act[1] < act[0]
    assert np.max(h["charge_balance_error"]) < 1e-8


def test_resume_after_kill_gives_the_same_result(tmp_path, dead_li):
    import os
    import subprocess
    import sys

    path = write(tmp_path, f_irr=0.1, cycles=2, extra="checkpoint_interval_s = 0.0")
    out = tmp_path / "out"
    env = {**os.environ, "ECMSIM_TEST_KILL_AFTER_CHECKPOINT": "5"}
    killed = subprocess.run([sys.executable, "-m", "ecmsim", "run", str(path), "-o", str(out), "-q"], env=env,
                            capture_output=True, text=True)
    assert killed.returncode == -9                         # SIGKILL right after checkpoint step 5
    assert not out.exists()                                # nothing that looks like a result
    assert not any((p / "summary.json").exists() for p in tmp_path.glob("out.partial-*"))
    assert (tmp_path / "out.checkpoint" / "step-5" / "loop.json").exists()
    resumed = run_cli("run", str(path), "-o", str(out), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from the checkpoint" in resumed.stdout + resumed.stderr
    assert not (tmp_path / "out.checkpoint").exists()      # removed once the result is in place
    a, b = read_summary(dead_li), read_summary(out)
    assert_same_metrics(a, b, rel=1e-9)
    ha, hb = history(dead_li), history(out)
    assert len(ha["time_s"]) == len(hb["time_s"])
    for key in ("interface_sigma_nn_max_Pa", "dead_li_volume_m2", "current_density_cv", "time_s"):
        np.testing.assert_allclose(hb[key], ha[key], rtol=1e-9)
    np.testing.assert_allclose(profiles(out), profiles(dead_li), rtol=1e-9, atol=1e-12)


def test_resume_without_checkpoint_is_one_line(tmp_path):
    proc = run_cli("run", str(write(tmp_path)), "-o", str(tmp_path / "out"), "--resume")
    assert proc.returncode == 2
    assert "no checkpoint" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.mpi
def test_cycling_parallel_equals_serial(tmp_path, have_mpirun, symmetric):
    p2 = run_cli_mpi(2, "run", str(write(tmp_path)), "-o", str(tmp_path / "parallel"), "-q")
    assert p2.returncode == 0, p2.stderr + p2.stdout
    a, b = read_summary(symmetric), read_summary(tmp_path / "parallel")
    assert b["provenance"]["mpi_ranks"] == 2
    assert_same_metrics(a, b, rel=1e-7)
    ha, hb = history(symmetric), history(tmp_path / "parallel")
    for key in ("current_density_cv", "interface_sigma_nn_max_Pa", "plated_thickness_max_m"):
        np.testing.assert_allclose(hb[key], ha[key], rtol=1e-6, atol=1e-12 if "thickness" in key else 1e-3)
    json.dumps(a)


def _interrupt_at_step(cmd: list[str], step: int, signum: int, delay_s: float = 0.05):
    """Start ``cmd``, send ``signum`` ``delay_s`` after the progress line of accepted step
    ``step`` (so it lands inside the next solve, in PETSc more often than not); (status, stderr)."""
    import os
    import subprocess
    import time

    from conftest import ROOT

    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    for line in proc.stdout:
        if f"] step {step:4d}  t =" in line:
            time.sleep(delay_s)
            proc.send_signal(signum)
            break
    out, err = proc.communicate(timeout=300)
    return proc.returncode, err


#: A finer window than the others here: a time step takes about 0.2 s, so a signal sent 50 ms after
#: a step's progress line lands inside the next solve.
FINER = ["--set", "mesh.size_m=1.5e-6", "--set", "mesh.interface_size_m=0.4e-6"]


@pytest.fixture(scope="module")
def finer(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cycling_finer")
    path = write(tmp, f_irr=0.1, cycles=1)
    proc = run_cli("run", str(path), "-o", str(tmp / "out"), "-q", *FINER)
    assert proc.returncode == 0, proc.stderr
    return path, tmp / "out"


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_interrupt_mid_step_checkpoints_and_resumes_to_the_same_result(tmp_path, finer, signame):
    """Ctrl-C (or SIGTERM) in the middle of a time step, before any periodic checkpoint: one line
    'ecmsim: interrupted', 128 + the signal, no staging folder left, the last accepted step
    checkpointed and nothing after it (no futile retries); --resume then equals the uninterrupted run."""
    import signal
    import sys

    path, reference = finer
    out = tmp_path / "out"
    signum = getattr(signal, signame)
    status, err = _interrupt_at_step([sys.executable, "-m", "ecmsim", "run", str(path), "-o", str(out), *FINER],
                                     1, signum)
    assert status == 128 + signum, err
    assert err.strip() == "ecmsim: interrupted", err
    assert not out.exists() and not list(tmp_path.glob("out.partial*"))
    steps = sorted((tmp_path / "out.checkpoint").glob("step-*"))
    # the last step accepted before the signal, and only it (the signal lands 50 ms after step 1's line:
    # usually inside step 2, after it on a fast machine)
    assert len(steps) == 1 and steps[0].name in ("step-1", "step-2"), steps
    resumed = run_cli("run", str(path), "-o", str(out), "--resume", *FINER)
    assert resumed.returncode == 0, resumed.stderr
    a, b = read_summary(reference), read_summary(out)
    assert_same_metrics(a, b, rel=1e-9)
    ha, hb = history(reference), history(out)
    for key in ("interface_sigma_nn_max_Pa", "dead_li_volume_m2", "time_s", "rejected_steps"):
        np.testing.assert_allclose(hb[key], ha[key], rtol=1e-9)


def test_an_interrupt_that_comes_back_as_a_petsc_error_still_checkpoints(tmp_path, monkeypatch):
    """A signal inside a petsc4py callback (a Newton residual) returns from the solve as PETSc error 101,
    not as KeyboardInterrupt; the run must still checkpoint its last accepted step (it did not: the
    flaky 'no checkpoint' of the Ctrl-C test above, 1 run in 5-8). In-process and deterministic: the
    third advance (step 2's) marks SIGINT as received and raises what PETSc raises."""
    import signal

    from ecmsim.core import interrupt
    from ecmsim.core.fem import PETSc
    from ecmsim.electrochem.cycling import CyclingProblem
    from ecmsim.run.pipeline import run_scenario_file

    real_advance, calls = CyclingProblem.advance, []

    def advance(self, t_s, dt_s, step=None):
        calls.append(t_s)
        if len(calls) == 3:
            interrupt.state.signum = int(signal.SIGINT)   # what the handler records when the signal comes
            raise PETSc.Error(101)
        return real_advance(self, t_s, dt_s, step)

    monkeypatch.setattr(CyclingProblem, "advance", advance)
    out = tmp_path / "out"
    try:
        with pytest.raises(PETSc.Error):
            run_scenario_file(write(tmp_path), out, quiet=True)
    finally:   # the remembered signal must not reach later in-process runs of this worker
        interrupt.state.signum, interrupt.state.pending = None, False
    # advance calls: the start at t = 0, step 1 (accepted), step 2 (interrupted): step 1 is checkpointed
    steps = sorted(p.name for p in (tmp_path / "out.checkpoint").glob("step-*"))
    assert steps == ["step-1"], steps


FLAT_PLATING = """title = "flat plating"
[geometry]
kind = "flat"
width_m = 16e-6
electrode_thickness_m = 4e-6
electrolyte_thickness_m = 8e-6
[materials]
electrode = "Li"
electrolyte = "PLL"
[loading]
stack_pressure_Pa = 2.4e6
[mesh]
size_m = 2e-6
interface_size_m = 0.5e-6
[electrochem]
applied_current_density_A_m2 = 2.0
[creep]
enabled = false
[cycling]
irreversible_fraction = {f_irr}
deposition_layer_thickness_m = 4.5e-6
dead_li_porosity = {porosity}
[output]
plots = false
[protocol]
steps = ["Plate at 2 A/m2 for 1200 s", "Rest for 1 s"]
dt_initial_s = 1200.0
dt_max_s = 1200.0
"""


def _top_uy(folder) -> list[float]:
    """Mean vertical displacement of the top edge in every field snapshot of a protocol run [m]."""
    import pyvista as pv

    import re

    out = []
    pvd = (folder / "fields" / "series.pvd").read_text()
    for name in re.findall(r'file="([^"]+)"', pvd):
        grid = pv.read(folder / "fields" / name)
        if "displacement_m" not in grid.point_data:
            continue      # the series' first entry: the mesh alone
        y = grid.points[:, 1]
        out.append(float(grid.point_data["displacement_m"][np.isclose(y, y.max(), rtol=1e-12, atol=0), 1].mean()))
    return out


@pytest.mark.parametrize("f_irr, porosity", [(0.0, 0.0), (0.9, 0.0), (0.9, 0.5)])
def test_flat_plating_grows_the_stack_by_the_plated_thickness(tmp_path, f_irr, porosity):
    """A flat interface under rollers and a constant stack pressure: the plated Li (a growth eigenstrain
    (h/delta) n x n in the deposition layer, here the whole 4 um electrode) lifts the top by exactly the
    plated thickness h and leaves sigma_nn = -p, from t = 0 on. With most of it dead (f_irr = 0.9) the
    porous fraction phi = h/delta softens the layer by (1 - phi)^m, which the rest step after the
    plating shows as the extra uniaxial compression p t (1/(M (1-phi)^m) - 1/M) of the electrode
    (M: Li's constrained modulus). With porous dead Li (dead_li_porosity phi_d) the lift is
    h (1 - f_irr) + f_irr h / (1 - phi_d): the dead Li takes more room than its dense volume. The layer is
    the whole electrode so that its edge cuts no cell (issue 23: an edge inside cells puts +-25 % into
    sigma_nn of a flat plating window)."""
    from ecmsim import materials
    from ecmsim.scenario.guards import constrained_modulus

    path = tmp_path / "p.toml"
    path.write_text(FLAT_PLATING.format(f_irr=f_irr, porosity=porosity))
    proc = run_cli("run", str(path), "-o", str(tmp_path / "out"), "-q")
    assert proc.returncode == 0, proc.stderr
    h = history(tmp_path / "out")
    p, t_e = 2.4e6, 4e-6
    plated = 2.0 * 1200 * OMEGA / FARADAY_C_PER_MOL
    assert h["plated_thickness_mean_m"][-1] == pytest.approx(plated, rel=1e-9, abs=0)
    for key in ("interface_sigma_nn_mean_Pa", "interface_sigma_nn_min_Pa", "interface_sigma_nn_max_Pa"):
        np.testing.assert_allclose(h[key], -p, rtol=1e-6)
    u = _top_uy(tmp_path / "out")
    assert len(u) == 3                                   # t = 0, end of plating, end of the rest
    assert u[1] - u[0] == pytest.approx(plated * (1 - f_irr + f_irr / (1 - porosity)), rel=1e-6, abs=0)
    li = materials.get("Li")
    M = constrained_modulus(li.youngs_modulus_Pa, li.poissons_ratio)
    phi = f_irr * plated / t_e
    softening = -p * t_e * (1 / (M * (1 - phi) ** 2.0) - 1 / M)
    assert u[2] - u[1] == pytest.approx(softening, rel=1e-4, abs=1e-9 * plated)


# -- the smoothed growth eigenstrain (cycling.growth_smoothing_length_m) -------------------------------

def _smoothing(h_facet=0.5e-6, n=40, delta=4e-6, s=1e-6):
    """A CyclingProblem's smoothing operator on a flat interface of n facets (y = 0) and a layer of
    quadrature-like points below it, without a finite-element window."""
    from scipy.spatial import cKDTree

    from ecmsim.core.fem import MPI
    from ecmsim.electrochem.cycling import CyclingProblem

    c = object.__new__(CyclingProblem)
    c.x = (np.arange(n) + 0.5) * h_facet
    c.y = np.zeros(n)
    c.length = np.full(n, h_facet)
    c._tree = cKDTree(np.column_stack([c.x, c.y]))
    c.smoothing, c.comm, c.delta = s, MPI.COMM_SELF, delta
    rng = np.random.default_rng(3)
    pts = np.column_stack([rng.uniform(0, n * h_facet, 4000), -rng.uniform(0, delta, 4000)])
    weights = np.full(len(pts), n * h_facet * delta / len(pts))
    c.layer = np.arange(len(pts))
    c.layer_k = c._tree.query(pts)[1]
    c.layer_area = np.bincount(c.layer_k, weights=weights, minlength=n)

    class Mech:
        _owned_points = np.ones(len(pts), bool)
        _weights = weights
    return c, c._smoothing_operator(pts, Mech()), weights, pts


def test_smoothing_keeps_a_uniform_growth_and_every_facets_volume():
    """Rows sum exactly to 1 (a uniform plated thickness gives the nearest-facet rule's uniform
    eigenstrain) and the weighted columns to A_k within 1e-3 (each facet's plated volume lands in the
    layer, as with the nearest facet), so the window's volume bookkeeping is that of the nearest-facet
    rule for any thickness profile."""
    c, S, w, pts = _smoothing()
    assert np.allclose(np.asarray(S.sum(axis=1)).ravel(), 1.0, rtol=0, atol=1e-12)
    assert np.allclose(np.asarray(S.T @ w).ravel(), c.layer_area, rtol=0, atol=1e-3 * c.layer_area.max())
    assert c.smoothing_column_error < 1e-3
    h = np.random.default_rng(1).uniform(-1, 1, len(c.x))
    nearest = float(np.dot(w, h[c.layer_k]))
    assert float(np.dot(w, S @ h)) == pytest.approx(nearest, rel=0, abs=1e-3 * float(np.dot(w, np.abs(h[c.layer_k]))))


def test_smoothing_removes_the_facet_to_facet_mosaic():
    """A thickness that alternates from facet to facet (the mosaic the nearest-facet rule copies into the
    layer) is averaged out over the Gaussian's width: the eigenstrain's spread falls below 5 % of the
    nearest-facet rule's."""
    c, S, w, pts = _smoothing()
    h = np.where(np.arange(len(c.x)) % 2 == 0, 1.0, -1.0)
    inner = (pts[:, 0] > 3e-6) & (pts[:, 0] < c.x[-1] - 3e-6)      # away from the window's ends
    assert np.std((S @ h)[inner]) < 0.05 * np.std(h[c.layer_k][inner])


def test_flat_plating_with_smoothing_grows_the_stack_by_the_plated_thickness(tmp_path):
    """A uniform plating with the smoothed eigenstrain is the nearest-facet rule's: the top rises by the
    plated thickness and sigma_nn = -p, exactly as without smoothing."""
    path = tmp_path / "p.toml"
    path.write_text(FLAT_PLATING.format(f_irr=0.0, porosity=0.0).replace(
        "deposition_layer_thickness_m = 4.5e-6", "deposition_layer_thickness_m = 4.5e-6\ngrowth_smoothing_length_m = 1e-6"))
    proc = run_cli("run", str(path), "-o", str(tmp_path / "out"), "-q")
    assert proc.returncode == 0, proc.stderr
    h = history(tmp_path / "out")
    plated = 2.0 * 1200 * OMEGA / FARADAY_C_PER_MOL
    for key in ("interface_sigma_nn_mean_Pa", "interface_sigma_nn_min_Pa", "interface_sigma_nn_max_Pa"):
        np.testing.assert_allclose(h[key], -2.4e6, rtol=1e-6)
    u = _top_uy(tmp_path / "out")
    assert u[1] - u[0] == pytest.approx(plated, rel=1e-6, abs=0)


def test_smoothing_is_a_gaussian_of_the_stated_width_along_the_interface():
    """A plated thickness cos(2 pi x / L) over L = 10 um comes out as the Gaussian filter of width s says,
    exp(-(2 pi s / L)^2 / 2) = 0.821 of its amplitude (s = 1 um), at every depth of the layer."""
    c, S, w, pts = _smoothing()
    L, s = 10e-6, 1e-6
    h = np.cos(2 * np.pi * c.x / L)
    inner = (pts[:, 0] > 4e-6) & (pts[:, 0] < c.x[-1] - 4e-6)
    smoothed = S @ h
    basis = np.column_stack([np.cos(2 * np.pi * pts[inner, 0] / L), np.sin(2 * np.pi * pts[inner, 0] / L)])
    amplitude = np.linalg.lstsq(basis, smoothed[inner], rcond=None)[0]
    # the facets sample the cosine at their midpoints: the discrete filter of the same Gaussian
    assert np.hypot(*amplitude) == pytest.approx(np.exp(-0.5 * (2 * np.pi * s / L) ** 2), rel=0.03, abs=0)
    deep = inner & (pts[:, 1] < -3e-6)
    fit_deep = np.linalg.lstsq(np.column_stack([np.cos(2 * np.pi * pts[deep, 0] / L), np.sin(2 * np.pi * pts[deep, 0] / L)]),
                               smoothed[deep], rcond=None)[0]
    assert np.hypot(*fit_deep) == pytest.approx(np.hypot(*amplitude), rel=0.02, abs=0)
