"""Uncertainty bands of the ``predicted`` cases: ``ecmsim validate --uq``.

The uncertain inputs are listed in the suite's ``uncertain_inputs.toml``, each with a distribution,
its source and where it goes (scenario keys, or a property of a library material record). They are
sampled together: a Latin hypercube in the unit cube (``scipy.stats.qmc``), mapped through each
distribution's quantile function (``scipy.stats``), with a fixed seed, so that the same command
draws the same sample and ``--resume`` finds its finished runs. Every scenario run a ``predicted``
case declares is made once per sample with that sample's overrides, each as a point of a sweep
folder (``DIR/uq/<run>/``: ``points/``, ``logs/``, ``sweep.json``, ``sweep.csv``) by the runner of
``ecmsim sweep``, all in one pool of ``-j`` processes. The case's check then computes its quantity
from each sample's runs.

Per case: the 5-95 % band (empirical percentiles of the samples; with N samples they are estimated
with sampling error: the report gives N), and the first-order sensitivity of each input that
applies to the case's runs: the share of the quantity's variance explained by that input alone,
from a least-squares fit that is linear in each input (in log for log-distributed ones),
S_i = b_i^2 Var(x_i) / (sum_j b_j^2 Var(x_j) + residual variance), with Var(x_i) the variance of the
input's distribution. For a response linear in the inputs this is the first-order Sobol index;
the adjusted R^2 of the fit says how much of the variance the linear part explains. It needs N >= d + 2
samples for d inputs. (Sample-based Sobol estimators of SALib or scipy.stats.sobol_indices need
hundreds of runs, or N (d + 2) of them, which the minutes these runs take do not allow.)
"""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DISTRIBUTIONS = {"uniform": ("low", "high"), "loguniform": ("low", "high"), "normal": ("mean", "std"),
                 "lognormal": ("median", "sigma_ln"), "triangular": ("low", "mode", "high")}


def _bad(path, key: str, value: Any, allowed: str):
    from ecmsim.core.errors import InputFileError
    return InputFileError(f"{path}: {key} = {value!r}: {allowed}")


@dataclass(frozen=True)
class Target:
    key: str = ""               # a scenario key, or
    material: str = ""          # a library record ...
    prop: str = ""              # ... and its property
    when: tuple[tuple[str, Any], ...] = ()


@dataclass
class UncertainInput:
    name: str
    quantity: str
    distribution: str
    params: dict[str, float]
    source: str
    targets: list[Target]

    @property
    def log(self) -> bool:
        return self.distribution in ("loguniform", "lognormal")

    def ppf(self, u):
        """Values at the unit-cube coordinates ``u``."""
        import numpy as np
        from scipy import stats

        p, u = self.params, np.asarray(u, dtype=float)
        if self.distribution == "uniform":
            return p["low"] + u * (p["high"] - p["low"])
        if self.distribution == "loguniform":
            return np.exp(np.log(p["low"]) + u * (np.log(p["high"]) - np.log(p["low"])))
        if self.distribution == "normal":
            return stats.norm.ppf(u, loc=p["mean"], scale=p["std"])
        if self.distribution == "lognormal":
            return p["median"] * np.exp(p["sigma_ln"] * stats.norm.ppf(u))
        c = (p["mode"] - p["low"]) / (p["high"] - p["low"])
        return stats.triang.ppf(u, c, loc=p["low"], scale=p["high"] - p["low"])

    def variance(self) -> float:
        """Variance of the regression variable (the value, or its log for log-distributed inputs)."""
        p = self.params
        if self.distribution == "uniform":
            return (p["high"] - p["low"]) ** 2 / 12
        if self.distribution == "loguniform":
            return (math.log(p["high"]) - math.log(p["low"])) ** 2 / 12
        if self.distribution == "normal":
            return p["std"] ** 2
        if self.distribution == "lognormal":
            return p["sigma_ln"] ** 2
        a, c, b = p["low"], p["mode"], p["high"]
        return (a * a + b * b + c * c - a * b - a * c - b * c) / 18


