"""``ecmsim sweep FILE --set key=v1,v2,... [--set key2=...] -o DIR``: a parameter grid of runs.

Every combination of the listed values is one *point*; a ``--set`` with a single value applies
to every point. Each point is an ordinary ``ecmsim run FILE --set ... -o DIR/points/<name>`` in
its own process, ``-j`` of them at a time (default: the cores this process may use). Under an
MPI launcher (``mpirun -n R ecmsim sweep ...``) the points are dealt round-robin to the ranks and
each rank runs its share as single-process runs (the MPI equivalent of ``COMM_SELF``); rank 0
gathers.

Before any point runs, every point's scenario is validated: a bad key or value ends the sweep
with one line and exit status 2, and nothing has run.

Restart: a point whose folder holds a ``summary.json`` of the same input hash is finished and is
not run again. A point interrupted mid-run left only a staging folder ``<name>.partial-*`` (see
:mod:`ecmsim.io.folders`), so it runs again, and that folder is removed first. One killed after its result was
complete but before the rename is put in place instead (:func:`adopt_finished_staging`). Run the same command
again after an interruption and only the missing points run.

Results: ``DIR/sweep.csv`` (one row per point: name, status, swept and fixed parameters, every
scalar metric of summary.json), ``DIR/sweep.png`` (each metric against the first swept
parameter, one line per value of the second), ``DIR/sweep.json`` (the sweep's definition) and
``DIR/logs/<name>.log`` (each point's output). Only the standard library is imported at module
level.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

#: Refuse larger grids: a typo in a value list must not start thousands of runs.
MAX_POINTS = 2000
#: What a sweep writes into its folder (its manifest lists these: ecmsim.io.folders.claim_work_folder).
SWEEP_FILES = ["sweep.json", "sweep.csv", "sweep.png", "points/", "logs/"]
#: Environment variables an MPI launcher sets; removed for the per-point runs so that each one
#: starts as its own single-process MPI job.
_LAUNCHER_PREFIXES = ("PMI_", "PMIX_", "OMPI_", "HYDRA_", "MPI_LOCAL", "MPIR_", "I_MPI_")


def register(subparsers) -> None:
    p = subparsers.add_parser("sweep", help="run a scenario over a grid of parameter values",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("scenario", help="scenario TOML file")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="SECTION.KEY=V1,V2,...",
                   help="values of one key (repeatable); one value applies to every point, e.g. "
                        "--set loading.stack_pressure_Pa=1e6,2.4e6,3e6")
    p.add_argument("-o", "--out", required=True, help="sweep folder (points/, logs/, sweep.csv, sweep.png)")
    p.add_argument("-j", "--jobs", type=int, default=None,
                   help="points run at once (default: the available cores; under mpirun: 1 per rank)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.set_defaults(handler=_sweep)


# --- the grid -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Axis:
    """One ``--set``: a dotted key and its values as typed."""

    key: str
    values: tuple[str, ...]


@dataclass
class Point:
    """One combination of values; ``params`` maps dotted key -> value as typed."""

    name: str
    params: dict[str, str]
    overrides: list[str] = field(default_factory=list)
    input_hash: str = ""
    scenario: Path | None = None    # a point's own scenario file (a study); None: the sweep's


def split_values(text: str) -> list[str]:
    """``1e6, 2e6`` -> ['1e6', '2e6']; commas inside [], {} or quotes do not split."""
    out, depth, quote, cur = [], 0, "", []
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    out.append("".join(cur).strip())
    return out


def parse_axes(sets: list[str]) -> list[Axis]:
    """The ``--set`` arguments as axes; ScenarioError (one line) for a malformed one."""
    from ecmsim.core.errors import ScenarioError

    axes: list[Axis] = []
    for item in sets:
        if "=" not in item:
            raise ScenarioError(f"--set {item!r}: expected SECTION.KEY=V1,V2,...")
        key, raw = (s.strip() for s in item.split("=", 1))
        if not key or not all(part.strip() for part in key.split(".")):
            raise ScenarioError(f"--set {item!r}: empty key")
        values = split_values(raw)
        if any(v == "" for v in values):
            raise ScenarioError(f"--set {item!r}: empty value in the list (values: V1,V2,... separated by commas)")
        if len(set(values)) != len(values):
            dup = next(v for v in values if values.count(v) > 1)
            raise ScenarioError(f"--set {item!r}: value {dup!r} is listed twice")
        if any(a.key == key for a in axes):
            raise ScenarioError(f"--set {key}: given twice; list all its values in one --set")
        axes.append(Axis(key, tuple(values)))
    return axes


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.+\-_=]+", "_", text).strip("_") or "_"


def build_points(axes: list[Axis]) -> list[Point]:
    """The grid: every combination of the swept axes (more than one value), fixed axes added to each.

    A point's name joins ``<last key part>=<value>`` of the swept axes with ``__`` (the full
    dotted key where the last parts of two swept keys coincide), so folders read like the grid.
    """
    from ecmsim.core.errors import ScenarioError

    swept = [a for a in axes if len(a.values) > 1]
    fixed = {a.key: a.values[0] for a in axes if len(a.values) == 1}
    short = [a.key.split(".")[-1] for a in swept]
    labels = [a.key if short.count(s) > 1 else s for a, s in zip(swept, short, strict=True)]
    count = 1
    for a in swept:
        count *= len(a.values)
    if count > MAX_POINTS:
        raise ScenarioError(f"the grid has {count} points, more than {MAX_POINTS}: sweep fewer values at once")
    points, names = [], {}
    for combo in itertools.product(*(a.values for a in swept)):
        params = dict(zip((a.key for a in swept), combo, strict=True))
        name = "__".join(f"{_safe(label)}={_safe(v)}" for label, v in zip(labels, combo, strict=True)) or "base"
        if len(name) > 150:  # file names end at 255 bytes: keep a readable head and a hash of the rest
            import hashlib
            name = f"{name[:130]}__{hashlib.sha256(name.encode()).hexdigest()[:10]}"
        if name in names:
            raise ScenarioError(f"--set values {names[name]} and {params} give the same folder name {name!r}: "
                                "make the values differ in letters or digits")
        names[name] = params
        points.append(Point(name, {**params, **fixed}))
    return points


def validate_points(scenario: Path, points: list[Point]) -> None:
    """Load every point's scenario (overrides applied): the first invalid one raises ScenarioError."""
    from ecmsim import scenario as scenario_mod
    from ecmsim.core.errors import ScenarioError

    for p in points:
        p.overrides = [f"{k}={v}" for k, v in p.params.items()]
        try:
            scn = scenario_mod.load(scenario, p.overrides)
        except ScenarioError as err:
            where = f" (sweep point {p.name})" if p.name != "base" else ""
            raise ScenarioError(f"{err}{where}") from None
        p.input_hash = scn.input_hash()


