"""``ecmsim validate [-o DIR] [--quick] [--uq]``: every validation case against its reference.

Cases are TOML files in the repository's ``validation/cases/`` (format and classes in
docs/validation.md and :mod:`ecmsim.studies.cases`). Before anything runs, every case file, the
reference data, ``fitted.toml`` and (with ``--uq``) ``uncertain_inputs.toml`` are read and the
classes checked against the declared fitted inputs; then every scenario run the cases declare is
made, ``-j`` at a time through the runner of ``ecmsim sweep`` (at h and h/2 for the cases that
check their convergence); then each case is judged:

- PASS / FAIL: within the tolerance of the reference value (inside the range, on the right side
  of the bound); with ``--uq`` a ``predicted`` case passes when the measurement lies inside the
  5-95 % band of its quantity over the uncertain inputs;
- UNCONVERGED: the value moved by more than a third of its tolerance from h to h/2;
- ERROR: the computation raised; NOT YET MODELLED: the package cannot compute it (never a pass).

Writes ``report.md``, ``report.json`` and ``figures/`` into DIR (default ``results/validation``,
``-quick`` and ``-uq`` appended for those modes; never into the package), scenario runs into
``DIR/runs/`` and ``DIR/uq/``. Exit status 0 when no case is FAIL, UNCONVERGED or ERROR, 1
otherwise, 2 for a malformed case file or a class its declarations contradict. Only the standard
library is imported at module level.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ecmsim.studies.cases import (CLASSES, ROOT, Case, Suite, case_runs, check_declarations, converged,  # noqa: F401
                                  find_suite, judge, load_case, load_cases)
from ecmsim.studies.verdicts import (ERROR, FAIL, NOT_MODELLED, PASS, SKIPPED, STATUSES, UNCONVERGED,  # noqa: F401
                                     Context, Outcome, compute, evaluate, make_runs, refined, run_name)

#: Default number of samples of the uncertain inputs (``--uq-samples``).
UQ_SAMPLES = 10


def register(subparsers) -> None:
    p = subparsers.add_parser("validate", help="run the validation cases and write report.md and report.json",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("-o", "--out", help="report folder (default: results/validation, -quick / -uq appended)")
    p.add_argument("--quick", action="store_true", help="only the cases marked quick (a few minutes)")
    p.add_argument("--uq", action="store_true",
                   help="uncertainty bands of the predicted cases over validation/uncertain_inputs.toml")
    p.add_argument("--uq-samples", type=int, default=UQ_SAMPLES, metavar="N",
                   help=f"samples of the uncertain inputs with --uq (default {UQ_SAMPLES})")
    p.add_argument("--uq-seed", type=int, default=1, metavar="S", help="seed of the sample (default 1)")
    p.add_argument("--cases", help="validation folder (holding cases/) or a folder of case files "
                                   "(default: the repository's validation/)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace report.md, report.json and figures in -o even if ecmsim did not write them")
    p.add_argument("-k", dest="select", help="only cases whose name contains this text")
    p.add_argument("-j", "--jobs", type=int, help="scenario runs at a time (default: the available cores; 1 with "
                                                  "--quick; with 1 the runs are made in this process)")
    p.add_argument("--refine-all", action="store_true",
                   help="also run at h/2 the cases that read a recorded convergence study (to measure it again)")
    p.add_argument("--resume", action="store_true",
                   help="reuse finished runs of an interrupted validation (same input hash; same code assumed)")
    p.set_defaults(handler=_validate)


# --- the whole validation ---------------------------------------------------------------------------

def default_out(quick: bool, uq: bool) -> Path:
    return Path("results") / ("validation" + ("-quick" if quick else "") + ("-uq" if uq else ""))


def run_validation(out: str | Path | None = None, quick: bool = False, cases_dir: str | Path | None = None,
                   select: str | None = None, echo=print, jobs: int | None = None, uq: bool = False,
                   uq_samples: int = UQ_SAMPLES, uq_seed: int = 1, resume: bool = False,
                   command: str = "", refine_all: bool = False, overwrite: bool = False) -> tuple[list[Outcome], Path]:
    """Load and check every case (and the UQ inputs) before anything runs, make the runs, judge,
    write report.md, report.json and figures/ as one group of files (ecmsim.io.folders.result_files:
    the folder may hold others; a report ecmsim did not write is replaced only with ``overwrite``)."""
    from ecmsim.core.errors import EcmsimError
    from ecmsim.io.folders import result_files
    from ecmsim.studies import validation_report
    from ecmsim.studies.sweep import available_cores

    start = time.perf_counter()
    suite = find_suite(cases_dir)
    cases = load_cases(suite)
    if select:
        cases = [c for c in cases if select in c.name]
        if not cases:
            raise EcmsimError(f"-k {select}: no case name contains it (cases in {suite.cases_dir})")
    for c in cases:
        check_declarations(c, suite)
        if refine_all and c.convergence_study and case_runs(c):
            c.refine = True          # measure the recorded study again, at h and h/2
    active = [c for c in cases if not c.not_modelled and (c.quick or not quick)]
    plan = None
    if uq:
        from ecmsim.studies import uq as uq_mod
        if uq_samples < 2:
            raise EcmsimError(f"--uq-samples {uq_samples}: must be >= 2")
        plan = uq_mod.plan(suite, [c for c in active if c.cls == "predicted"], uq_samples, uq_seed)
    if jobs is not None and jobs < 1:
        raise EcmsimError(f"-j {jobs}: must be >= 1")
    jobs = jobs or (1 if quick else available_cores())   # few short runs: in this process is faster
    out = Path(out) if out else default_out(quick, uq)
    say = (lambda msg: echo(f"[validate] {msg}"))

    base = [r for c in active for r in case_runs(c)]
    fine = {r: refined(r, suite.root) for c in active if c.refine for r in case_runs(c)}
    out.mkdir(parents=True, exist_ok=True)
    # the report's files are one group: refused before any run if someone else's report is there
    with result_files(out, ["report.md", "report.json"], command="validate", overwrite=overwrite) as stage:
        folders = make_runs([*base, *fine.values()], suite.root, out, "runs", jobs, say, resume)
        ctx = Context(out, suite.root, folders, figures=stage / "figures")
        ctx_h2 = Context(out, suite.root, {r: folders[f] for r, f in fine.items()}, figures=stage / "figures" / "h2")

        outcomes: list[Outcome] = []
        for c in cases:
            if c in active:
                o = evaluate(c, ctx, ctx_h2 if c.refine else None)
            else:
                o = Outcome(c, NOT_MODELLED if c.not_modelled else SKIPPED,
                            details=c.not_modelled or "")
            outcomes.append(o)
            shown = validation_report.fmt(o.simulated, c.unit) if o.simulated is not None else ""
            say(f"{o.status:16s} {c.cls:11s} {c.name:40s} {shown:>16s}  ref {validation_report.reference_text(o):>22s}")
        if plan is not None:
            from ecmsim.studies import uq as uq_mod
            uq_mod.run(plan, outcomes, suite, out / "uq", jobs, say, resume)
        for o in outcomes:
            if o.simulated is not None:
                fig = validation_report.case_figure(o, stage / "figures")
                o.figures.insert(0, fig) if fig else None
        validation_report.write(outcomes, stage, suite, quick, time.perf_counter() - start,
                                command or "ecmsim validate", plan)
    report = out / "report.md"
    return outcomes, report


def _validate(args: argparse.Namespace) -> int:
    import sys

    from ecmsim.core.errors import EcmsimError
    from ecmsim.studies.sweep import launcher_size

    if launcher_size() > 1:  # runs are parallel processes of their own; ranks would race on report.md
        raise EcmsimError("ecmsim validate runs as one process: start it without mpirun (-j sets the parallel runs)")
    command = "ecmsim " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["validate"] else "ecmsim validate"
    outcomes, report = run_validation(args.out, args.quick, args.cases, args.select, jobs=args.jobs, uq=args.uq,
                                      uq_samples=args.uq_samples, uq_seed=args.uq_seed, resume=args.resume,
                                      command=command, refine_all=args.refine_all,
                                      overwrite=args.overwrite)
    failed = [o.case.name for o in outcomes if o.status in (FAIL, UNCONVERGED, ERROR)]
    print(f"[validate] report: {report} and {report.with_suffix('.json')}"
          + (f"; not passed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0