def load_inputs(path: Path) -> list[UncertainInput]:
    """``uncertain_inputs.toml``, every entry checked (one-line errors naming file, entry, key)."""
    from ecmsim import materials

    path = Path(path)
    if not path.is_file():
        raise _bad(path, "file", str(path), "no uncertain inputs: --uq needs this file (docs/validation.md)")
    try:
        entries = tomllib.loads(path.read_bytes().decode("utf-8-sig")).get("input", [])
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise _bad(path, "file", str(path), f"not readable TOML: {err}") from None
    if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
        raise _bad(path, "input", entries, "needs [[input]] tables")
    out: list[UncertainInput] = []
    for i, e in enumerate(entries, 1):
        where = f"{path}: [[input]] {i} ({e.get('name', '?')})"
        dist = e.get("distribution")
        if dist not in DISTRIBUTIONS:
            raise _bad(where, "distribution", dist, f"must be one of {', '.join(DISTRIBUTIONS)}")
        known = {"name", "quantity", "distribution", "source", "target", *DISTRIBUTIONS[dist]}
        extra = sorted(set(e) - known)
        if extra:
            raise _bad(where, extra[0], e[extra[0]], f"unknown key (allowed: {', '.join(sorted(known))})")
        for key in ("name", "quantity", "source"):
            if not isinstance(e.get(key), str) or not e[key].strip():
                raise _bad(where, key, e.get(key), "must be a non-empty string (the source says where the "
                                                   "distribution comes from, or that it is assumed)")
        params = {}
        for key in DISTRIBUTIONS[dist]:
            v = e.get(key)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise _bad(where, key, v, f"a {dist} distribution needs a finite {key}")
            params[key] = float(v)
        ok = {"uniform": params.get("low", 0) < params.get("high", 0),
              "loguniform": 0 < params.get("low", 0) < params.get("high", 0),
              "normal": params.get("std", 0) > 0, "lognormal": params.get("median", 0) > 0 < params.get("sigma_ln", 0),
              "triangular": params.get("low", 0) <= params.get("mode", 0) <= params.get("high", 0)
              and params.get("low", 0) < params.get("high", 0)}[dist]
        if not ok:
            raise _bad(where, "distribution", params, f"not a valid {dist} distribution")
        targets = []
        raw = e.get("target")
        if not isinstance(raw, list) or not raw:
            raise _bad(where, "target", raw, "needs [[input.target]] tables (key = ..., or material and property)")
        for t in raw:
            when = t.get("when", {})
            if not isinstance(when, dict):
                raise _bad(where, "target.when", when, "must be a table of section.key = value(s)")
            if set(t) - {"key", "material", "property", "when"}:
                raise _bad(where, "target", t, "allowed keys: key, or material and property; when")
            if "key" in t and isinstance(t["key"], str) and "." in t["key"] and "material" not in t:
                targets.append(Target(key=t["key"], when=tuple(when.items())))
            elif isinstance(t.get("material"), str) and isinstance(t.get("property"), str) and "key" not in t:
                record = materials.get(t["material"])
                record.get(t["property"])       # MaterialError names the record's keys
                targets.append(Target(material=t["material"], prop=t["property"], when=tuple(when.items())))
            else:
                raise _bad(where, "target", t, "give key = \"section.key\", or material = \"<record>\" and property")
        out.append(UncertainInput(e["name"], e["quantity"], dist, params, e["source"], targets))
    names = [u.name for u in out]
    if len(set(names)) != len(names):
        raise _bad(path, "name", next(n for n in names if names.count(n) > 1), "is used twice")
    return out


# --- which inputs reach a run -------------------------------------------------------------------------

def _lookup(d: dict, dotted: str):
    node: Any = d
    for part in dotted.split("."):
        if not isinstance(node, dict) or node.get(part) is None:
            return None
        node = node[part]
    return node


def _matches(scn: dict, when) -> bool:
    for key, want in when:
        have = _lookup(scn, key)
        if want == "*":
            if have is None:
                return False
        elif have not in (want if isinstance(want, list) else [want]):
            return False
    return True


