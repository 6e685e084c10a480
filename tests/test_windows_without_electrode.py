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
    from ecmsim.core.fem import MPI
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
        assert phase[f"von_mises_mean_{region}_Pa"] == pytest.approx(vm, rel=1e-8, abs=0)
        assert phase[f"von_mises_max_{region}_Pa"] == pytest.approx(vm, rel=1e-8, abs=0)
    assert set(phase) == {f"von_mises_{s}_{r}_Pa" for s in ("mean", "max") for r in mats}
    assert bound["electrolyte_particle_normal_stress_mean_Pa"] == pytest.approx(-P, rel=1e-8, abs=0)
    assert bound["electrolyte_particle_normal_stress_min_Pa"] == pytest.approx(-P, rel=1e-8, abs=0)
    assert bound["electrolyte_particle_normal_stress_max_Pa"] == pytest.approx(-P, rel=1e-8, abs=0)
    assert bound["electrolyte_particle_normal_stress_std_Pa"] < 1e-6 * P
    assert bound["electrolyte_particle_shear_stress_max_abs_Pa"] < 1e-6 * P
    assert bound["electrolyte_particle_length_m"] == pytest.approx(W, rel=1e-12, abs=0)


def test_boundary_traction_is_the_same_from_either_side(layered):
    """The traction on the boundary from the electrolyte cells, from the particle cells and their
    average: all -p on the flat boundary (equilibrium), sampled on the boundary line itself."""
    from ecmsim.mechanics.stresses import interface_profile

    sol, _ = layered
    for side in ("electrolyte", "particle", "both"):
        prof = interface_profile(sol, "electrolyte_particle", side=side, sides=("electrolyte", "particle"))
        assert np.allclose(prof.normal_stress_Pa, -P, rtol=1e-8, atol=0)
        assert np.allclose(prof.y_m, H1, atol=0)


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


# --- contact on composite windows ------------------------------------------------------------------

def _li_over_composite():
    """Li (rows 0-59) over PLL with LLZO particles, three of them cut by the flat interface (so
    the electrode touches particles: an ``electrode_particle`` facet group), and a few pores."""
    from ecmsim.geometry import image as img
    from ecmsim.geometry import synthetic as syn
    from ecmsim.geometry.image import ELECTRODE, ELECTROLYTE, PARTICLE, VOID

    h, w = 160, 320
    lab = np.full((h, w), ELECTROLYTE, np.uint8)
    lab[:60] = ELECTRODE
    rr, cc = np.mgrid[0:h, 0:w]
    part = syn.disks((h, w), 0.25, (8, 14), 21, within=rr >= 60)
    for c0 in (60, 170, 260):
        part |= (rr - 64) ** 2 + (cc - c0) ** 2 <= 12**2
    lab[part & (rr >= 60)] = PARTICLE
    lab[syn.disks((h, w), 0.03, (4, 6), 22, within=lab == ELECTROLYTE)] = VOID
    values = {"void": VOID, "electrode": ELECTRODE, "electrolyte": ELECTROLYTE, "particle": PARTICLE}
    return img.array_to_geometry(lab, img.ImageOptions(pixel_size_m=50e-9, label_values=values)).geometry


def test_contact_on_a_composite_window_with_particles_touching_the_electrode():
    """Particles touching the Li used to glue electrode and electrolyte into one body ("contact facet
    group 'interface' joins regions of one body"); now every electrode boundary is a contact pair.
    The flat interface carries the whole stack load: interface + electrode_particle forces = p W."""
    from ecmsim import materials
    from ecmsim.core.fem import MPI
    from ecmsim.mechanics.contact import stack_pressure_contact_problem
    from ecmsim.mesh import MeshOptions, mesh_geometry

    geo = _li_over_composite()
    tm = mesh_geometry(geo, MeshOptions(1.25e-6, 0.25e-6), MPI.COMM_WORLD)
    assert {"interface", "electrode_particle", "electrolyte_particle"} <= set(tm.facet_ids)
    mats = {"electrode": materials.get("Li"), "electrolyte": materials.get("PLL"), "particle": materials.get("LLZO")}
    problem = stack_pressure_contact_problem(tm, mats, P, 2)
    assert [p.facet for p in problem.pairs] == ["interface", "electrode_particle"]
    assert [b.name for b in problem.bodies] == ["electrode", "electrolyte+particle"]
    sol = problem.solve(2)
    problem.close()
    m = {k: c.metrics() for k, c in sol.contact.items()}
    total = m["interface"]["contact_force_N_per_m"] + m["electrode_particle"]["contact_force_N_per_m"]
    assert total == pytest.approx(P * geo.width_m, rel=1e-6, abs=0)
    assert m["electrode_particle"]["contact_fraction"] == pytest.approx(1.0)
    # the stiff particles under the Li carry more than the mean pressure
    assert m["electrode_particle"]["contact_pressure_mean_Pa"] > P > m["interface"]["contact_pressure_mean_Pa"]


def test_contact_on_a_window_without_electrode_is_refused_in_one_line(tmp_path):
    from conftest import assert_one_line_error

    proc = run_cli("run", str(SCENARIOS / "composite_window.toml"), "-o", str(tmp_path / "x"), "-q",
                   "--set", "interface.model='contact'", "--set", "output.plots=false")
    assert_one_line_error(proc, "interface.model = 'contact' needs an electrode", "use interface.model = 'bonded'")
