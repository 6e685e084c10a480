"""``ecmsim validate``: case files and classes, the refusal of a `predicted` case built on a fit, the
tolerance and convergence rules, the runner and its report.md / report.json (toy cases)."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from conftest import ROOT, SCENARIOS, assert_one_line_error, run_cli
from ecmsim.core.errors import InputFileError
from ecmsim.studies import checks as validation_checks
from ecmsim.studies import validate
from ecmsim.studies.cases import check_declarations, find_suite, judge, load_case, load_cases
from ecmsim.studies.validate import ERROR, FAIL, NOT_MODELLED, PASS, SKIPPED, UNCONVERGED, run_validation
from ecmsim.studies.verdicts import UndeclaredRun

VALUE_CASE = """
quantity = "toy quantity"
class = "analytic"
unit = "Pa"
quick = true
[reference]
kind = "closed-form"
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


def _case(folder: Path, text: str, name: str = "toy") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
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


def test_range_and_bounds_need_the_sources_words(tmp_path):
    text = VALUE_CASE.replace("value = 100.0", "{ref}\nquote = \"the source's own words\"")
    rng = load_case(_case(tmp_path, text.format(ref="range = [5.0, 30.0]", tol="absolute = 1.0"), "r"))
    assert judge(rng, 4.0) and judge(rng, 31.0) and not judge(rng, 3.9) and not judge(rng, 31.1)
    low = load_case(_case(tmp_path, text.format(ref="min = 1.0", tol=""), "lo"))
    assert judge(low, 1.0) and not judge(low, 0.999)
    high = load_case(_case(tmp_path, text.format(ref="max = 0.5", tol=""), "hi"))
    assert judge(high, 0.5) and not judge(high, 0.5001)
    # a measured "about X" is a value: a bound without the source's words is refused
    with pytest.raises(InputFileError, match="reference.quote"):
        load_case(_case(tmp_path, VALUE_CASE.replace("value = 100.0", "max = 100.0").format(tol=""), "noquote"))