def _inline(record, changed: dict[str, float], note: str) -> str:
    """A library record as an inline TOML table with some properties replaced."""
    from ecmsim.scenario.sections import InlineMaterial

    allowed = set(InlineMaterial.model_fields) - {"source"}
    values = {"youngs_modulus_Pa": record.youngs_modulus_Pa, "poissons_ratio": record.poissons_ratio,
              **{k: v for k, v in record.properties.items() if k in allowed}, **changed}
    body = ", ".join(f"{k} = {float(v)!r}" for k, v in values.items())
    return "{" + body + f", source = {json.dumps(note)}" + "}"


def overrides_for(inputs: list[UncertainInput], values: list[float], scn: dict, record_of) -> tuple[list[str], list[int]]:
    """The ``--set`` overrides that put one sample's values into a run's scenario (as run), and the
    indices of the inputs that reach it."""
    sets, used, materials_changed = [], [], {}
    for i, (u, v) in enumerate(zip(inputs, values)):
        hit = False
        for t in u.targets:
            if not _matches(scn, t.when):
                continue
            if t.key and _lookup(scn, t.key) is not None:
                sets.append(f"{t.key}={float(v)!r}")
                hit = True
            elif t.material:
                for region, ref in (scn.get("materials") or {}).items():
                    if ref == t.material:
                        materials_changed.setdefault(region, {})[t.prop] = v
                        hit = True
        if hit:
            used.append(i)
    for region, changed in materials_changed.items():
        record = record_of(scn["materials"][region])
        note = f"{record.key} with {', '.join(changed)} from ecmsim validate --uq"
        sets.append(f"materials.{region}={_inline(record, changed, note)}")
    return sets, used


# --- the plan and the run -------------------------------------------------------------------------------

@dataclass
class Plan:
    inputs: list[UncertainInput]
    samples: int
    seed: int
    values: Any                                 # samples x inputs
    cases: list                                 # the predicted cases
    sample_runs: dict = field(default_factory=dict)   # (base Run, k) -> sample Run
    reach: dict = field(default_factory=dict)         # base Run -> input indices
    source: str = ""

    def describe(self) -> dict:
        return {"samples": self.samples, "seed": self.seed, "file": self.source,
                "sampling": "Latin hypercube (scipy.stats.qmc), quantile functions of scipy.stats",
                "band": "empirical 5th and 95th percentiles of the samples",
                "sensitivity": "first-order variance shares from a fit linear in each input (log for log-"
                               "distributed ones): S_i = b_i^2 Var(x_i) / (sum_j b_j^2 Var(x_j) + residual); "
                               "sensitivity_r2: the fit's adjusted R^2",
                "inputs": [{"name": u.name, "quantity": u.quantity, "distribution": u.distribution, **u.params,
                            "source": u.source, "targets": [t.key or f"{t.material}.{t.prop}" for t in u.targets]}
                           for u in self.inputs]}

    def markdown(self, outcomes, fmt) -> list[str]:
        lines = ["## Uncertainty bands", "",
                 f"{self.samples} samples (Latin hypercube, seed {self.seed}) of the uncertain inputs of "
                 f"`{self.source}`, every run of each `predicted` case made once per sample. Band: the empirical "
                 "5th–95th percentiles of the samples (with few samples, an estimate). Sensitivity: the "
                 "first-order share of the variance of each input that reaches the case's runs, from a fit "
                 "linear in each input; R² (adjusted for the number of inputs) says how much of the variance that fit explains.", "",
                 "| input | distribution | reaches | source |", "|---|---|---|---|"]
        for i, u in enumerate(self.inputs):
            reach = sorted({Path(r.scenario).name for r, idx in self.reach.items() if i in idx})
            params = ", ".join(f"{k} {v:.4g}" for k, v in u.params.items())
            lines.append(f"| {u.name} ({u.quantity}) | {u.distribution}: {params} | "
                         f"{', '.join(reach) or 'no predicted run today'} | {u.source} |")
        lines += ["", "| case | measured | band 5–95 % | width | samples | first-order sensitivity (ranked) | R² "
                  "| verdict (band) | by tolerance |", "|---|---|---|---|---|---|---|---|---|"]
        for o in outcomes:
            if o.case not in self.cases:
                continue
            uq = o.uq or {}
            if o.band is None:
                lines.append(f"| {o.case.name} | — | — | — | — | {uq.get('note', '—')} | — | {o.status} | — |")
                continue
            ranked = "; ".join(f"{s['input']} {s['first_order']:.2f}" for s in uq.get("sensitivity") or []) \
                or uq.get("note", "—")
            ref = o.reference if o.reference is not None else o.case.value
            r2 = uq.get("r2")
            lines.append(f"| {o.case.name} | {fmt(ref, o.case.unit)} | {fmt(o.band[0], o.case.unit)} … "
                         f"{fmt(o.band[1], o.case.unit)} | {fmt(o.band[1] - o.band[0], o.case.unit)} | "
                         f"{uq.get('samples')} of {self.samples} | {ranked} | {'—' if r2 is None else f'{r2:.2f}'} | "
                         f"**{o.status}** | {uq.get('verdict_by_tolerance')} |")
        return [*lines, ""]


