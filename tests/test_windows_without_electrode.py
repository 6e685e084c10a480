"""Windows without an electrode (issue 13): a porous electrolyte and a composite (particles in an
electrolyte) run end to end through ``ecmsim run``; their metrics are per phase and on the
particle/electrolyte boundary, checked against the uniaxial-strain closed form on a layered window.

Layered window (electrolyte below, particle layer above, rollers on the sides, bottom fixed,
stack pressure p on top): uniaxial strain in each layer, sigma_yy = -p, sigma_xx = sigma_zz =
-p nu/(1 - nu), so the von Mises stress of each phase is p (1 - 2 nu)/(1 - nu) (mean = max), the
traction on the electrolyte_particle boundary is -p (std 0), its shear 0, its length the width.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import ROOT, SCENARIOS, read_summary, run_cli

pytestmark = pytest.mark.fem

P = 2.4e6
W, H1, H2 = 8e-6, 3e-6, 2e-6


@pytest.fixture(scope="module")
def layered():
    from ecmsim import materials
    from ecmsim.fem import MPI
    from ecmsim.geometry import Geometry, Region
    from ecmsim.mechanics.elasticity import stack_pressure_problem
    from ecmsim.mesh import MeshOptions, mesh_geometry

    geo = Geometry(W, H1 + H2, [Region("electrolyte", np.array([[0, 0], [W, 0], [W, H1], [0, H1]])),
                                Region("particle", np.array([[0, H1], [W, H1], [W, H1 + H2], [0, H1 + H2]]))])
    tm = mesh_geometry(geo, MeshOptions(1e-6, 0.5e-6), MPI.COMM_WORLD)
    mats = {"electrolyte": materials.get("PLL"), "particle": materials.get("LLZO")}
    problem = stack_pressure_problem(tm, mats, P, 2)
    sol = problem.solve()
    return sol, mats


def test_layered_window_phase_and_boundary_metrics_closed_form(layered):
    from ecmsim.mechanics.stresses import boundary_metrics, phase_boundaries, phase_metrics

    sol, mats = layered
    assert phase_boundaries(sol.tmesh) == {"electrolyte_particle": ("electrolyte", "particle")}
    phase, bound = phase_metrics(sol), boundary_metrics(sol)
    for region, mat in mats.items():
        nu = mat.poissons_ratio
        vm = P * (1 - 2 * nu) / (1 - nu)
        assert phase[f"von_mises_mean_{region}_Pa"] == pytest.approx(vm, rel=1e-8)
        assert phase[f"von_mises_max_{region}_Pa"] == pytest.approx(vm, rel=1e-8)
    assert set(phase) == {f"von_mises_{s}_{r}_Pa" for s in ("mean", "max") for r in mats}
    assert bound["electrolyte_particle_normal_stress_mean_Pa"] == pytest.approx(-P, rel=1e-8)
    assert bound["electrolyte_particle_normal_stress_min_Pa"] == pytest.approx(-P, rel=1e-8)
    assert bound["electrolyte_particle_normal_stress_max_Pa"] == pytest.approx(-P, rel=1e-8)
    assert bound["electrolyte_particle_normal_stress_std_Pa"] < 1e-6 * P
    assert bound["electrolyte_particle_shear_stress_max_abs_Pa"] < 1e-6 * P
    assert bound["electrolyte_particle_length_m"] == pytest.approx(W, rel=1e-12)


def test_boundary_traction_is_the_same_from_either_side(layered):
    """The traction on the boundary from the electrolyte cells, from the particle cells and their
    average: all -p on the flat boundary (equilibrium), sampled on the boundary line itself."""
    from ecmsim.mechanics.stresses import interface_profile

    sol, _ = layered
    for side in ("electrolyte", "particle", "both"):
        prof = interface_profile(sol, "electrolyte_particle", side=side, sides=("electrolyte", "particle"))
        assert np.allclose(prof.normal_stress_Pa, -P, rtol=1e-8)
        assert np.allclose(prof.y_m, H1)


@pytest.fixture(scope="module", params=["composite_window", "porous_electrolyte"])
def window_run(request, tmp_path_factory):
    out = tmp_path_factory.mktemp("no_electrode") / request.param
    proc = run_cli("run", str(SCENARIOS / f"{request.param}.toml"), "-o", str(out), "-q",
                   "--set", "output.fields=false")
    assert proc.returncode == 0, proc.stderr
    return request.param, out, read_summary(out)


def test_window_without_electrode_runs_end_to_end(window_run):
    name, out, summary = window_run
    metrics = summary["metrics"]
    truth = json.loads((ROOT / "meshes" / f"{name}.json").read_text())["phase_fraction_true"]
    report = json.loads((out / "mesh.report.json").read_text())
    # segmented without hints but the phase names, meshed: area fractions within 2 points of the truth
    window = report["window_width_m"] * report["window_height_m"]
    fractions = {r: a / window for r, a in report["region_area_m2"].items()} | {"void": report["void_area_fraction"]}
    assert set(fractions) == set(truth)
    for phase, value in truth.items():
        assert fractions[phase] == pytest.approx(value, abs=0.02), (phase, fractions[phase], value)
    assert "interface_normal_stress_mean_Pa" not in metrics          # no interface, no interface metrics
    assert not (out / "interface_profile.csv").exists()
    assert (out / "stress_map.png").exists()
    regions = ["electrolyte"] + (["particle"] if name == "composite_window" else [])
    for region in regions:
        assert metrics[f"von_mises_mean_{region}_Pa"] > 0
        assert metrics[f"von_mises_max_{region}_Pa"] >= metrics[f"von_mises_mean_{region}_Pa"]
    assert metrics["von_mises_max_Pa"] == pytest.approx(max(metrics[f"von_mises_max_{r}_Pa"] for r in regions))
    if name == "composite_window":
        # particle boundaries are compressed on average (between the lateral and the vertical stress
        # of the matrix), and the stiff particles carry more deviatoric stress than the soft matrix
        assert -2 * P < metrics["electrolyte_particle_normal_stress_mean_Pa"] < -0.3 * P
        assert metrics["electrolyte_particle_length_m"] > 0
        assert metrics["von_mises_mean_particle_Pa"] > metrics["von_mises_mean_electrolyte_Pa"]
    else:
        assert not any(k.startswith("electrolyte_particle") for k in metrics)
        # pores concentrate stress: the electrolyte's von Mises max well above the uniaxial value
        nu = summary["materials"]["electrolyte"]["poissons_ratio"]
        assert metrics["von_mises_max_electrolyte_Pa"] > 2 * P * (1 - 2 * nu) / (1 - nu)
