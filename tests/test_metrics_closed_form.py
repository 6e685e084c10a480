"""Every metric that summary.json reports, against a closed form or an independent reference.

Flat bilayer, plane strain, rollers on the sides, stack pressure p on top (uniaxial strain, exact
in every discrete space): in each layer sigma_yy = -p, sigma_xx = sigma_zz = -p nu/(1 - nu),
sigma_xy = 0, so

- interface normal traction -p everywhere: mean = min = max = -p, std = 0, cv = 0, centre/edge = 1;
  interface shear 0; interface length = window width;
- von Mises p (1 - 2 nu)/(1 - nu) (mean = max per layer), hydrostatic -p (1 + nu)/(3 (1 - nu)) per layer (max / min over
  the two layers);
- contact (the same window with a frictionless contact interface): contact fraction 1, contact
  pressure p everywhere (mean = max), force p W, gap 0.

The sinusoidal interface has no closed form; there the shear's sign and size are checked by the
vertical equilibrium of the electrode (the interface carries exactly p W, the rollers nothing
vertical), and the centre/edge ratio and mean by recomputing them from interface_profile.csv.
Coulomb friction: |tau| <= mu |sigma_n| on the whole interface, = where it slips.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import SCENARIOS, read_summary, run_cli

pytestmark = pytest.mark.fem

FLAT = str(SCENARIOS / "flat_bilayer.toml")
COARSE = ["--set", "mesh.size_m=2e-6", "--set", "mesh.interface_size_m=1e-6", "--set", "output.plots=false",
          "--set", "output.fields=false", "-q"]


def _run(tmp_path_factory, name, *extra) -> dict:
    out = tmp_path_factory.mktemp("closed_form") / name
    proc = run_cli("run", *extra, "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    return read_summary(out) | {"_dir": out}


def flat_closed_form(summary: dict) -> dict[str, float]:
    """The expected value of every metric of a flat bilayer run."""
    p = summary["scenario"]["loading"]["stack_pressure_Pa"]
    nus = [summary["materials"][r]["poissons_ratio"] for r in ("electrode", "electrolyte")]
    vm = [p * (1 - 2 * nu) / (1 - nu) for nu in nus]
    hyd = [-p * (1 + nu) / (3 * (1 - nu)) for nu in nus]
    return {
        "interface_normal_stress_mean_Pa": -p,
        "interface_normal_stress_min_Pa": -p,
        "interface_normal_stress_max_Pa": -p,
        "interface_normal_stress_std_Pa": 0.0,
        "interface_normal_stress_cv": 0.0,
        "interface_normal_stress_centre_edge_ratio": 1.0,
        "interface_shear_stress_max_abs_Pa": 0.0,
        "interface_length_m": summary["scenario"]["geometry"]["width_m"],
        "von_mises_max_Pa": max(vm),
        "hydrostatic_stress_min_Pa": min(hyd),
        "hydrostatic_stress_max_Pa": max(hyd),
        "stack_pressure_Pa": p,
        # per phase: the uniform stress of each layer (phase_metrics)
        "von_mises_mean_electrode_Pa": vm[0], "von_mises_max_electrode_Pa": vm[0],
        "von_mises_mean_electrolyte_Pa": vm[1], "von_mises_max_electrolyte_Pa": vm[1],
    }


def _assert_metrics(metrics: dict, expected: dict, p: float) -> None:
    assert set(metrics) == set(expected), set(metrics) ^ set(expected)  # a new metric needs its closed form
    for key, want in expected.items():
        scale = p if key.endswith("_Pa") or key.endswith("_N_per_m") else 1.0
        if key.endswith("_m"):
            scale = 40e-6 if "gap" not in key else 1e-7
        assert metrics[key] == pytest.approx(want, rel=1e-8, abs=1e-9 * scale), (key, metrics[key], want)


@pytest.fixture(scope="module", params=[1, 2, 3], ids=["P1", "P2", "P3"])
def flat_bonded(request, tmp_path_factory):
    """The patch test of every element degree the schema allows (1 ... 3)."""
    return _run(tmp_path_factory, f"flat_p{request.param}", FLAT, *COARSE, "--set",
                f"solver.element_degree={request.param}") | {"_degree": request.param}


def test_flat_bilayer_every_metric_closed_form(flat_bonded):
    assert flat_bonded["scenario"]["solver"]["element_degree"] == flat_bonded["_degree"]
    p = flat_bonded["scenario"]["loading"]["stack_pressure_Pa"]
    _assert_metrics(flat_bonded["metrics"], flat_closed_form(flat_bonded), p)
    assert flat_bonded["warnings"] == []


def test_flat_bilayer_contact_every_metric_closed_form(tmp_path_factory):
    s = _run(tmp_path_factory, "flat_contact", FLAT, *COARSE, "--set", "interface.model='contact'",
             "--set", "interface.load_steps=1")
    p = s["scenario"]["loading"]["stack_pressure_Pa"]
    width = s["scenario"]["geometry"]["width_m"]
    expected = flat_closed_form(s) | {"contact_fraction": 1.0, "contact_pressure_mean_Pa": p,
                                      "contact_pressure_max_Pa": p, "contact_force_N_per_m": p * width,
                                      "gap_max_m": 0.0, "gap_min_m": 0.0, "separated_fraction": 0.0}
    _assert_metrics(s["metrics"], expected, p)


@pytest.fixture(scope="module")
def sinusoidal(tmp_path_factory):
    return _run(tmp_path_factory, "sinus", str(SCENARIOS / "sinusoidal_interface.toml"), "--set",
                "mesh.size_m=1e-6", "--set", "mesh.interface_size_m=0.5e-6", "--set", "output.plots=false",
                "--set", "output.fields=false", "-q")


def _profile(folder):
    from ecmsim.results import read_csv
    return read_csv(folder / "interface_profile.csv")


def test_sinusoidal_interface_carries_the_stack_load_vertical_equilibrium(sinusoidal):
    """Integral of the vertical traction (sigma n)_y = sigma_n n_y - tau n_x over the interface = -p W.
    n from the sinusoid y = y0 + a sin(2 pi x / lambda) itself. The shear term is ~4 % of the total
    here, so a flipped or scaled shear fails by far more than the 0.3 % allowed."""
    g = sinusoidal["scenario"]["geometry"]
    p = sinusoidal["scenario"]["loading"]["stack_pressure_Pa"]
    prof = _profile(sinusoidal["_dir"])
    x, w = prof["x_m"], prof["weight_m"]
    slope = g["amplitude_m"] * 2 * math.pi / g["wavelength_m"] * np.cos(2 * math.pi * x / g["wavelength_m"])
    nx, ny = -slope / np.hypot(slope, 1), 1 / np.hypot(slope, 1)
    sn, tau = prof["normal_stress_Pa"], prof["shear_stress_Pa"]
    vertical = np.dot(w, sn * ny - tau * nx)
    shear_part = abs(np.dot(w, tau * nx))
    assert shear_part > 0.02 * p * g["width_m"]                     # the check has teeth
    assert vertical == pytest.approx(-p * g["width_m"], rel=3e-3, abs=0)
    horizontal = np.dot(w, sn * nx + tau * ny)                      # periodic, symmetric relief: no net shear
    assert abs(horizontal) < 3e-3 * p * g["width_m"]


def test_sinusoidal_metrics_recomputed_from_the_profile(sinusoidal):
    """Mean, centre/edge ratio (weighted means: unchanged by the CSV's merging of shared points), std,
    cv, extremes and length from interface_profile.csv, independently of InterfaceProfile.metrics.
    The extremes are the file's exactly (before issue 23 they came from the raw per-facet samples and
    could disagree with the file: +2.4 MPa of tension in a contact metric, -0.63 MPa in the CSV)."""
    m = sinusoidal["metrics"]
    width = sinusoidal["scenario"]["geometry"]["width_m"]
    prof = _profile(sinusoidal["_dir"])
    x, w, s, tau = prof["x_m"], prof["weight_m"], prof["normal_stress_Pa"], prof["shear_stress_Pa"]
    mean = np.dot(w, s) / w.sum()
    centre = np.abs(x - width / 2) <= width / 4
    ratio = (np.dot(w[centre], s[centre]) / w[centre].sum()) / (np.dot(w[~centre], s[~centre]) / w[~centre].sum())
    std = math.sqrt(np.dot(w, (s - mean) ** 2) / w.sum())
    assert m["interface_normal_stress_mean_Pa"] == pytest.approx(mean, rel=1e-9, abs=0)
    assert m["interface_normal_stress_centre_edge_ratio"] == pytest.approx(ratio, rel=1e-9, abs=0)
    assert m["interface_normal_stress_std_Pa"] == pytest.approx(std, rel=0.05, abs=0)      # merged points: a bit smoother
    assert m["interface_normal_stress_cv"] == pytest.approx(m["interface_normal_stress_std_Pa"] / abs(mean), rel=1e-12, abs=0)
    # the extremes are the CSV's own, away from the side walls (EDGE_BAND_FRACTION of the width: the
    # rollers meet the interface in a corner there, and the wall values leave the interior's range)
    from ecmsim.mechanics.stresses import EDGE_BAND_FRACTION
    band = EDGE_BAND_FRACTION * (x.max() - x.min())
    inner = (x >= x.min() + band) & (x <= x.max() - band)
    assert m["interface_normal_stress_min_Pa"] == pytest.approx(s[inner].min(), rel=1e-12, abs=0)
    assert m["interface_normal_stress_max_Pa"] == pytest.approx(s[inner].max(), rel=1e-12, abs=0)
    assert m["interface_shear_stress_max_abs_Pa"] == pytest.approx(np.abs(tau[inner]).max(), rel=1e-12, abs=0)
    assert s.min() < m["interface_normal_stress_min_Pa"] and s.max() > m["interface_normal_stress_max_Pa"]
    assert m["interface_length_m"] == pytest.approx(w.sum(), rel=1e-12, abs=0)
    # arc length of the sinusoid (numerically): the polyline is within 1e-3 of it
    xx = np.linspace(0, width, 20001)
    g = sinusoidal["scenario"]["geometry"]
    yy = g["amplitude_m"] * np.sin(2 * math.pi * xx / g["wavelength_m"])
    assert w.sum() == pytest.approx(np.hypot(np.diff(xx), np.diff(yy)).sum(), rel=1e-3, abs=0)


def test_local_strain_of_the_flat_bilayer_and_the_warning(monkeypatch):
    """max_local_strain = max over layers of von Mises / E = p (1 - 2 nu) / ((1 - nu) E)."""
    from ecmsim import materials
    from ecmsim.mechanics import validity as guards
    from ecmsim.core.fem import MPI
    from ecmsim.geometry import generators
    from ecmsim.mechanics.elasticity import stack_pressure_problem
    from ecmsim.mesh import MeshOptions, mesh_geometry

    mats = {"electrode": materials.get("Li"), "electrolyte": materials.get("PLL")}
    p = 2.4e6
    tm = mesh_geometry(generators.flat(40e-6, 20e-6, 20e-6), MeshOptions(size_m=5e-6), MPI.COMM_WORLD)
    problem = stack_pressure_problem(tm, mats, p, 2)
    solution = problem.solve()
    strain, region = guards.max_local_strain(solution)
    expected = {r: p * (1 - 2 * m.poissons_ratio) / ((1 - m.poissons_ratio) * m.youngs_modulus_Pa)
                for r, m in mats.items()}
    assert region == max(expected, key=expected.get)
    assert strain == pytest.approx(max(expected.values()), rel=1e-8, abs=0)
    assert guards.solution_warnings(solution) == []
    monkeypatch.setattr(guards, "WARN_LOCAL_STRAIN", 0.5 * strain)
    (line,) = guards.solution_warnings(solution)
    assert line.startswith(f"warning: the {region}'s von Mises stress reaches") and "small-strain" in line
    problem.close()


@pytest.mark.slow
def test_coulomb_law_on_a_sinusoidal_contact():
    """Coulomb: |tau| <= mu |sigma_n| everywhere, and |tau| = mu |sigma_n| where the interface slips.
    mu = 0.1 slips on most of the relief (measured: 79 % of the length within 5 % of the cone, 2 %
    above it, at the window's side walls); mu = 0.3 sticks everywhere (|tau| <= 0.76 mu |sigma_n|)."""
    from contact_cases import LI_PLL

    from ecmsim.core.fem import MPI
    from ecmsim.geometry import generators
    from ecmsim.mechanics.contact import stack_pressure_contact_problem
    from ecmsim.mechanics.stresses import interface_profile
    from ecmsim.mesh import MeshOptions, mesh_geometry

    tm = mesh_geometry(generators.sinusoidal(40e-6, 20e-6, 20e-6, 2e-6, 20e-6),
                       MeshOptions(size_m=1e-6, interface_size_m=0.5e-6), MPI.COMM_WORLD)
    fractions = {}
    for mu in (0.1, 0.3):
        problem = stack_pressure_contact_problem(tm, LI_PLL, 2.4e6, friction_coefficient=mu)
        profile = interface_profile(problem.solve(load_steps=4)).merged()
        problem.close()
        ratio = np.abs(profile.shear_stress_Pa) / (mu * np.abs(profile.normal_stress_Pa))
        w = profile.weight_m / profile.weight_m.sum()
        fractions[mu] = (w[ratio > 1.05].sum(), w[np.abs(ratio - 1) <= 0.05].sum(), ratio.max())
    print("mu: (length fraction above the cone, on the cone, max |tau|/(mu|sigma_n|))", fractions)
    above, on, _ = fractions[0.1]
    assert above < 0.05 and on > 0.6          # slips: the shear sits on the Coulomb cone
    above, on, largest = fractions[0.3]
    assert largest < 0.95                     # sticks: strictly inside the cone everywhere


def test_extremes_are_those_of_the_written_profile_not_of_raw_facet_samples():
    """A vertex shared by two facets is sampled twice (each facet's cells give it a slightly different
    stress); the file merges them. The metrics' extremes are the merged profile's, inside the wall
    bands: a raw sample of tension (+2 MPa) next to a compressive one that merge to -0.5 MPa is not a
    'maximum' of +2 MPa, and a wall corner's value is not the interface's."""
    from ecmsim.mechanics.stresses import InterfaceProfile

    x = np.array([0.0, 10, 10, 20, 20, 30, 30, 40]) * 1e-6
    s = np.array([-9.0, -1.0, -1.0, 2.0, -3.0, -2.0, -2.0, 5.0]) * 1e6
    w = np.full(8, 1e-6)
    profile = InterfaceProfile(x, np.zeros(8), s, np.zeros(8), w)
    m = profile.metrics(40e-6)
    merged = profile.merged()
    assert list(merged.normal_stress_Pa) == pytest.approx([-9e6, -1e6, -0.5e6, -2e6, 5e6], rel=1e-12, abs=0)
    assert m["interface_normal_stress_max_Pa"] == -0.5e6 and m["interface_normal_stress_min_Pa"] == -2e6
    assert m["interface_normal_stress_mean_Pa"] == pytest.approx(s.mean(), rel=1e-12, abs=0)
