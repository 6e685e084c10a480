"""Validation cases and what they declare: class, reference, the data they compare with, inputs.

A validation suite is a folder (the repository's ``validation/``)::

    cases/*.toml            one case per file (format: docs/validation.md)
    data/*.toml             reference data: measured values and the reference paper's own simulations;
                            an entry is named ``<file stem>:<section>.<key>``
    fitted.toml             inputs of the package tuned to (or derived from) reference data
    uncertain_inputs.toml   uncertain inputs with distributions (``ecmsim validate --uq``)

Scenario and file paths in cases and ``fitted.toml`` are relative to the suite's parent folder
(the repository). The cases are not shipped in the package: they need the repository's scenarios
and images, so ``ecmsim validate`` runs from a checkout (or is given its suite folder).

Every case has a class, which says what a PASS is worth:

- ``analytic``: against a closed form or a manufactured solution;
- ``cross-code``: against another code's result (the reference paper's COMSOL);
- ``predicted``: against a measurement, with no input taken from that measurement;
- ``consistency``: against a measurement that some input was derived from in another form (same
  cells, same description), so agreement checks that the model tells one story;
- ``calibrated``: against the measurement an input was fitted to: agreement is no evidence;
- ``bound``: against a bound or an order that the source itself states (quoted in the case).

The classes are checked against declarations before anything runs (:func:`check_declarations`):
a ``predicted`` case one of whose inputs ``fitted.toml`` declares fitted to the data the case
compares with is refused, and so is a ``calibrated`` case without such an input. Only the
standard library is imported at module level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The repository this package sits in (an editable install or a checkout).
ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SUITE = ROOT / "validation"

CLASSES = ("analytic", "cross-code", "predicted", "consistency", "calibrated", "bound")
#: closed-form: an analytic solution; measured: the experiment; simulation: the reference paper's own model
REFERENCE_KINDS = ("closed-form", "measured", "simulation")
#: Which reference kinds each class may compare with.
CLASS_KINDS = {"analytic": ("closed-form",), "cross-code": ("simulation",), "predicted": ("measured",),
               "consistency": ("measured", "simulation"), "calibrated": ("measured", "simulation"),
               "bound": ("measured", "simulation")}


#: How values are shown: SI unit -> (display unit, factor SI per display unit)
DISPLAY = {"Pa": ("MPa", 1e6), "m": ("pm", 1e-12), "m/K": ("pm/K", 1e-12), "m/Pa": ("pm/MPa", 1e-18),
           "m/microstrain": ("pm/µε", 1e-12), "V": ("mV", 1e-3)}


def fmt(value: float | None, unit: str) -> str:
    """A value in its display unit, e.g. 2.4e6 Pa -> '2.4 MPa'."""
    if value is None:
        return "—"
    shown, factor = DISPLAY.get(unit, (unit, 1.0))
    if value != 0 and abs(value / factor) < 1e-2:  # far below the display unit: stay in SI
        shown, factor = unit, 1.0
    text = f"{value / factor:.6g}"
    return text if shown == "-" else f"{text} {shown}"


def _bad(path: Path | str, key: str, value: Any, allowed: str):
    from ecmsim.core.errors import InputFileError
    return InputFileError(f"{path}: {key} = {value!r}: {allowed}")


def _number(path: Path, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _bad(path, key, value, "must be a finite number")
    return float(value)


def _text(path: Path, key: str, value: Any, why: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _bad(path, key, value, why)
    return value


def _read_toml(path: Path, what: str) -> dict[str, Any]:
    """A TOML input of the suite; every way it can fail is one line (ecmsim.scenario.load.read_toml)."""
    from ecmsim.core.errors import InputFileError
    from ecmsim.scenario.load import read_toml

    return read_toml(Path(path), what, InputFileError)


def _ids(path: Path, key: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _bad(path, key, value, "must be a list of data names such as \"li2025_measured:li_pll.overpotential_V\"")
    return tuple(value)


# --- the suite ---------------------------------------------------------------------------------------

@dataclass
class Suite:
    """A validation suite: where its files are, its reference data and its fitted inputs."""

    folder: Path
    cases_dir: Path
    root: Path
    data: dict[str, Any] = field(default_factory=dict)
    fitted: list[Fitted] = field(default_factory=list)

    @property
    def uncertain_inputs(self) -> Path:
        return self.folder / "uncertain_inputs.toml"

    def rel(self, path: Path) -> str:
        """A path as shown in reports: relative to the repository when inside it."""
        path = Path(path)
        return str(path.relative_to(self.root)) if path.is_relative_to(self.root) else str(path)


def find_suite(given: str | Path | None = None) -> Suite:
    """The suite of ``given`` (a suite folder holding ``cases/``, or a folder of case files), else the
    repository's ``validation/``; EcmsimError (one line) when there is none."""
    from ecmsim.core.errors import EcmsimError

    if given is None:
        if not (DEFAULT_SUITE / "cases").is_dir():
            raise EcmsimError("no validation suite here: the cases, reference data and scenarios live in the source "
                              "repository (validation/, scenarios/, meshes/), which an installed package does not "
                              "hold; run ecmsim validate in a checkout, or give its folder: --cases REPO/validation")
        given = DEFAULT_SUITE
    given = Path(given)
    if not given.is_dir():
        raise EcmsimError(f"--cases {given}: no such folder (a validation folder with cases/, or a folder of case files)")
    folder, cases_dir = (given, given / "cases") if (given / "cases").is_dir() else (given.parent, given)
    suite = Suite(folder.resolve(), cases_dir.resolve(), folder.resolve().parent)
    suite.data = load_data(suite.folder / "data")
    suite.fitted = load_fitted(suite)
    return suite


