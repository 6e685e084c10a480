"""``ecmsim validate --uq``: the uncertain inputs file, where each input goes, the sensitivity estimator
against known answers, and the bands end to end on a toy suite."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest

from conftest import ROOT, SCENARIOS, assert_one_line_error, run_cli
from ecmsim import materials
from ecmsim import scenario as scenario_mod
from ecmsim.core.errors import InputFileError, MaterialError
from ecmsim.studies import uq
from ecmsim.studies.cases import find_suite, load_cases


def test_first_order_shares_of_a_linear_response_are_exact():
    """y = sum c_i x_i with independent uniform inputs: S_i = c_i^2 Var x_i / sum; 12 samples of 6 inputs."""
    from scipy.stats import qmc

    c = np.array([3.0, 2.0, 1.0, 0.5, 0.2, 0.0])
    lo, hi = np.zeros(6), np.array([1.0, 1.0, 1.0, 2.0, 1.0, 1.0])
    x = lo + qmc.LatinHypercube(d=6, seed=3).random(12) * (hi - lo)
    var = (hi - lo) ** 2 / 12
    shares, r2 = uq.first_order(x, x @ c + 7.0, var)
    exact = c**2 * var / np.sum(c**2 * var)
    assert np.allclose(shares, exact, rtol=0, atol=1e-9) and r2 == pytest.approx(1.0, abs=1e-12)
    assert uq.first_order(x[:7], (x @ c)[:7], var) is None        # fewer than d + 2 samples
    # an interaction the linear fit cannot explain shows in R^2 and in the shares' sum
    y = (x[:, 0] - 0.5) * (x[:, 1] - 0.5) * 40 + 0.1 * x[:, 2]
    shares, r2 = uq.first_order(x, y, var)
    assert r2 < 0.9 and sum(shares) < 0.9


def test_distributions_sample_their_ranges():
    u = np.linspace(0.01, 0.99, 9)
    logu = uq.UncertainInput("a", "a", "loguniform", {"low": 1e4, "high": 1e6}, "s", [])
    assert np.allclose(np.log10(logu.ppf(u)), 4 + 2 * u, rtol=0, atol=1e-12)
    assert logu.variance() == pytest.approx((math.log(100.0)) ** 2 / 12, rel=1e-12, abs=0)
    tri = uq.UncertainInput("t", "t", "triangular", {"low": 0.0, "mode": 1.0, "high": 4.0}, "s", [])
    assert tri.ppf([0.0])[0] == pytest.approx(0.0, abs=1e-12) and tri.ppf([1.0])[0] == pytest.approx(4.0, abs=1e-12)
    samples = tri.ppf(np.random.default_rng(1).random(200_000))
    assert samples.var() == pytest.approx(tri.variance(), rel=0.02, abs=0)


def test_shipped_inputs_load_with_sources():
    inputs = uq.load_inputs(ROOT / "validation" / "uncertain_inputs.toml")
    names = {u.name for u in inputs}
    assert {"Li creep prefactor", "Li creep length", "PLL modulus", "PLL conductivity", "membrane thickness",
            "fitted membrane thickness", "interface friction"} <= names
    assert all(u.source.strip() and u.targets for u in inputs)


@pytest.mark.parametrize("change, fragment", [
    (('distribution = "uniform"', 'distribution = "flat"'), "must be one of"),
    (("low = 1.0", "low = 3.0"), "not a valid uniform"),
    (('source = "toy"', 'source = ""'), "source"),
    (('property = "youngs_modulus_Pa"', 'property = "charm"'), "has no 'charm'"),
    (('material = "PLL"', 'material = "unobtainium"'), "unknown material"),
    (("high = 2.0", "high = 2.0\nmode = 1.5"), "unknown key"),
])
def test_a_malformed_input_is_one_clear_error(tmp_path, change, fragment):
    text = ('[[input]]\nname = "x"\nquantity = "x"\ndistribution = "uniform"\nlow = 1.0\nhigh = 2.0\n'
            'source = "toy"\n[[input.target]]\nmaterial = "PLL"\nproperty = "youngs_modulus_Pa"\n')
    path = tmp_path / "u.toml"
    path.write_text(text.replace(*change))
    with pytest.raises((InputFileError, MaterialError), match=fragment):
        uq.load_inputs(path)


def test_inputs_reach_the_runs_they_are_about():
    inputs = uq.load_inputs(ROOT / "validation" / "uncertain_inputs.toml")
    mid = [float(u.ppf([0.5])[0]) for u in inputs]
    names = [u.name for u in inputs]

    def reach(scenario, overrides=()):
        scn = scenario_mod.load(SCENARIOS / scenario, list(overrides)).to_dict()
        sets, used = uq.overrides_for(inputs, mid, scn, materials.get)
        return sets, {names[i] for i in used}

    sets, used = reach("cycling_li_pll_fbg.toml")
    assert {"Li creep prefactor", "Li creep length", "PLL conductivity", "membrane thickness",
            "dead Li fraction", "PLL modulus"} <= used
    assert "fitted membrane thickness" not in used and "interface friction" not in used   # bonded window, no cell keys
    li = next(s for s in sets if s.startswith("materials.electrode="))
    assert "creep_rate_prefactor_per_s = " in li and "exchange_current_density_A_m2 = 1.13" in li
    scn = scenario_mod.load(SCENARIOS / "cycling_li_pll_fbg.toml", sets)     # the overrides are valid
    assert scn.materials.resolve()["electrode"].get("creep_rate_prefactor_per_s") == pytest.approx(
        mid[names.index("Li creep prefactor")], rel=1e-12, abs=0)
    sets, used = reach("fbg_cell_li.toml")
    # the process cell: its membrane (the calibrated thickness), its Li foils' creep
    assert used == {"fitted membrane thickness", "PLL modulus", "Li creep prefactor", "Li size-effect exponent"}
    assert any(s.startswith("geometry.electrolyte_thickness_m=") for s in sets)
    _, used = reach("li_pll_cycled_image.toml", ["interface.model=contact"])
    assert "interface friction" in used and "Li creep prefactor" not in used


def test_every_sample_of_the_shipped_plan_is_a_valid_scenario():
    suite = find_suite()
    predicted = [c for c in load_cases(suite) if c.cls == "predicted"]
    plan = uq.plan(suite, predicted, samples=4, seed=1)
    # the two cycling read-outs and the two fibre cells (the pressure and temperature series of the cell
    # are computed in-process: no band)
    assert len(plan.sample_runs) == 4 * len(plan.reach) and len(plan.reach) >= 4
    desc = plan.describe()
    assert desc["samples"] == 4 and all(i["source"] for i in desc["inputs"])


TOY = """quantity = "mean compressive interface stress of the flat bilayer"
class = "predicted"
unit = "Pa"
quick = true
[reference]
kind = "measured"
value = {value}
source = "toy measurement"
compares_with = ["toy:cell.p"]
[tolerance]
relative = 0.01
reason = "toy"
[simulated]
scenario = "scenarios/flat.toml"
metric = "-interface_normal_stress_mean_Pa"
set = ["output.fields=false", "output.plots=false", "mesh.size_m=4e-6", "mesh.interface_size_m=2e-6"]
[convergence]
not_a_field = "the patch test is exact at any mesh"
"""
INPUTS = """[[input]]
name = "pressure"
quantity = "stack pressure [Pa]"
distribution = "uniform"
low = 2.0e6
high = 3.0e6
source = "toy"
[[input.target]]
key = "loading.stack_pressure_Pa"