def plan(suite, cases, samples: int, seed: int) -> Plan:
    """Read the uncertain inputs and draw the sample; every sample run's scenario is loaded, so a bad
    input or value stops here, before anything runs."""
    import numpy as np
    from scipy.stats import qmc

    from ecmsim import materials
    from ecmsim import scenario as scenario_mod
    from ecmsim.core.errors import ScenarioError
    from ecmsim.studies.cases import case_runs
    from ecmsim.studies.checks import Run

    inputs = load_inputs(suite.uncertain_inputs)
    u = qmc.LatinHypercube(d=len(inputs), seed=seed).random(samples)
    values = np.column_stack([inp.ppf(u[:, i]) for i, inp in enumerate(inputs)])
    p = Plan(inputs, samples, seed, values, list(cases), source=suite.rel(suite.uncertain_inputs))
    for case in cases:
        for base in case_runs(case):
            if base in p.reach:
                continue
            scn = scenario_mod.load(suite.root / base.scenario, list(base.overrides)).to_dict()
            for k in range(samples):
                sets, used = overrides_for(inputs, list(values[k]), scn, materials.get)
                p.reach[base] = used
                run = Run(base.scenario, (*base.overrides, *sets))
                try:
                    scenario_mod.load(suite.root / run.scenario, list(run.overrides))
                except ScenarioError as err:
                    raise ScenarioError(f"{err} (--uq sample {k} of {suite.rel(suite.uncertain_inputs)}: a "
                                        "distribution reaches outside the scenario's allowed range)") from None
                p.sample_runs[(base, k)] = run
    return p


def first_order(x, y, variances) -> tuple[list[float], float] | None:
    """Variance shares of a fit linear in each column of ``x`` (n x d) and the fit's adjusted R^2;
    None when n < d + 2."""
    import numpy as np

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n, d = x.shape
    if n < d + 2 or d == 0:
        return None
    a = np.column_stack([np.ones(n), x])
    coef, *_ = np.linalg.lstsq(a, y, rcond=None)
    resid = y - a @ coef
    parts = coef[1:] ** 2 * np.asarray(variances)
    total_ss, res_ss = float(np.sum((y - y.mean()) ** 2)), float(np.sum(resid ** 2))
    # adjusted R^2: with few samples per input the plain one flatters the fit
    r2 = 1 - (res_ss / (n - d - 1)) / (total_ss / (n - 1)) if total_ss > 0 else 1.0
    residual = res_ss / (n - d - 1)
    total = float(parts.sum()) + residual
    return ([float(v / total) if total > 0 else 0.0 for v in parts], r2)


def _judge_band(case, band, reference) -> bool:
    lo, hi = band
    ref = reference if reference is not None else case.value
    if ref is not None:
        return lo <= ref <= hi
    if case.range is not None:
        return lo <= case.range[1] and hi >= case.range[0]
    if case.lower is not None:
        return hi >= case.lower
    return lo <= case.upper