@pytest.mark.parametrize("change, fragment", [
    (("toy source", ""), "reference.source"),
    (('reason = "toy reason"', ""), "tolerance.reason"),
    (("relative = 0.1", ""), "needs tolerance.relative or tolerance.absolute"),
    (('check = "toy"', 'check = "nope"'), "unknown check"),
    (("value = 100.0", "value = 100.0\nrange = [1, 2]"), "exactly one of"),
    (('class = "analytic"', 'class = "guess"'), "class = 'guess'"),
    (('class = "analytic"', 'kind = "analytic"'), "renamed"),
    (('kind = "closed-form"', 'kind = "measured"'), "compares with closed-form"),
    (('class = "analytic"', 'class = "predicted"'), "compares with measured"),
    (('quick = true', 'quick = true\nsurprise = 1'), "unknown key"),
    (("relative = 0.1", "relative = -0.1"), "must be >= 0"),
    (("value = 100.0", 'value = "a lot"'), "must be a finite number"),
])
def test_malformed_case_is_one_clear_error(tmp_path, change, fragment):
    path = _case(tmp_path, VALUE_CASE.format(tol="relative = 0.1").replace(*change))
    with pytest.raises(InputFileError, match=fragment) as err:
        load_case(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_a_measured_case_names_its_data_and_its_convergence(tmp_path):
    measured = VALUE_CASE.replace('class = "analytic"', 'class = "predicted"').replace(
        'kind = "closed-form"', 'kind = "measured"').format(tol="relative = 0.1")
    with pytest.raises(InputFileError, match="compares_with"):
        load_case(_case(tmp_path, measured, "a"))
    named = measured.replace('source = "toy source"', 'source = "toy source"\ncompares_with = ["toy:x.y"]')
    with pytest.raises(InputFileError, match="convergence"):
        load_case(_case(tmp_path, named, "b"))
    case = load_case(_case(tmp_path, named + '[convergence]\nnot_a_field = "a number, no mesh"\n', "c"))
    assert case.cls == "predicted" and case.compares_with == ("toy:x.y",)


# --- the class rules: a prediction may not use a value fitted to what it is compared with -----------

def _shipped_case_as(tmp_path: Path, name: str, cls: str) -> Path:
    text = (ROOT / "validation" / "cases" / f"{name}.toml").read_text()
    start = text.index("class = ")
    end = text.index("\n", start)
    return _case(tmp_path, text[:start] + f'class = "{cls}"' + text[end:], name)


@pytest.mark.parametrize("name, cls, fragment", [
    # the Li splitting is what the membrane depth was fitted to (validation/fitted.toml)
    ("fbg_splitting_at_2p4MPa", "predicted", 'declare class = "calibrated"'),
    # the thermo-optic coefficient was tuned with 9.3 pm/C in view
    ("fbg_temperature_sensitivity", "predicted", 'declare class = "calibrated"'),
    # i0 comes from the same cells' impedance: the overpotentials are not independent of it
    ("overpotential_ratio", "predicted", 'declare class = "consistency"'),
    # nothing is fitted to the Li-Sn splitting: it cannot be called calibrated
    ("fbg_lisn_splitting_at_2p4MPa", "calibrated", "no input of this case is declared fitted"),
])
def test_classes_are_checked_against_the_declared_fits(tmp_path, name, cls, fragment):
    suite = find_suite()
    case = load_case(_shipped_case_as(tmp_path, name, cls), suite)
    with pytest.raises(InputFileError, match=fragment) as err:
        check_declarations(case, suite)
    assert "\n" not in str(err.value)
    # as shipped, the same case is accepted
    check_declarations(load_case(ROOT / "validation" / "cases" / f"{name}.toml", suite), suite)


def _suite(tmp_path: Path, fitted: str = "", data: str = 'x = 190e-12\ny = 290e-12\n') -> Path:
    """A validation folder of its own in tmp_path/validation; the repository is tmp_path (a copy of
    the flat scenario in tmp_path/scenarios)."""
    (tmp_path / "scenarios").mkdir(exist_ok=True)
    shutil.copy(SCENARIOS / "flat_bilayer.toml", tmp_path / "scenarios" / "flat.toml")
    suite = tmp_path / "validation"
    (suite / "cases").mkdir(parents=True, exist_ok=True)
    (suite / "data").mkdir(exist_ok=True)
    (suite / "data" / "toy.toml").write_text("[cell]\n" + data)
    (suite / "fitted.toml").write_text(fitted)
    return suite


PREDICTED = """quantity = "mean interface stress of the flat bilayer"
class = "{cls}"
unit = "Pa"
quick = true
[reference]
kind = "measured"
value = 2.4e6
source = "toy measurement"
compares_with = ["toy:cell.{data}"]
[tolerance]
relative = 1e-6
reason = "toy"
[simulated]
scenario = "scenarios/flat.toml"
metric = "-interface_normal_stress_mean_Pa"
set = ["output.fields=false", "output.plots=false", "mesh.size_m=4e-6", "mesh.interface_size_m=2e-6"]
[convergence]
refine = true
"""
FIT = """[[fitted]]
input = "scenario:scenarios/flat.toml#loading.stack_pressure_Pa"
value = 2.4e6
fitted_to = ["toy:cell.x"]
how = "toy fit"
"""


def test_a_predicted_case_on_a_fitted_input_is_refused_from_declarations(tmp_path):
    """The refusal works from declarations alone: fitted.toml names the scenario key and the data it
    was fitted to, the case names the data it compares with; the command stops before anything runs."""
    suite = _suite(tmp_path, FIT)
    _case(suite / "cases", PREDICTED.format(cls="predicted", data="x"), "uses_the_fit")
    out = tmp_path / "out"
    proc = run_cli("validate", "--cases", str(suite), "-o", str(out))
    assert_one_line_error(proc, "uses_the_fit.toml", "scenario:scenarios/flat.toml#loading.stack_pressure_Pa",
                          "toy:cell.x", 'declare class = "calibrated"')
    assert not out.exists()
    s = find_suite(suite)
    # compared with other data, the same inputs make a prediction; compared with x, a calibrated case
    check_declarations(load_case(_case(tmp_path / "c", PREDICTED.format(cls="predicted", data="y"), "other"), s), s)
    check_declarations(load_case(_case(tmp_path / "c", PREDICTED.format(cls="calibrated", data="x"), "cal"), s), s)
    # overriding the fitted key takes the fit out of the inputs
    freed = PREDICTED.format(cls="predicted", data="x").replace('"mesh.size_m=4e-6"',
                                                                 '"mesh.size_m=4e-6", "loading.stack_pressure_Pa=2.4e6"')
    check_declarations(load_case(_case(tmp_path / "c", freed, "freed"), s), s)
    # a declaration that no longer matches its input is refused: a refit updates fitted.toml
    _suite(tmp_path, FIT.replace("value = 2.4e6", "value = 3e6"))
    with pytest.raises(InputFileError, match="holds 2400000.0 now"):
        find_suite(suite)
    _suite(tmp_path, FIT.replace("toy:cell.x", "toy:cell.nope"))
    with pytest.raises(InputFileError, match="no such entry"):
        find_suite(suite)


def test_a_consistency_case_says_why(tmp_path):
    suite = _suite(tmp_path)
    s = find_suite(suite)
    case = load_case(_case(tmp_path / "c", PREDICTED.format(cls="consistency", data="y"), "c"), s)
    with pytest.raises(InputFileError, match="class_reason"):
        check_declarations(case, s)
    text = PREDICTED.format(cls="consistency", data="y").replace("quick = true", 'quick = true\nclass_reason = "same cells"')
    check_declarations(load_case(_case(tmp_path / "c", text, "c2"), s), s)


# --- running: verdicts, convergence, the report --------------------------------------------------------

def test_runner_report_pass_fail_error_not_modelled(tmp_path, monkeypatch):
    """A deliberately failing toy case is FAIL, a raising one ERROR, a not-modelled one never PASS;
    the report carries class, quantity, reference with source, simulated, tolerance with reason,
    the understood text on every row (PASS included), and report.json the same per case."""
    monkeypatch.setitem(validation_checks.CHECKS, "toy_good", lambda ctx: validation_checks.Result(104.0))
    monkeypatch.setitem(validation_checks.CHECKS, "toy_bad", lambda ctx: validation_checks.Result(
        80.0, details="toy details"))

    def boom(ctx):
        raise RuntimeError("toy explosion\nover two lines")

    monkeypatch.setitem(validation_checks.CHECKS, "toy_boom", boom)
    cases = tmp_path / "cases"
    base = VALUE_CASE.format(tol="relative = 0.05")
    _case(cases, base.replace('check = "toy"', 'check = "toy_good"').replace(
        "quick = true", 'quick = true\nunderstood = "the toy is exact by construction"'), "a_good")
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
    assert text.startswith("**No `predicted` case ran**")
    for fragment in ("toy quantity", "toy source", "toy reason", "± 5%", "**FAIL**", "**PASS**", "**ERROR**",
                     "**NOT YET MODELLED**", "toy physics missing", "the toy misses a factor", "toy details",
                     "RuntimeError: toy explosion over two lines", "not run (--quick)", "104 Pa", "80 Pa",
                     "| analytic | 5 | 1 | 1 | 1 | 1 | 1 |"):
        assert fragment in text, fragment
    row = next(ln for ln in text.splitlines() if ln.startswith("| [a_good]"))
    assert "| analytic | closed-form |" in row and "the toy is exact by construction" in row and "1.04" in row
    assert (out / "figures" / "a_good.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "figures" / "b_bad.png").exists()
    doc = json.loads((out / "report.json").read_text())
    assert doc["schema"] == "ecmsim-validation-report/1" and doc["counts"]["analytic"]["FAIL"] == 1
    rec = {c["name"]: c for c in doc["cases"]}
    for key in ("name", "class", "reference_kind", "reference", "simulated", "band_lo", "band_hi", "tolerance",
                "verdict", "converged"):
        assert key in rec["b_bad"], key
    assert rec["b_bad"]["simulated"] == 80.0 and rec["b_bad"]["reference"] == 100.0
    assert rec["b_bad"]["verdict"] == FAIL and rec["b_bad"]["tolerance"] == {"relative": 0.05}
    assert rec["b_bad"]["understood"] == "the toy misses a factor" and rec["c_boom"]["verdict"] == ERROR
    assert any("FAIL" in ln and "b_bad" in ln for ln in lines)
    # all cases without --quick: the slow one runs too
    outcomes, _ = run_validation(tmp_path / "out2", quick=False, cases_dir=cases, echo=lambda s: None)
    assert {o.case.name: o.status for o in outcomes}["d_slow"] == PASS


def test_cli_scenario_metric_case_convergence_and_exit_status(tmp_path, monkeypatch):
    """Through the command line: a scenario case converged at h and h/2 (the patch test is exact), a
    deliberately wrong one FAIL with exit status 1; a malformed one exit status 2 with one line."""
    suite = _suite(tmp_path, data="x = 2.4e6\ny = 3.0e6\n")
    _case(suite / "cases", PREDICTED.format(cls="predicted", data="x"), "flat_ok")
    _case(suite / "cases", PREDICTED.format(cls="predicted", data="y").replace("value = 2.4e6", "value = 3.0e6"),
          "flat_wrong")
    out = tmp_path / "out"
    proc = run_cli("validate", "--cases", str(suite), "-o", str(out), "-j", "1")
    assert proc.returncode == 1, proc.stderr
    text = (out / "report.md").read_text()
    assert text.startswith("**1 of 2 `predicted` cases pass**")
    assert "| [flat_ok]" in text and "| [flat_wrong]" in text and "not passed: flat_wrong" in proc.stdout
    rec = {c["name"]: c for c in json.loads((out / "report.json").read_text())["cases"]}
    assert rec["flat_ok"]["verdict"] == PASS and rec["flat_ok"]["converged"] is True
    assert rec["flat_ok"]["simulated_h2"] == pytest.approx(2.4e6, rel=1e-8, abs=0)
    assert len(list((out / "runs").iterdir())) == 2            # h and h/2, each shared by both cases

    _case(suite / "cases", PREDICTED.format(cls="predicted", data="x").replace('source = "toy measurement"\n', ""),
          "flat_nosource")
    proc = run_cli("validate", "--cases", str(suite), "-o", str(tmp_path / "out2"))
    assert_one_line_error(proc, "flat_nosource.toml", "reference.source")
    assert not (tmp_path / "out2").exists()


def test_a_quantity_that_moves_under_refinement_is_unconverged(tmp_path, monkeypatch):
    """A check whose value is the number of triangles moves by far more than a third of its tolerance
    from h to h/2: UNCONVERGED, whatever its comparison at h says."""
    flat = validation_checks.Run("scenarios/flat.toml", ("output.fields=false", "output.plots=false",
                                                         "mesh.size_m=4e-6", "mesh.interface_size_m=2e-6"))

    def cells(ctx):
        return validation_checks.Result(float(ctx.run(flat)[0]["mesh"]["cells"]))

    monkeypatch.setitem(validation_checks.CHECKS, "toy_cells", validation_checks.CheckSpec(cells, runs=(flat,)))
    suite = _suite(tmp_path)
    text = PREDICTED.format(cls="predicted", data="x").split("[simulated]")[0]
    first = None
    for k in range(2):    # the first pass learns the value at h, the second sets it as the reference
        reference = 2.4e6 if first is None else first
        body = text.replace("value = 2.4e6", f"value = {reference!r}").replace("relative = 1e-6", "relative = 0.3")
        _case(suite / "cases", body + '[simulated]\ncheck = "toy_cells"\n[convergence]\nrefine = true\n', "cells")
        outcomes, _ = run_validation(tmp_path / f"out{k}", cases_dir=suite, echo=lambda s: None, jobs=1)
        first = outcomes[0].simulated
    o = outcomes[0]
    assert judge(o.case, o.simulated) and o.simulated_h2 > 2 * o.simulated
    assert o.status == UNCONVERGED and o.converged is False


def test_shipped_cases_load_and_declare_what_they_compare_with():
    suite = find_suite()
    cases = {c.name: c for c in load_cases(suite)}
    for c in cases.values():
        check_declarations(c, suite)                          # no class contradicts fitted.toml
    by_class = {cls: sorted(n for n, c in cases.items() if c.cls == cls) for cls in
                ("analytic", "cross-code", "predicted", "consistency", "calibrated", "bound")}
    assert by_class["calibrated"] == ["fbg_cell_temperature_sensitivity", "fbg_splitting_at_2p4MPa",
                                      "fbg_temperature_sensitivity"]
    assert set(by_class["consistency"]) == {"lisn_vs_li_uniformity", "overpotential_ratio"}
    assert "li_pll_high_stress" in by_class["cross-code"] and "li_pll_peak_stress" not in cases
    assert all(c.cls == "analytic" or (c.refine or c.convergence_study or c.not_a_field)
               for c in cases.values() if not c.not_modelled)
    # a measured "about X" is a value; counts are counts; a stress range compares both ends
    assert cases["lisn_spectrum_after_cycling"].value == 12e6 and cases["li_peak_count_after_cycling"].value == 5
    assert {cases["li_pll_low_stress_after_cycling"].value, cases["li_pll_high_stress_after_cycling"].value} == \
        {5e6, 30e6}
    # every reference value is the data entry it names (SI units), or a count or spread of a list of them
    for c in cases.values():
        if c.value is None or c.cls == "analytic":
            continue
        for name in c.compares_with:
            entry = suite.data[name]
            if isinstance(entry, list) and len(entry) == 2 and c.cls in ("cross-code",):
                assert c.value in entry, c.name
            elif isinstance(entry, list):
                assert any(math.isclose(c.value, v, rel_tol=1e-6) for v in
                           (len(entry), max(entry) - min(entry))), c.name
            elif isinstance(entry, (int, float)) and not isinstance(entry, bool) and len(c.compares_with) == 1:
                assert math.isclose(c.value, entry, rel_tol=1e-9), c.name
    assert all(c.check in validation_checks.CHECKS for c in cases.values() if c.check)
    assert sum(c.quick for c in cases.values()) >= 8


def test_closed_form_checks_without_fem():
    """The FBG checks compute from the package alone, fast (no scenario runs)."""
    ctx = validate.Context(Path("/nonexistent"))
    r = validation_checks.spec("fbg_peak_reflectance").fn(ctx)
    assert r.value == pytest.approx(r.reference, abs=1e-10)
    r = validation_checks.spec("fbg_strain_sensitivity").fn(ctx)
    assert r.value == pytest.approx(1.2405e-12, abs=1e-15)
    r = validation_checks.spec("fbg_temperature_sensitivity").fn(ctx)
    assert 9e-12 < r.value < 10e-12


def test_a_check_may_read_only_the_runs_it_declares(tmp_path):
    flat = validation_checks.Run("scenarios/flat_bilayer.toml", ("output.fields=false",))
    ctx = validate.Context(tmp_path, folders={})
    with pytest.raises(UndeclaredRun, match="does not declare"):
        ctx.run(flat)


def test_an_installed_package_without_the_repository_says_where_the_cases_are(tmp_path, monkeypatch):
    """The cases need the repository's scenarios and images, so they are not shipped: without a
    checkout, one line says so (and where to point --cases); nothing is written into the package."""
    from ecmsim.core.errors import EcmsimError
    from ecmsim.studies import cases as cases_mod

    monkeypatch.setattr(cases_mod, "DEFAULT_SUITE", tmp_path / "site-packages" / "validation")
    with pytest.raises(EcmsimError, match="checkout, or give its folder: --cases REPO/validation"):
        find_suite()
    assert validate.default_out(False, False) == Path("results") / "validation"
    assert validate.default_out(True, True) == Path("results") / "validation-quick-uq"


@pytest.mark.slow
def test_validate_quick_runs_whole_in_ci(tmp_path):
    """``ecmsim validate --quick`` as CI runs it (about 30 s): every quick case computes (no ERROR),
    every analytic case passes, and a case that fails says what is
    understood about the miss; the report lists every case."""
    out = tmp_path / "v"
    proc = run_cli("validate", "--quick", "-o", str(out), timeout=900)
    assert proc.returncode in (0, 1), proc.stderr
    assert "Traceback" not in proc.stderr
    cases = {c.name: c for c in load_cases(find_suite())}
    status = {}
    words = (PASS, FAIL, UNCONVERGED, ERROR, NOT_MODELLED, SKIPPED)
    for line in proc.stdout.splitlines():      # [validate] STATUS  class  name  value  ref ...
        text = line.removeprefix("[validate] ")
        word = next((w for w in words if text.startswith(w + " ")), None)
        if line.startswith("[validate] ") and word:
            status[text.removeprefix(word).split()[1]] = word
    assert set(status) == set(cases)
    assert ERROR not in status.values(), status
    for name, word in status.items():
        if cases[name].quick and not cases[name].not_modelled:
            assert word in (PASS, FAIL, UNCONVERGED), (name, word)
        if cases[name].cls == "analytic" and word != SKIPPED:
            assert word == PASS, (name, word)
        if word in (FAIL, UNCONVERGED):
            assert cases[name].understood, f"{name} fails and its case file says nothing about why"
    report = (out / "report.md").read_text()
    assert all(f"| [{name}]" in report for name in cases)


@pytest.mark.parametrize("name, shown", [("fbg_splitting_at_2p4MPa", "190 pm"), ("fbg_lisn_splitting_at_2p4MPa", "290 pm"),
                                         ("fbg_pressure_sensitivity", "69 pm/MPa"), ("li_pll_high_stress", "30 MPa"),
                                         ("fbg_temperature_sensitivity", "9.3 pm/K")])
def test_measured_references_are_shown_in_their_display_units(name, shown):
    """The report's reference column: a measured value in the unit people read (290 pm, not 2.9e-10 m
    nor another peak's distance)."""
    from ecmsim.studies import validation_report
    from ecmsim.studies.verdicts import Outcome

    case = {c.name: c for c in load_cases(find_suite())}[name]
    assert validation_report.reference_text(Outcome(case, PASS, 0.0)).startswith(shown)


def test_display_units_convert_both_ways():
    from ecmsim.studies.validation_report import fmt

    assert fmt(2.9e-10, "m") == "290 pm" and fmt(69e-18, "m/Pa") == "69 pm/MPa"
    assert fmt(-2.4e6, "Pa") == "-2.4 MPa" and fmt(0.286, "V") == "286 mV"