def load_data(folder: Path) -> dict[str, Any]:
    """Every entry of ``folder/*.toml`` by name ``<stem>:<section>.<key>`` (``<stem>:<key>`` at the top)."""
    out: dict[str, Any] = {}
    for path in sorted(Path(folder).glob("*.toml")):
        def walk(node: dict, prefix: str) -> None:
            for k, v in node.items():
                if isinstance(v, dict):
                    walk(v, f"{prefix}{k}.")
                else:
                    out[f"{path.stem}:{prefix}{k}"] = v
        walk(_read_toml(path, "data file"), "")
    return out


# --- fitted inputs -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Fitted:
    """An input tuned to, or derived from, reference data (one entry of ``fitted.toml``)."""

    input: str
    value: float | None
    fitted_to: tuple[str, ...]
    not_independent_of: tuple[str, ...]
    how: str

    @property
    def kind(self) -> str:
        return self.input.split(":", 1)[0]

    def location(self, root: Path) -> tuple[Path | str, str]:
        """(resolved scenario path | record name | file path, key or property or '')."""
        where = self.input.split(":", 1)[1]
        target, _, key = where.partition("#")
        return ((root / target).resolve() if self.kind in ("scenario", "file") else target), key


def load_fitted(suite: Suite) -> list[Fitted]:
    """``fitted.toml`` (none: an empty list), every entry checked against its location now."""
    path = suite.folder / "fitted.toml"
    if not path.is_file():
        return []
    entries = _read_toml(path, "file of fitted inputs").get("fitted", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise _bad(path, "fitted", "...", "must be [[fitted]] tables")
    out = []
    for i, e in enumerate(entries, 1):
        where = f"{path}: [[fitted]] {i}"
        extra = sorted(set(e) - {"input", "value", "fitted_to", "not_independent_of", "how"})
        if extra:
            raise _bad(where, extra[0], e[extra[0]], "unknown key (allowed: input, value, fitted_to, "
                                                      "not_independent_of, how)")
        inp = _text(where, "input", e.get("input"), 'needs input = "scenario:<path>#<key>", "material:<record>#'
                                                     '<property>" or "file:<path>"')
        kind, _, rest = inp.partition(":")
        if kind not in ("scenario", "material", "file") or not rest or (kind != "file" and "#" not in rest):
            raise _bad(where, "input", inp, 'must be "scenario:<path>#<section.key>", "material:<record>#<property>" '
                                            'or "file:<path>"')
        f = Fitted(inp, None if e.get("value") is None else _number(where, "value", e["value"]),
                   _ids(where, "fitted_to", e.get("fitted_to")), _ids(where, "not_independent_of",
                                                                       e.get("not_independent_of")),
                   _text(where, "how", e.get("how"), "say how the value was obtained"))
        if not f.fitted_to and not f.not_independent_of:
            raise _bad(where, "fitted_to", None, "name the data it was fitted to (or not_independent_of)")
        for name in (*f.fitted_to, *f.not_independent_of):
            if name not in suite.data:
                raise _bad(where, "fitted_to", name, f"no such entry in {suite.folder / 'data'}")
        _check_fitted_value(where, f, suite.root)
        out.append(f)
    return out


def _check_fitted_value(where: str, f: Fitted, root: Path) -> None:
    """The declared value is the value at its location (a refit must update fitted.toml)."""
    target, key = f.location(root)
    if f.kind == "file":
        if not Path(target).is_file():
            raise _bad(where, "input", f.input, "no such file (relative to the repository)")
        return
    if f.value is None:
        raise _bad(where, "value", None, "give the value that was fitted (it is checked against its location)")
    if f.kind == "scenario":
        if not Path(target).is_file():
            raise _bad(where, "input", f.input, "no such scenario file (relative to the repository)")
        node: Any = _read_toml(Path(target), "scenario")
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        actual = node
    else:
        from ecmsim import materials
        from ecmsim.core.errors import MaterialError
        try:
            actual = materials.get(str(target)).get(key)
        except MaterialError as err:
            raise _bad(where, "input", f.input, str(err)) from None
    if not isinstance(actual, (int, float)) or not math.isclose(actual, f.value, rel_tol=1e-9):
        raise _bad(where, "value", f.value, f"the input holds {actual!r} now: a refit updates fitted.toml too")


# --- the case file -----------------------------------------------------------------------------------

@dataclass
class Case:
    """One validation case as read from its TOML file (values in SI units)."""

    name: str
    path: Path
    quantity: str
    cls: str
    unit: str
    quick: bool
    source: str
    reference_kind: str
    compares_with: tuple[str, ...] = ()
    definition: str = ""
    quote: str = ""
    value: float | None = None
    range: tuple[float, float] | None = None
    lower: float | None = None
    upper: float | None = None
    relative: float | None = None
    absolute: float | None = None
    tolerance_reason: str = ""
    check: str | None = None
    scenario: str | None = None
    overrides: list[str] = field(default_factory=list)
    metric: str | None = None
    scale: float = 1.0
    not_modelled: str | None = None
    understood: str = ""
    class_reason: str = ""
    refine: bool = False                 # convergence: run at h and h/2
    convergence_study: str = ""          # convergence: read from a study ...
    convergence_shift: float | None = None   # ... that measured this move from h to h/2 [unit]
    not_a_field: str = ""                # convergence: why there is no mesh to refine

    @property
    def bound_form(self) -> bool:
        return self.value is None and (self.range is not None or self.lower is not None or self.upper is not None)

    def tolerance_abs(self, reference: float | None) -> float:
        """The tolerance as an absolute amount [unit] (0 without one)."""
        if self.absolute is not None:
            return self.absolute
        if self.relative is not None and reference is not None:
            return self.relative * abs(reference)
        return 0.0


CASE_KEYS = {"quantity", "class", "unit", "quick", "reference", "tolerance", "simulated", "not_modelled",
             "understood", "class_reason", "convergence"}
REFERENCE_KEYS = {"kind", "value", "range", "min", "max", "source", "compares_with", "definition", "quote"}


def load_case(path: Path, suite: Suite | None = None) -> Case:
    """Read and check one case file; InputFileError (one line) for anything malformed."""
    path = Path(path)
    suite = suite or Suite(path.parent, path.parent, ROOT)
    data = _read_toml(path, "case file")
    if "kind" in data and "class" not in data:
        raise _bad(path, "kind", data["kind"], f"renamed: give class = one of {', '.join(CLASSES)} and "
                                               "reference.kind (docs/validation.md)")
    extra = sorted(set(data) - CASE_KEYS)
    if extra:
        raise _bad(path, extra[0], data[extra[0]], f"unknown key (allowed: {', '.join(sorted(CASE_KEYS))})")
    for key in ("quantity", "unit"):
        _text(path, key, data.get(key), "must be a non-empty string")
    if data.get("class") not in CLASSES:
        raise _bad(path, "class", data.get("class"), f"must be one of {', '.join(CLASSES)}")
    cls = data["class"]
    ref = data.get("reference")
    if not isinstance(ref, dict):
        raise _bad(path, "reference", ref, "every case has a [reference] table")
    extra = sorted(set(ref) - REFERENCE_KEYS)
    if extra:
        raise _bad(path, f"reference.{extra[0]}", ref[extra[0]], f"unknown key (allowed: {', '.join(sorted(REFERENCE_KEYS))})")
    _text(path, "reference.source", ref.get("source"), "every case names the source of its reference value")
    kind = ref.get("kind")
    if kind not in CLASS_KINDS[cls]:
        raise _bad(path, "reference.kind", kind, f"a case of class {cls!r} compares with "
                                                 f"{' or '.join(CLASS_KINDS[cls])} (allowed kinds: {', '.join(REFERENCE_KINDS)})")
    case = Case(name=path.stem, path=path, quantity=data["quantity"], cls=cls, unit=data["unit"],
                quick=bool(data.get("quick", False)), source=ref["source"], reference_kind=kind,
                compares_with=_ids(path, "reference.compares_with", ref.get("compares_with")),
                definition=str(ref.get("definition", "")), quote=str(ref.get("quote", "")),
                understood=str(data.get("understood", "")), class_reason=str(data.get("class_reason", "")))
    if kind != "closed-form" and not case.compares_with:
        raise _bad(path, "reference.compares_with", None, f"a {kind} reference names the data it compares with "
                                                          f"(entries of {suite.folder / 'data'})")
    for name in case.compares_with:
        if suite.data and name not in suite.data:
            raise _bad(path, "reference.compares_with", name, f"no such entry in {suite.folder / 'data'}")

    forms = [k for k in ("value", "range", "min", "max") if k in ref]
    computed = isinstance(data.get("simulated"), dict) and data["simulated"].get("check") is not None
    if len(forms) > 1 or (not forms and not computed and "not_modelled" not in data):
        raise _bad(path, "reference", {k: ref[k] for k in forms},
                   "give exactly one of value, range = [lo, hi], min, max (or a check that computes the value)")
    if "value" in ref:
        case.value = _number(path, "reference.value", ref["value"])
    elif "range" in ref:
        r = ref["range"]
        if not (isinstance(r, list) and len(r) == 2):
            raise _bad(path, "reference.range", r, "must be [lo, hi]")
        lo, hi = (_number(path, "reference.range", v) for v in r)
        if lo > hi:
            raise _bad(path, "reference.range", r, "needs lo <= hi")
        case.range = (lo, hi)
    elif "min" in ref:
        case.lower = _number(path, "reference.min", ref["min"])
    elif "max" in ref:
        case.upper = _number(path, "reference.max", ref["max"])
    if case.bound_form and not case.quote.strip():
        raise _bad(path, "reference.quote", None, "a range or a bound only where the source itself gives one: quote "
                                                  "its words (a measured \"about X\" is a value with a tolerance)")
    if cls == "bound" and not case.bound_form:
        raise _bad(path, "class", cls, "a bound case compares with reference.min, max or range")

    if "not_modelled" in data:
        reason = data["not_modelled"].get("reason") if isinstance(data["not_modelled"], dict) else None
        case.not_modelled = _text(path, "not_modelled.reason", reason, "must say why the package cannot compute it yet")
        if "simulated" in data:
            raise _bad(path, "simulated", "...", "a case is either [simulated] or [not_modelled], not both")
        return case
    _load_tolerance(path, data, case, computed and not forms)
    _load_simulated(path, data, case, suite)
    _load_convergence(path, data, case)
    return case


def _load_tolerance(path: Path, data: dict, case: Case, closed_form: bool) -> None:
    tol = data.get("tolerance")
    reason = tol.get("reason") if isinstance(tol, dict) else None
    case.tolerance_reason = _text(path, "tolerance.reason", reason,
                                  "every computed case states its tolerance and why, before the comparison")
    if "relative" in tol and "absolute" in tol:
        raise _bad(path, "tolerance", tol, "give relative or absolute, not both")
    if "relative" in tol:
        case.relative = _number(path, "tolerance.relative", tol["relative"])
    if "absolute" in tol:
        case.absolute = _number(path, "tolerance.absolute", tol["absolute"])
    if (case.value is not None or closed_form) and case.relative is None and case.absolute is None:
        raise _bad(path, "tolerance", tol, "a reference value needs tolerance.relative or tolerance.absolute")
    for v in (case.relative, case.absolute):
        if v is not None and v < 0:
            raise _bad(path, "tolerance", v, "must be >= 0")


def _load_simulated(path: Path, data: dict, case: Case, suite: Suite) -> None:
    sim = data.get("simulated")
    if not isinstance(sim, dict):
        raise _bad(path, "simulated", sim, "a computed case needs a [simulated] table (or [not_modelled])")
    if "check" in sim:
        from ecmsim.studies.checks import CHECKS
        if sim["check"] not in CHECKS:
            raise _bad(path, "simulated.check", sim["check"], f"unknown check (known: {', '.join(sorted(CHECKS))})")
        case.check = sim["check"]
        return
    for key in ("scenario", "metric"):
        _text(path, f"simulated.{key}", sim.get(key), "needed without simulated.check")
    case.scenario, case.metric = sim["scenario"], sim["metric"]
    sets = sim.get("set", [])
    if not isinstance(sets, list) or not all(isinstance(s, str) and "=" in s for s in sets):
        raise _bad(path, "simulated.set", sets, 'must be a list of "section.key=value" strings')
    case.overrides = list(sets)
    if "scale" in sim:
        case.scale = _number(path, "simulated.scale", sim["scale"])
    if not (suite.root / case.scenario).is_file():
        raise _bad(path, "simulated.scenario", case.scenario, f"no such scenario file (relative to {suite.root})")


def _load_convergence(path: Path, data: dict, case: Case) -> None:
    conv = data.get("convergence")
    if conv is None:
        if case.cls != "analytic":
            raise _bad(path, "convergence", None, "a computed case says how its value is known to be converged: "
                                                  "refine = true (run at h and h/2), study = \"...\" with shift = "
                                                  "<move from h to h/2>, or not_a_field = \"why\"")
        return
    if not isinstance(conv, dict):
        raise _bad(path, "convergence", conv, "must be a table")
    given = [k for k in ("refine", "study", "not_a_field") if k in conv]
    if len(given) != 1:
        raise _bad(path, "convergence", conv, "give exactly one of refine = true, study = \"...\" (with shift), "
                                              "not_a_field = \"why\"")
    if "refine" in conv:
        if conv["refine"] is not True:
            raise _bad(path, "convergence.refine", conv["refine"], "must be true (or give study or not_a_field)")
        if not (case.check or case.scenario):
            raise _bad(path, "convergence.refine", True, "needs scenario runs to refine")
        case.refine = True
    elif "study" in conv:
        case.convergence_study = _text(path, "convergence.study", conv["study"], "name the convergence study")
        case.convergence_shift = abs(_number(path, "convergence.shift", conv.get("shift")))
    else:
        case.not_a_field = _text(path, "convergence.not_a_field", conv["not_a_field"], "say why no mesh enters")


def load_cases(suite: Suite) -> list[Case]:
    """Every case of the suite, checked and in report order (by class, then name)."""
    from ecmsim.core.errors import InputFileError

    files = sorted(suite.cases_dir.glob("*.toml"))
    if not files:
        raise InputFileError(f"{suite.cases_dir}: no validation cases (*.toml) found")
    cases = [load_case(f, suite) for f in files]
    return sorted(cases, key=lambda c: (CLASSES.index(c.cls), c.not_modelled is not None, c.name))


# --- inputs and the class rules ------------------------------------------------------------------------

@dataclass
class Inputs:
    """What a case's value depends on: scenario files (with the keys overridden), material records, files."""

    scenarios: dict[Path, set[str]] = field(default_factory=dict)
    materials: set[str] = field(default_factory=set)
    files: set[Path] = field(default_factory=set)

    def uses(self, f: Fitted, root: Path) -> bool:
        target, key = f.location(root)
        if f.kind == "scenario":
            return target in self.scenarios and key not in self.scenarios[target]
        if f.kind == "material":
            return target in self.materials
        return target in self.files


def scenario_inputs(path: Path, overrides: list[str] | tuple[str, ...], into: Inputs) -> None:
    """Add a scenario's inputs: the file, its material records (silica wherever a grating is
    simulated), its image, and the cell scenario of a fibre read-out."""
    from ecmsim import scenario as scenario_mod

    path = Path(path).resolve()
    scn = scenario_mod.load(path, list(overrides))
    into.scenarios.setdefault(path, set()).update(o.split("=", 1)[0].strip() for o in overrides)
    for region in ("electrode", "electrolyte", "particle", "dead_li", "separator"):
        ref = getattr(scn.materials, region, None)
        if isinstance(ref, str):
            into.materials.add(ref)
    image = getattr(scn.geometry, "path", None)
    if isinstance(image, str):
        into.files.add((path.parent / image).resolve())
    if scn.geometry.kind == "fbg_cell" or scn.fibre_readout is not None:
        into.materials.add(str(((scn.fbg or {}).get("fibre") or {}).get("material", "silica")))
    if scn.fibre_readout is not None:
        scenario_inputs(path.parent / scn.fibre_readout.cell_scenario, [], into)


def case_runs(case: Case):
    """The scenario runs a case reads (checks.Run), from its check's declaration or its scenario."""
    from ecmsim.studies.checks import Run, spec

    if case.check:
        return list(spec(case.check).runs)
    if case.scenario:
        return [Run(case.scenario, tuple(case.overrides))]
    return []


def case_inputs(case: Case, suite: Suite) -> Inputs:
    """Everything the case's value depends on, from declarations (nothing runs)."""
    from ecmsim.core.errors import EcmsimError
    from ecmsim.studies.checks import spec

    inputs = Inputs()
    declared = spec(case.check) if case.check else None
    try:
        for run in case_runs(case):
            scenario_inputs(suite.root / run.scenario, run.overrides, inputs)
        for scenario in (declared.scenarios if declared else ()):
            scenario_inputs(suite.root / scenario, (), inputs)
    except EcmsimError as err:
        raise _bad(case.path, "simulated", case.check or case.scenario, f"its scenario does not load: {err}") from None
    inputs.materials.update(declared.materials if declared else ())
    return inputs


def check_declarations(case: Case, suite: Suite) -> Inputs:
    """Refuse a class that the declared fitted inputs contradict (InputFileError, one line)."""
    if case.not_modelled:
        return Inputs()
    inputs = case_inputs(case, suite)
    compared = set(case.compares_with)
    used = [f for f in suite.fitted if inputs.uses(f, suite.root)]
    tied = [(f, sorted(compared & set(f.fitted_to))) for f in used if compared & set(f.fitted_to)]
    linked = [(f, sorted(compared & set(f.not_independent_of))) for f in used if compared & set(f.not_independent_of)]
    where = suite.folder / "fitted.toml"
    if case.cls == "predicted" and tied:
        f, names = tied[0]
        raise _bad(case.path, "class", case.cls, f"its input {f.input} was fitted to {names[0]} ({where}), the data "
                                                 "this case compares with: declare class = \"calibrated\"")
    if case.cls == "predicted" and linked:
        f, names = linked[0]
        raise _bad(case.path, "class", case.cls, f"its input {f.input} is not independent of {names[0]} ({where}: "
                                                 f"{f.how}): declare class = \"consistency\"")
    if case.cls == "calibrated" and not tied:
        raise _bad(case.path, "class", case.cls, f"no input of this case is declared fitted to "
                                                 f"{', '.join(sorted(compared))} in {where}: declare the fit there "
                                                 "(input, value, fitted_to) or choose another class")
    if case.cls == "consistency" and not (tied or linked) and not case.class_reason.strip():
        raise _bad(case.path, "class_reason", None, "a consistency case says which inputs come from the same "
                                                    f"experiment (or {where} declares them)")
    return inputs


# --- judging -----------------------------------------------------------------------------------------

def judge(case: Case, simulated: float, reference: float | None = None) -> bool:
    """True when ``simulated`` meets the case's reference within its tolerance (fixed in the file)."""
    ref = reference if reference is not None else case.value
    if not math.isfinite(simulated):
        return False
    if ref is not None:
        return abs(simulated - ref) <= case.tolerance_abs(ref)
    tol = case.tolerance_abs(None)
    if case.range is not None:
        return case.range[0] - tol <= simulated <= case.range[1] + tol
    if case.lower is not None:
        return simulated >= case.lower - tol
    if case.upper is not None:
        return simulated <= case.upper + tol
    raise AssertionError(f"case {case.name} has no reference")  # load_case makes this impossible


def converged(case: Case, at_h: float, at_h2: float, reference: float | None = None) -> bool:
    """The value moved by at most a third of the tolerance from h to h/2 (for a bound without a
    tolerance: the judgement is the same at both)."""
    ref = reference if reference is not None else case.value
    tol = case.tolerance_abs(ref)
    if tol > 0:
        return math.isfinite(at_h2) and abs(at_h2 - at_h) <= tol / 3
    return judge(case, at_h, reference) == judge(case, at_h2, reference)