# --- running --------------------------------------------------------------------------------------

def finished(point_dir: Path, input_hash: str) -> bool:
    """The folder holds a complete summary.json of this very input (same hash)."""
    import json

    try:
        summary = json.loads((point_dir / "summary.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(summary, dict) and summary.get("input_hash_sha256") == input_hash and "metrics" in summary


def _process_alive(pid: int) -> bool:
    """A process of this id runs on this machine (or may: one we may not signal counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def adopt_finished_staging(target: Path, input_hash: str) -> Path | None:
    """Put in place a complete result of this point that a killed run left in its staging folder.

    A run killed between writing its result's manifest and renaming the staging folder
    (:mod:`ecmsim.io.folders`) leaves ``<name>.partial-<pid>-*`` holding the whole result. If it holds a
    manifest and a summary of this very input (same hash), its writer no longer runs and ``target`` does
    not exist, it is renamed to ``target``: the point is finished without running it again. Returns the
    staging folder adopted, or None."""
    from ecmsim.io.folders import read_manifest, staging_writer_pid

    if os.path.lexists(target):
        return None
    for staging in sorted(target.parent.glob(f"{target.name}.partial-*")):
        pid = staging_writer_pid(staging)
        if (pid is None or _process_alive(pid) or not staging.is_dir() or read_manifest(staging) is None
                or not finished(staging, input_hash)):
            continue
        try:
            os.rename(staging, target)
        except OSError:
            continue      # another run took its place meanwhile: that one counts
        return staging
    return None


def adopt_finished_points(folder: Path, points, say) -> None:
    """:func:`adopt_finished_staging` for every point of a sweep or study not finished in ``folder``
    (before the points to run are chosen: an adopted one is finished)."""
    for p in points:
        target = folder / p.name
        if not finished(target, p.input_hash) and (staging := adopt_finished_staging(target, p.input_hash)):
            say(f"{p.name}: the complete result a killed run left in {staging.name} put in place")


def _remove_stale_staging(target: Path) -> None:
    """Staging folders a killed run of this point left beside it (``<name>.partial-*``): the point is
    about to run again, so they are only clutter (a complete one of this input was adopted before, by
    :func:`adopt_finished_staging`). One whose writer still runs is left alone."""
    from ecmsim.io.folders import remove_tree, staging_writer_pid

    for leftover in target.parent.glob(f"{target.name}.partial*"):
        pid = staging_writer_pid(leftover)
        if leftover.is_dir() and not (pid is not None and _process_alive(pid)):
            remove_tree(leftover)


def launcher_size() -> int:
    """Number of ranks an MPI launcher started (from its environment; 1 without one), without MPI."""
    for var in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    return 1


def _child_env() -> dict[str, str]:
    from ecmsim.core.interrupt import PARENT_ENV

    env = {k: v for k, v in os.environ.items() if not k.startswith(_LAUNCHER_PREFIXES)}
    env[PARENT_ENV] = str(os.getpid())   # a point dies with its sweep, even a SIGKILLed one
    # one core per point: the pool provides the parallelism. Stricter than ecmsim's import (ecmsim/core/threads.py),
    # which leaves every BLAS variable alone once the user has set one of them (OMP_NUM_THREADS=8 for another tool)
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    return env


def available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class _Runner:
    """Runs points as ``python -m ecmsim run`` subprocesses, ``jobs`` at a time.

    SIGTERM / Ctrl-C stop the running children (each removes its staging folder) and end the sweep
    with ``ecmsim: interrupted`` and status 143 / 130; a point whose sweep dies even by SIGKILL gets
    SIGTERM (:func:`ecmsim.core.interrupt.die_with_parent`).
    """

    def __init__(self, scenario: Path | None, out: Path, jobs: int, say, subdir: str = "points",
                 live: bool = False, label: str = "sweep"):
        self.scenario, self.out, self.jobs, self.say, self.subdir = scenario, out, jobs, say, subdir
        #: a live bar of the runs finished, with the time left (on a terminal, see ecmsim.core.progress)
        self.live, self.label = live, label
        self.children: set[subprocess.Popen] = set()
        self.lock = threading.Lock()
        self.stopping = False

    def run_one(self, point: Point) -> tuple[Point, int, float]:
        target = self.out / self.subdir / point.name
        _remove_stale_staging(target)
        # -P: the current folder is not put first on the path, so a folder named ecmsim there (a
        # result folder, say) cannot shadow the package
        cmd = [sys.executable, "-P", "-m", "ecmsim", "run", str(point.scenario or self.scenario), "-o", str(target)]
        for o in point.overrides:
            cmd += ["--set", o]
        log = self.out / "logs" / f"{point.name}.log"
        start = time.perf_counter()
        with log.open("w") as fh:
            fh.write("$ " + " ".join(cmd) + "\n")
            fh.flush()
            with self.lock:
                if self.stopping:
                    return point, 130, 0.0
                proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=_child_env())
                self.children.add(proc)
            rc = proc.wait()
            with self.lock:
                self.children.discard(proc)
        return point, rc, time.perf_counter() - start

    def stop(self, signum=None, frame=None) -> None:
        with self.lock:
            self.stopping = True
            for proc in self.children:
                proc.terminate()
        from ecmsim.core.interrupt import raise_interrupt
        raise_interrupt(signum or signal.SIGINT)

    def run(self, points: list[Point]) -> dict[str, int]:
        """Run the points; name -> exit status."""
        status: dict[str, int] = {}
        if not points:
            return status
        from ecmsim.core.progress import RUNS_BAR, Bar

        main = threading.current_thread() is threading.main_thread()
        old = signal.signal(signal.SIGTERM, self.stop) if main else None
        bar = Bar(len(points), self.label, "run", self.live, RUNS_BAR)
        say = (lambda msg: bar.write(f"[{self.label}] {msg}")) if bar.live else self.say
        try:
            with bar, ThreadPoolExecutor(max_workers=self.jobs) as pool:
                try:
                    futures = [pool.submit(self.run_one, p) for p in points]
                    bar.update_to(0, running=", ".join(p.name for p in points[:self.jobs]))
                    for done, fut in enumerate(as_completed(futures), 1):
                        point, rc, seconds = fut.result()
                        status[point.name] = rc
                        verdict = "done" if rc == 0 else f"FAILED (exit {rc}, see logs/{point.name}.log)"
                        say(f"[{done}/{len(points)}] {point.name}: {verdict} in {seconds:.1f} s")
                        bar.update_to(done, last=point.name)
                except BaseException:
                    # stop before the pool's exit waits for its threads: no new child starts
                    with self.lock:
                        self.stopping = True
                        for proc in self.children:
                            proc.terminate()
                    pool.shutdown(wait=False, cancel_futures=True)
                    raise
        finally:
            if old is not None:
                signal.signal(signal.SIGTERM, old)
        return status


# --- gathering ------------------------------------------------------------------------------------

def gather(out: Path, points: list[Point], axes: list[Axis]) -> list[dict]:
    """One row per point: name, status, parameters, every scalar metric; written to sweep.csv."""
    import csv
    import io
    import json

    from ecmsim.io.folders import write_atomic

    rows, metric_names = [], []
    for p in points:
        row: dict = {"point": p.name}
        try:
            summary = json.loads((out / "points" / p.name / "summary.json").read_text())
        except (OSError, ValueError):
            summary = None
        row["status"] = "ok" if summary is not None and summary.get("input_hash_sha256") == p.input_hash else "failed"
        row.update(p.params)
        metrics = (summary or {}).get("metrics", {}) if row["status"] == "ok" else {}
        for k, v in metrics.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool) or v is None:
                row[k] = v
                if k not in metric_names:
                    metric_names.append(k)
        rows.append(row)
    columns = ["point", "status", *(a.key for a in axes), *metric_names]
    text = io.StringIO(newline="")
    w = csv.DictWriter(text, columns, restval="")
    w.writeheader()
    for row in rows:
        w.writerow({k: ("" if row.get(k) is None else row.get(k, "")) for k in columns})
    write_atomic(out / "sweep.csv", text.getvalue())
    return rows


def _number(text: str) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def plot(out: Path, rows: list[dict], axes: list[Axis]) -> Path | None:
    """sweep.png: each metric against the first swept parameter, one line per value of the second
    (per combination of the others when more than two are swept)."""
    swept = [a for a in axes if len(a.values) > 1]
    ok = [r for r in rows if r["status"] == "ok"]
    if not swept or not ok:
        return None
    import math

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xkey, rest = swept[0].key, swept[1:]
    skip = {"point", "status", *(a.key for a in axes)}
    metrics = [k for k in ok[0] if k not in skip and any(isinstance(r.get(k), (int, float)) for r in ok)]
    if not metrics:
        return None
    xs = [_number(v) for v in swept[0].values]
    numeric = all(x is not None for x in xs)
    position = dict(zip(swept[0].values, xs if numeric else range(len(xs)), strict=True))
    cols = min(3, len(metrics))
    nrows = math.ceil(len(metrics) / cols)
    fig, axs = plt.subplots(nrows, cols, figsize=(4.6 * cols, 3.2 * nrows), squeeze=False)
    groups: dict[tuple, list[dict]] = {}
    for r in ok:
        groups.setdefault(tuple(r[a.key] for a in rest), []).append(r)
    for ax, m in zip(axs.flat, metrics, strict=False):
        for label, members in groups.items():
            members = sorted(members, key=lambda r: position[r[xkey]])
            pts = [(position[r[xkey]], r[m]) for r in members if isinstance(r.get(m), (int, float))]
            if pts:
                ax.plot(*zip(*pts, strict=True), "o-", ms=4,
                        label=", ".join(f"{a.key.split('.')[-1]}={v}" for a, v in zip(rest, label, strict=True)))
        ax.set_title(m, fontsize=9)
        ax.set_xlabel(xkey, fontsize=8)
        ax.tick_params(labelsize=7)
        if not numeric:
            ax.set_xticks(range(len(xs)), swept[0].values)
        if rest and len(groups) > 1:
            ax.legend(fontsize=6)
        ax.grid(alpha=0.3)
    for ax in list(axs.flat)[len(metrics):]:
        ax.axis("off")
    fig.suptitle(f"sweep over {', '.join(a.key for a in swept)} ({len(ok)} of {len(rows)} points)", fontsize=10)
    fig.tight_layout()
    import io

    from ecmsim.io.folders import write_atomic

    path = out / "sweep.png"
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    write_atomic(path, buf.getvalue())
    return path


# --- the command --------------------------------------------------------------------------------------

def run_sweep(scenario: str | Path, sets: list[str], out: str | Path, jobs: int | None = None,
              quiet: bool = False) -> int:
    """Validate every point, run the unfinished ones, gather; exit status (0: every point ok)."""
    from ecmsim.core.errors import EcmsimError, ScenarioError

    scenario, out = Path(scenario), Path(out)
    if jobs is not None and jobs < 1:
        raise ScenarioError(f"-j {jobs}: must be >= 1")
    axes = parse_axes(sets)
    points = build_points(axes)
    validate_points(scenario, points)

    size = launcher_size()
    comm = None
    if size > 1:
        from ecmsim.core.fem import MPI
        comm = MPI.COMM_WORLD
    rank = comm.rank if comm is not None else 0
    say = (lambda msg: print(f"[sweep] {msg}", flush=True)) if not quiet and rank == 0 else (lambda msg: None)

    failure = None
    if rank == 0:
        try:
            _start_folder(out, scenario, sets, points)
            adopt_finished_points(out / "points", points, say)
        except EcmsimError as err:
            failure = str(err)
    if comm is not None:
        failure = comm.bcast(failure, root=0)   # every rank stops alike, none waits for the others
    if failure is not None:
        raise EcmsimError(failure)

    todo = [p for p in points if not finished(out / "points" / p.name, p.input_hash)]
    jobs = jobs or (1 if comm is not None else available_cores())
    say(f"{scenario}: {len(points)} point(s), {len(points) - len(todo)} finished before, {len(todo)} to run, "
        f"{jobs} at a time" + (f" on each of {size} MPI ranks" if comm is not None else ""))
    for p in points:
        if p not in todo:
            say(f"skip (finished): {p.name}")
    mine = todo[rank::size] if comm is not None else todo
    for p in mine:
        if not quiet:
            print(f"[sweep] run: {p.name}" + (f" (rank {rank})" if comm is not None else ""), flush=True)
    start = time.perf_counter()
    from ecmsim.core.progress import on_terminal
    status = _Runner(scenario, out, jobs, say if comm is None else
                     (lambda msg: None if quiet else print(f"[sweep rank {rank}] {msg}", flush=True)),
                     live=comm is None and not quiet and on_terminal()).run(mine)
    if comm is not None:
        merged: dict[str, int] = {}
        for part in comm.gather(status, root=0) or []:
            merged.update(part)
        status = merged
        comm.barrier()
    if rank != 0:
        return 0 if comm.bcast(None, root=0) == 0 else 1
    rows = gather(out, points, axes)
    png = plot(out, rows, axes)
    failed = [r["point"] for r in rows if r["status"] != "ok"]
    say(f"ran {len(todo)} point(s) in {time.perf_counter() - start:.1f} s; {out / 'sweep.csv'}"
        + (f", {png}" if png else ""))
    rc = 0
    if failed:
        print(f"ecmsim: sweep: {len(failed)} point(s) failed: {', '.join(failed)} (see {out / 'logs'})",
              file=sys.stderr)
        rc = 1
    if comm is not None:
        comm.bcast(rc, root=0)
    return rc


def _start_folder(out: Path, scenario: Path, sets: list[str], points: list[Point]) -> None:
    """Claim the sweep folder (ecmsim.io.folders.claim_work_folder) and write sweep.json."""
    import json

    from ecmsim.io.folders import claim_work_folder, write_atomic

    claim_work_folder(out, "sweep", SWEEP_FILES)
    (out / "points").mkdir(exist_ok=True)
    (out / "logs").mkdir(exist_ok=True)
    write_atomic(out / "sweep.json", json.dumps(
        {"scenario": str(scenario), "sets": sets, "points": [{"name": p.name, "params": p.params,
                                                               "input_hash_sha256": p.input_hash}
                                                              for p in points]}, indent=2) + "\n")


def _sweep(args: argparse.Namespace) -> int:
    return run_sweep(args.scenario, args.sets, args.out, args.jobs, args.quiet)
