"""``ecmsim validate``: case files, the tolerance logic, the runner and its report (toy cases)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from conftest import SCENARIOS, assert_one_line_error, run_cli
from ecmsim.studies import validate
from ecmsim.studies import checks as validation_checks
from ecmsim.core.errors import InputFileError
from ecmsim.studies.validate import (CASES_DIR, ERROR, FAIL, NOT_MODELLED, PASS, SKIPPED, judge, load_case, load_cases,
                             run_validation)

VALUE_CASE = """
quantity = "toy quantity"
kind = "analytic"
unit = "Pa"
quick = true
[reference]
value = 100.0
source = "toy source"
[tolerance]
{tol}
reason = "toy reason"
[simulated]
check = "toy"
"""


@pytest.fixture(autouse=True)
def toy_check(monkeypatch):
    """A registered check named "toy" for the case files below."""
    monkeypatch.setitem(validation_checks.CHECKS, "toy", lambda ctx: validation_checks.Result(100.0))


def _case(tmp_path: Path, text: str, name: str = "toy") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("tol, inside, outside", [
    ("relative = 0.1", [90.0, 100.0, 110.0], [89.9, 110.1, math.nan, math.inf]),
    ("absolute = 5.0", [95.0, 105.0], [94.99, 105.01]),
])
def test_tolerance_of_a_value(tmp_path, tol, inside, outside):
    case = load_case(_case(tmp_path, VALUE_CASE.format(tol=tol)))
    assert all(judge(case, v) for v in inside)
    assert not any(judge(case, v) for v in outside)
    # a reference computed by the check (a closed form) replaces the file's value
    assert judge(case, 200.0, reference=200.0) and not judge(case, 100.0, reference=200.0)


def test_range_and_bounds(tmp_path):
    text = VALUE_CASE.replace("value = 100.0", "{ref}")
    rng = load_case(_case(tmp_path, text.format(ref="range = [5.0, 30.0]", tol="absolute = 1.0"), "r"))
    assert judge(rng, 4.0) and judge(rng, 31.0) and not judge(rng, 3.9) and not judge(rng, 31.1)
    low = load_case(_case(tmp_path, text.format(ref="min = 1.0", tol="").replace("[tolerance]\n\n", "[tolerance]\n"),
                          "lo"))
    assert judge(low, 1.0) and not judge(low, 0.999)
    high = load_case(_case(tmp_path, text.format(ref="max = 0.5", tol=""), "hi"))
    assert judge(high, 0.5) and not judge(high, 0.5001)


@pytest.mark.parametrize("change, fragment", [
    (("toy source", ""), "reference.source"),
    (('reason = "toy reason"', ""), "tolerance.reason"),
    (("relative = 0.1", ""), "needs tolerance.relative or tolerance.absolute"),
    (('check = "toy"', 'check = "nope"'), "unknown check"),
    (("value = 100.0", "value = 100.0\nrange = [1, 2]"), "exactly one of"),
    (('kind = "analytic"', 'kind = "guess"'), "kind = 'guess'"),
    (('quick = true', 'quick = true\nsurprise = 1'), "unknown key"),
    (("relative = 0.1", "relative = -0.1"), "must be >= 0"),
    (("value = 100.0", 'value = "a lot"'), "must be a finite number"),
])
def test_malformed_case_is_one_clear_error(tmp_path, change, fragment):
    path = _case(tmp_path, VALUE_CASE.format(tol="relative = 0.1").replace(*change))
    with pytest.raises(InputFileError, match=fragment) as err:
        load_case(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_runner_report_pass_fail_error_not_modelled(tmp_path, monkeypatch):
    """A deliberately failing toy case is FAIL, a raising one ERROR, a not-modelled one never PASS;
    the report carries quantity, reference with source, simulated, tolerance with reason, wall time."""
    monkeypatch.setitem(validation_checks.CHECKS, "toy_good", lambda ctx: validation_checks.Result(104.0))
    monkeypatch.setitem(validation_checks.CHECKS, "toy_bad", lambda ctx: validation_checks.Result(
        80.0, details="toy details"))

    def boom(ctx):
        raise RuntimeError("toy explosion\nover two lines")

    monkeypatch.setitem(validation_checks.CHECKS, "toy_boom", boom)
    cases = tmp_path / "cases"
    cases.mkdir()
    base = VALUE_CASE.format(tol="relative = 0.05")
    _case(cases, base.replace('check = "toy"', 'check = "toy_good"'), "a_good")
    _case(cases, base.replace('check = "toy"', 'check = "toy_bad"').replace(
        "quick = true", 'quick = true\nunderstood = "the toy misses a factor"'), "b_bad")
    _case(cases, base.replace('check = "toy"', 'check = "toy_boom"'), "c_boom")
    _case(cases, base.replace('quick = true', 'quick = false').replace('check = "toy"', 'check = "toy_good"'),
          "d_slow")
    _case(cases, base.split("[tolerance]")[0] + '[not_modelled]\nreason = "toy physics missing"\n', "e_later")
    out = tmp_path / "out"
    lines = []
    outcomes, report = run_validation(out, quick=True, cases_dir=cases, echo=lines.append)
    status = {o.case.name: o.status for o in outcomes}
    assert status == {"a_good": PASS, "b_bad": FAIL, "c_boom": ERROR, "d_slow": SKIPPED, "e_later": NOT_MODELLED}
    text = report.read_text()
    for fragment in ("toy quantity", "toy source", "toy reason", "± 5%", "**FAIL**", "**PASS**", "**ERROR**",
                     "**NOT YET MODELLED**", "toy physics missing", "the toy misses a factor", "toy details",
                     "RuntimeError: toy explosion over two lines", "not run (--quick)", "104 Pa", "80 Pa",
                     "1 PASS, 1 FAIL, 1 ERROR, 1 NOT YET MODELLED, 1 not run (--quick)"):
        assert fragment in text, fragment
    row = next(ln for ln in text.splitlines() if ln.startswith("| [b_bad]"))
    assert row.rstrip().endswith(" s |") and "**FAIL**" in row          # wall time in the table
    assert (out / "figures" / "a_good.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "figures" / "b_bad.png").exists()
    assert len(lines) == 5 and any("FAIL" in ln and "b_bad" in ln for ln in lines)
    # all cases without --quick: the slow one runs too
    outcomes, _ = run_validation(out, quick=False, cases_dir=cases, echo=lambda s: None)
    assert {o.case.name: o.status for o in outcomes}["d_slow"] == PASS


def test_cli_scenario_metric_case_and_exit_status(tmp_path):
    """Through the command line with scenario + metric cases: a failing case makes exit status 1,
    a malformed one exit status 2 with one line."""
    cases = tmp_path / "cases"
    cases.mkdir()
    flat = SCENARIOS / "flat_bilayer.toml"
    sim = (f'[simulated]\nscenario = "{flat.relative_to(validate.ROOT)}"\nmetric = "-interface_normal_stress_mean_Pa"\n'
           'set = ["output.fields=false", "output.plots=false", "mesh.size_m=4e-6", "mesh.interface_size_m=2e-6"]\n')
    head = ('quantity = "flat patch"\nkind = "analytic"\nunit = "Pa"\nquick = true\n[tolerance]\nrelative = 1e-6\n'
            'reason = "exact"\n')
    _case(cases, head + '[reference]\nvalue = 2.4e6\nsource = "uniaxial strain"\n' + sim, "flat_ok")
    _case(cases, head + '[reference]\nvalue = 3.0e6\nsource = "deliberately wrong"\n' + sim, "flat_wrong")
    out = tmp_path / "out"
    proc = run_cli("validate", "--cases", str(cases), "-o", str(out))
    assert proc.returncode == 1, proc.stderr
    text = (out / "report.md").read_text()
    assert "| [flat_ok]" in text and "| [flat_wrong]" in text
    assert "2.4 MPa | ± 1e-06 (relative) | **PASS**" in text
    assert "**FAIL**" in text and "failed: flat_wrong" in proc.stdout
    assert len(list((out / "runs").iterdir())) == 1            # one shared run for both cases

    _case(cases, head + '[reference]\nvalue = 1\n' + sim, "flat_nosource")
    proc = run_cli("validate", "--cases", str(cases), "-o", str(tmp_path / "out2"))
    assert_one_line_error(proc, "flat_nosource.toml", "reference.source")
    assert not (tmp_path / "out2").exists()


def test_shipped_cases_load_and_cover_the_evidence():
    cases = {c.name: c for c in load_cases(CASES_DIR)}
    assert all(c.check in validation_checks.CHECKS for c in cases.values() if c.check)
    not_modelled = {n for n, c in cases.items() if c.not_modelled}
    # the stress range after cycling runs the cycling scenario (slow: not in --quick)
    assert "li_pll_stress_range_after_cycling" not in not_modelled
    assert not cases["li_pll_stress_range_after_cycling"].quick
    # the fibre in the cell is computed (slow: not in --quick)
    fibre = {"fbg_pressure_sensitivity", "fbg_splitting_at_2p4MPa", "fbg_lisn_splitting_at_2p4MPa"}
    assert all(cases[n].check and not cases[n].quick for n in fibre)
    computed = {n for n, c in cases.items() if not c.not_modelled}
    assert {"patch_test", "kirsch_hole", "hertz_contact", "fbg_peak_reflectance", "fbg_strain_sensitivity",
            "fbg_diametral_splitting", "fbg_temperature_sensitivity", "lisn_vs_li_uniformity",
            "constriction_resistance", "overpotential_ratio"} <= computed
    assert all(c.tolerance_reason for c in cases.values() if not c.not_modelled)
    assert all(c.source for c in cases.values())
    assert sum(c.quick for c in cases.values()) >= 8


def test_closed_form_checks_without_fem():
    """The FBG checks compute from the package alone, fast (no scenario runs)."""
    ctx = validate.Context(Path("/nonexistent"))
    r = validation_checks.CHECKS["fbg_peak_reflectance"](ctx)
    assert r.value == pytest.approx(r.reference, abs=1e-10)
    r = validation_checks.CHECKS["fbg_strain_sensitivity"](ctx)
    assert r.value == pytest.approx(1.2405e-12, abs=1e-15)
    r = validation_checks.CHECKS["fbg_temperature_sensitivity"](ctx)
    assert 9e-12 < r.value < 10e-12


@pytest.mark.slow
def test_validate_quick_runs_whole_in_ci(tmp_path):
    """``ecmsim validate --quick`` as CI runs it (about 30 s): every quick case computes (no ERROR),
    every analytic case passes, and a case that fails says what is
    understood about the miss; the report lists every case."""
    out = tmp_path / "v"
    proc = run_cli("validate", "--quick", "-o", str(out), timeout=900)
    assert proc.returncode in (0, 1), proc.stderr
    assert "Traceback" not in proc.stderr
    cases = {c.name: c for c in validate.load_cases(validate.CASES_DIR)}
    status = {}
    for line in proc.stdout.splitlines():
        if line.startswith("[validate] ") and not line.startswith("[validate] report"):
            word = next(s for s in (PASS, FAIL, ERROR, NOT_MODELLED, SKIPPED) if line[11:].startswith(s))
            status[line[11:].removeprefix(word).split()[0]] = word
    assert set(status) == set(cases)
    assert ERROR not in status.values(), status
    for name, word in status.items():
        if cases[name].quick and not cases[name].not_modelled:
            assert word in (PASS, FAIL), (name, word)
        if cases[name].kind == "analytic" and word != SKIPPED:
            assert word == PASS, (name, word)
        if word == FAIL:
            assert cases[name].understood, f"{name} fails and its case file says nothing about why"
    report = (out / "report.md").read_text()
    assert all(f"| [{name}]" in report for name in cases)


@pytest.mark.parametrize("name, shown", [("fbg_splitting_at_2p4MPa", "190 pm"), ("fbg_lisn_splitting_at_2p4MPa", "290 pm"),
                                         ("fbg_pressure_sensitivity", "69 pm/MPa"), ("li_pll_peak_stress", "30 MPa"),
                                         ("fbg_temperature_sensitivity", "9.3 pm/K")])
def test_measured_references_are_shown_in_their_display_units(name, shown):
    """The report's reference column: a measured value in the unit people read (290 pm, not 2.9e-10 m
    nor another peak's distance)."""
    case = {c.name: c for c in load_cases(CASES_DIR)}[name]
    assert validate.reference_text(validate.Outcome(case, PASS, 0.0)) == shown


def test_display_units_convert_both_ways():
    assert validate.fmt(2.9e-10, "m") == "290 pm" and validate.fmt(69e-18, "m/Pa") == "69 pm/MPa"
    assert validate.fmt(-2.4e6, "Pa") == "-2.4 MPa" and validate.fmt(0.286, "V") == "286 mV"