[[input]]
name = "PLL modulus"
quantity = "[Pa]"
distribution = "loguniform"
low = 190e6
high = 760e6
source = "toy"
[[input.target]]
material = "PLL"
property = "youngs_modulus_Pa"
"""


def test_uq_end_to_end_bands_sensitivity_and_verdict(tmp_path):
    """The mean interface stress of a flat bilayer is the stack pressure: its band is the pressure's
    5-95 % band, its variance is all the pressure's, none the modulus's; a measurement inside the
    band passes, one outside fails, whatever the tolerance says."""
    (tmp_path / "scenarios").mkdir()
    shutil.copy(SCENARIOS / "flat_bilayer.toml", tmp_path / "scenarios" / "flat.toml")
    suite = tmp_path / "validation"
    (suite / "cases").mkdir(parents=True)
    (suite / "data").mkdir()
    (suite / "data" / "toy.toml").write_text("[cell]\np = 2.4e6\n")
    (suite / "cases" / "inside.toml").write_text(TOY.format(value=2.5e6))
    (suite / "cases" / "outside.toml").write_text(TOY.format(value=3.5e6))
    (suite / "uncertain_inputs.toml").write_text(INPUTS)
    out = tmp_path / "out"
    proc = run_cli("validate", "--cases", str(suite), "-o", str(out), "--uq", "--uq-samples", "6", "-j", "1")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    doc = json.loads((out / "report.json").read_text())
    rec = {c["name"]: c for c in doc["cases"]}
    inside, outside = rec["inside"], rec["outside"]
    assert inside["verdict"] == "PASS" and inside["judged_by"] == "band"
    assert inside["verdict_by_tolerance"] == "FAIL"          # 2.4 MPa nominal vs 2.5 +- 1 %: the band decides
    assert outside["verdict"] == "FAIL"
    assert inside["band_samples"] == 6 and 2.0e6 < inside["band_lo"] < 2.3e6 < 2.7e6 < inside["band_hi"] < 3.0e6
    ranked = inside["sensitivity"]
    assert ranked[0]["input"] == "pressure" and ranked[0]["first_order"] > 0.99
    assert ranked[1]["first_order"] < 1e-3 and inside["sensitivity_r2"] > 0.999
    assert doc["uq"]["samples"] == 6 and [i["name"] for i in doc["uq"]["inputs"]] == ["pressure", "PLL modulus"]
    sweeps = list((out / "uq").glob("flat-*/sweep.csv"))
    assert len(sweeps) == 1 and "pressure" in sweeps[0].read_text().splitlines()[0]
    text = (out / "report.md").read_text()
    assert text.startswith("**1 of 2 `predicted` cases pass** (judged by their 5–95 % band)")
    assert "## Uncertainty bands" in text and "pressure 1.00" in text
    # a distribution that leaves the scenario's range stops everything before a run
    (suite / "uncertain_inputs.toml").write_text(INPUTS.replace("low = 2.0e6", "low = -1.0e6"))
    proc = run_cli("validate", "--cases", str(suite), "-o", str(tmp_path / "out2"), "--uq", "--uq-samples", "4")
    assert_one_line_error(proc, "stack_pressure_Pa", "--uq sample")
    assert not (tmp_path / "out2").exists()


def test_a_sampled_li_sn_keeps_its_skeleton():
    """The sampler writes a library record as an inline table: the Li-Sn record's skeleton (Li22Sn5
    fraction, modulus, hardness, the network's supply) must come along, or every sample of a Li-Sn cell is
    plain Li (the bands of the Li-Sn splitting fell to the isolated-particle bound, 1.03, before this was
    fixed)."""
    from ecmsim import materials

    record = materials.get("LiSn")
    table = uq._inline(record, {"creep_rate_prefactor_per_s": 5e4}, "test")
    scn = scenario_mod.load(SCENARIOS / "fbg_cell_lisn.toml", [f"materials.electrode={table}"])
    got = scn.materials.resolve()["electrode"]
    for key in ("skeleton_volume_fraction", "skeleton_youngs_modulus_Pa", "skeleton_hardness_Pa",
                "skeleton_network_current_A_m2"):
        assert got.properties[key] == record.properties[key], key
    assert got.properties["creep_rate_prefactor_per_s"] == 5e4