def run(p: Plan, outcomes, suite, folder: Path, jobs: int, say, resume: bool = False) -> None:
    """Make every sample run (one pool), gather a sweep.csv per run, give each predicted case its band,
    sensitivity and band verdict."""
    import numpy as np

    from ecmsim import scenario as scenario_mod
    from ecmsim.studies.cases import case_runs
    from ecmsim.studies.sweep import Axis, Point, gather
    from ecmsim.studies.verdicts import ERROR, FAIL, PASS, Context, compute, make_runs, run_name

    names = {r: f"{run_name(base)}/points/s{k:03d}" for (base, k), r in p.sample_runs.items()}
    say(f"--uq: {p.samples} samples x {len(p.reach)} run(s) of {len(p.cases)} predicted case(s)")
    folders = make_runs(list(p.sample_runs.values()), suite.root, folder, ".", jobs, say, resume, names=names) \
        if p.sample_runs else {}
    folder.mkdir(parents=True, exist_ok=True)
    header = ["sample", *[u.name for u in p.inputs]]
    rows = [",".join(header)] + [",".join([str(k), *(f"{v:.6g}" for v in p.values[k])]) for k in range(p.samples)]
    (folder / "samples.csv").write_text("\n".join(rows) + "\n")
    for base, used in p.reach.items():       # each run's samples as a sweep folder: sweep.json, sweep.csv
        sweep = folder / run_name(base)
        points = []
        for k in range(p.samples):
            r = p.sample_runs[(base, k)]
            h = scenario_mod.load(suite.root / r.scenario, list(r.overrides)).input_hash()
            points.append(Point(f"s{k:03d}", {p.inputs[i].name: f"{p.values[k][i]:.6g}" for i in used},
                                list(r.overrides), h))
        axes = [Axis(p.inputs[i].name, ()) for i in used]
        (sweep / "sweep.json").write_text(json.dumps(
            {"scenario": base.scenario, "sets": list(base.overrides), "uq": True,
             "points": [{"name": pt.name, "params": pt.params, "input_hash_sha256": pt.input_hash} for pt in points]},
            indent=2) + "\n")
        gather(sweep, points, axes)

    for o in outcomes:
        if o.case not in p.cases or o.simulated is None:
            if o.case in p.cases:
                o.uq = {"note": "no band: the nominal value was not computed"}
            continue
        bases = [b for b in p.reach if b in case_runs(o.case)]
        if not bases:
            o.uq = {"note": "no band: the case declares no scenario runs (its check computes in-process)"}
            continue
        used = sorted({i for b in bases for i in p.reach[b]})
        values, rows = [], []
        for k in range(p.samples):
            ctx = Context(folder, suite.root, {b: folders[p.sample_runs[(b, k)]] for b in bases},
                          figures=folder / "figures")
            try:
                v = compute(o.case, ctx)[0]
            except Exception:  # noqa: BLE001 - a failed sample is counted, not fatal
                v = None
            if v is not None and math.isfinite(v):
                values.append(v)
                rows.append(k)
        by_tolerance = o.status
        o.uq = {"samples": len(values), "values": values, "verdict_by_tolerance": by_tolerance}
        if len(values) < 2:
            o.uq["note"] = f"no band: {len(values)} of {p.samples} samples computed"
            continue
        o.band = (float(np.percentile(values, 5)), float(np.percentile(values, 95)))
        if not used:
            o.uq["note"] = "no uncertain input reaches this case's runs"
        else:
            x = np.array([[math.log(p.values[k][i]) if p.inputs[i].log else p.values[k][i] for i in used]
                          for k in rows])
            fit = first_order(x, values, [p.inputs[i].variance() for i in used])
            if fit is None:
                o.uq["note"] = f"sensitivity needs at least {len(used) + 2} samples for {len(used)} inputs"
            else:
                shares, r2 = fit
                ranked = sorted(zip(used, shares), key=lambda t: -t[1])
                o.uq["sensitivity"] = [{"input": p.inputs[i].name, "first_order": round(s, 4)} for i, s in ranked]
                o.uq["r2"] = round(r2, 4)
        if o.status in (PASS, FAIL):
            o.status = PASS if _judge_band(o.case, o.band, o.reference) else FAIL
            o.judged_by = "band"
        elif o.status != ERROR:
            o.judged_by = "band (not judged: " + o.status + ")"

