"""The ``ecmsim`` command line: ``run``, ``materials``, ``mesh``, ``fbg``.

Every subcommand imports its heavy modules lazily, so ``ecmsim materials`` and ``ecmsim fbg``
work without dolfinx. One guard in :func:`main` ends every command:

- input errors (:class:`ecmsim.core.errors.EcmsimError`; unreadable or unwritable files, i.e.
  ``OSError``) print one line on stderr and exit with status 2;
- anything else is a bug: one line naming the command, its input file and where it failed,
  with a pointer to ``--debug`` (which shows the traceback), exit status 1;
- command-line mistakes (unknown option, missing argument) are one line too, exit status 2.

Under MPI only rank 0 prints.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Sequence

from ecmsim.core.version import __version__
from ecmsim.core.errors import EcmsimError

EXIT_INPUT_ERROR = 2
EXIT_BUG = 1

#: Modules that contribute subcommands. Each defines ``register(subparsers)`` which adds its
#: parser(s) with ``set_defaults(handler=fn)``, ``fn(args) -> exit status``. They must import
#: only the standard library at module level: the heavy imports belong inside the handlers.
SUBCOMMAND_MODULES = ("ecmsim.cli.fbg", "ecmsim.cli.mesh", "ecmsim.cli.render", "ecmsim.studies.sweep", "ecmsim.studies.study", "ecmsim.studies.validate",
                      "ecmsim.studies.report_html")

DESCRIPTION = ("ecmsim: electro-chemo-mechanical simulation of solid-state battery interfaces "
               "(scenario -> mesh -> stresses at the electrode/electrolyte interface) with a virtual "
               "fibre Bragg grating.")
EPILOG = """first steps:
  ecmsim run scenarios/flat_bilayer.toml      run a scenario; results in results/flat_bilayer/
  ecmsim run --keys                           every scenario key with its unit and range
  ecmsim materials                            the materials library with sources
  ecmsim COMMAND --help                       the options of one command
add --debug to any command to see the full traceback of an unexpected error."""

RUN_EPILOG = """scenario file (TOML), sections and their main keys:
  title                          free text (plot titles)
  [geometry]    kind = flat | sinusoidal | rough | voids | filaments | image | image_stack | fbg_cell,
                width_m, electrode_thickness_m, electrolyte_thickness_m, depth_m (3D), ... (per kind)
  [materials]   electrode, electrolyte (and particle, ...): a key of `ecmsim materials` or an inline table
  [loading]     stack_pressure_Pa, temperature_K
  [interface]   model = bonded | contact, friction_coefficient, load_steps, ...
  [mesh]        size_m, interface_size_m, refine_distance_m, tip_size_m, max_cells
  [solver]      element_degree, linear = auto | direct | iterative
  [output]      fields, plots
  [protocol]    steps = ["Hold for 2 h", "Plate at 0.2 mA/cm2 for 2 hours", ...], cycles, dt_*_s:
                a time-dependent run (creep, plating/stripping), history.csv, --resume
  [creep]       enabled, characteristic_length_m (Norton-Arrhenius creep of Li, Li-Sn)
  [electrochem] applied_current_density_A_m2, membrane_thickness_m, stress_coupling: the current
                distribution (kinetics and conductivity from the materials)
  [cycling]     deposition_layer_thickness_m, irreversible_fraction: plating and stripping
  [fbg]         the virtual FBG of a fibre cell (the keys of `ecmsim fbg --help`)
  [fibre_readout] cell_scenario, ...: the fibre read-out through the cycles
every key with its unit, default and allowed range: ecmsim run --keys (and docs/scenarios.md).

result folder: -o DIR, default results/<scenario name>[+<--set overrides>]. An existing DIR is
replaced only when the new result is complete, and only if ecmsim wrote everything in it;
otherwise the run stops with one line (use another -o, or --overwrite to keep the other files)."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2) and descriptions without reStructuredText marks."""

    def __init__(self, *args, **kwargs):
        if kwargs.get("description"):
            kwargs["description"] = kwargs["description"].replace("``", "")
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:
        if _mpi_rank() == 0:
            where = "" if self.prog == "ecmsim" else f"{self.prog}: "
            print(f"ecmsim: error: {where}{message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(EXIT_INPUT_ERROR)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="ecmsim", description=DESCRIPTION, epilog=EPILOG,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"ecmsim {__version__}")
    p.add_argument("--debug", action="store_true", help="show the traceback of unexpected errors")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run a scenario file", description="Run a scenario: geometry, mesh, "
                         "stresses, metrics; writes summary.json, profiles, fields and figures into a result folder.",
                         epilog=RUN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("scenario", nargs="?", help="scenario TOML file")
    run.add_argument("-o", "--out", help="result folder (default: results/<scenario name>, plus the --set "
                                         "overrides, e.g. results/flat_bilayer+stack_pressure_Pa=3e6)")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                     help="override a scenario key (repeatable), e.g. --set loading.stack_pressure_Pa=3e6")
    run.add_argument("--overwrite", action="store_true",
                     help="write into a folder that holds other files (ecmsim's files replaced, others kept)")
    run.add_argument("--resume", action="store_true",
                     help="continue a time-dependent run from its last checkpoint (OUT.checkpoint/) after an "
                          "interruption")
    run.add_argument("--keys", action="store_true", help="list every scenario key with unit and range, and exit")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    run.set_defaults(handler=_run)

    mat = sub.add_parser("materials", help="print the materials library",
                         description="The materials library: elastic constants with their sources.")
    mat.add_argument("key", nargs="?", help="show every value and source of one record")
    mat.set_defaults(handler=_materials)

    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if not (name == err.name or name.startswith(f"{err.name}.")):
                raise  # a missing dependency inside the module is a real error: let it show
            continue
        module.register(sub)
    for command in sub.choices.values():  # ``ecmsim run X --debug`` works as well as ``ecmsim --debug run X``
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help="show the traceback of unexpected errors")
    return p


def _materials(args: argparse.Namespace) -> int:
    from ecmsim import materials
    print(materials.format_record(args.key) if args.key is not None else materials.format_table())
    return 0


def _run(args: argparse.Namespace) -> int:
    if args.keys:
        print(keys_text())
        return 0
    if not args.scenario:
        raise EcmsimError("ecmsim run: give a scenario file, e.g. ecmsim run scenarios/flat_bilayer.toml "
                          "(ecmsim run --keys lists every key)")
    from ecmsim.run.pipeline import run_scenario_file
    run_scenario_file(args.scenario, out_dir=args.out, overrides=args.overrides, quiet=args.quiet,
                      overwrite=args.overwrite, resume=args.resume)
    return 0


def keys_text() -> str:
    """Every scenario key (``scenario.schema_keys()``) with its unit, default and allowed range."""
    import typing

    from pydantic_core import PydanticUndefined

    from ecmsim import scenario
    from ecmsim.scenario.geometry import GEOMETRY_KINDS

    lines = []
    for section, key in scenario.schema_keys():
        if section == "geometry":
            models = [(kind, m) for kind, m in GEOMETRY_KINDS.items() if key in m.model_fields]
        elif section:
            models = [("", scenario.section_class(scenario.Scenario.model_fields[section].annotation))]
        else:
            models = [("", scenario.Scenario)]
        kind, model = models[0]
        field = model.model_fields[key]
        bounds = []
        for meta in [*field.metadata, *(m for a in typing.get_args(field.annotation)
                                          for m in getattr(a, "__metadata__", ()))]:
            for attr, op in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
                value = getattr(meta, attr, None)
                if value is not None:
                    bounds.append(f"{op} {value:g}")
            for m in getattr(meta, "metadata", ()):
                for attr, op in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
                    value = getattr(m, attr, None)
                    if value is not None:
                        bounds.append(f"{op} {value:g}")
        choices = [a for a in typing.get_args(field.annotation) if isinstance(a, str)]
        if typing.get_origin(field.annotation) is typing.Literal:
            choices = list(typing.get_args(field.annotation))
        name = f"{section}.{key}" if section else key
        default = ("required" if field.default is PydanticUndefined else
                   "optional" if field.default is None else f"default {field.default!r}")
        if section == "geometry" and key != "kind":
            kinds = [k for k, _ in models]
            default += f"; kind {'/'.join(kinds)}" if len(kinds) < len(GEOMETRY_KINDS) else ""
        if (section, key) == ("geometry", "kind"):
            choices = list(GEOMETRY_KINDS)
        allowed = " | ".join(map(str, choices)) if choices else ", ".join(dict.fromkeys(bounds))
        lines.append(f"{name:38s} {field.description or ''}"
                     + (f" [{allowed}]" if allowed else "") + f" ({default})")
    return "\n".join(lines)


def run_and_exit(argv: Sequence[str] | None = None) -> None:
    """The process's entry point (the ``ecmsim`` command and ``python -m ecmsim``): :func:`main`, then
    the end of the process without the interpreter's teardown.

    Once every file is written, Python would still spend 0.2-0.5 s freeing every module and object
    (dolfinx, PETSc, scipy, VTK, matplotlib, numba ...; measured on ``ecmsim run``: 0.43-0.47 s after
    a 2.5 s serial run, 0.55-0.6 s after the 10^6-dof run on 2 ranks, against 0.05-0.17 s without it),
    on every rank of every command and every run of a sweep. Here the exit handlers run (logging's
    flush and anything registered with :mod:`atexit`), Python's and C's output buffers are flushed,
    PETSc and then MPI are finalised as at a normal exit (an MPI launcher other than MPICH's treats a
    rank that ends without MPI_Finalize as failed), and the process ends with main's status.
    In-process callers (tests, the API) call :func:`main`, which returns."""
    status = main(argv)
    import atexit

    atexit._run_exitfuncs()   # noqa: SLF001 - the handlers a normal exit runs, before ending the process
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):   # a closed pipe: nothing left to deliver
            pass
    try:
        import ctypes

        ctypes.CDLL(None).fflush(None)   # C stdio buffers (gmsh, PETSc)
    except (OSError, AttributeError):
        pass
    petsc = sys.modules.get("petsc4py.PETSc")
    if petsc is not None and petsc.Sys.isInitialized() and not petsc.Sys.isFinalized():
        petsc._finalize()   # noqa: SLF001 - what petsc4py runs at interpreter exit
    mpi = sys.modules.get("mpi4py.MPI")
    if mpi is not None and mpi.Is_initialized() and not mpi.Is_finalized():
        mpi.Finalize()
    os._exit(status)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit status: 0 done, 2 bad input, 1 a bug (see the module docstring)."""
    from ecmsim.core import interrupt

    args = build_parser().parse_args(argv)
    debug = getattr(args, "debug", False)
    try:
        with interrupt.handle_signals():
            interrupt.die_with_parent()
            try:
                status = args.handler(args)
            except (Exception, KeyboardInterrupt):
                interrupt.check()   # an error an interrupt caused on its way through PETSc is the interrupt
                raise
    except KeyboardInterrupt as err:
        if _mpi_rank() == 0:
            print("ecmsim: interrupted", file=sys.stderr)
        status = getattr(err, "exit_status", 130)
    except EcmsimError as err:
        if debug:
            traceback.print_exc()   # --debug shows where, the exit status stays that of bad input
        _report(err)
        status = EXIT_INPUT_ERROR
    except OSError as err:  # a file the user named or a folder they asked to write: input, not a bug
        if debug:
            traceback.print_exc()
        where = f"{err.filename}: " if err.filename else ""
        _report(f"{_operation(args)}: {where}{err.strerror or err}")
        status = EXIT_INPUT_ERROR
    except Exception as err:  # noqa: BLE001 - the one place that turns a bug into one line
        if debug:
            raise
        _report(f"{_operation(args)} failed unexpectedly ({_where(err)}: {type(err).__name__}: {err}); this is a "
                "bug in ecmsim: run the same command with --debug to see the traceback, and please report it",
                prefix="ecmsim: internal error: ")
        status = EXIT_BUG
    return status


def _operation(args: argparse.Namespace) -> str:
    """``ecmsim run scenarios/x.toml``: the command and the file it was working on."""
    inputs = [getattr(args, name, None) for name in ("scenario", "image", "profiles")]
    named = next((i for i in inputs if i), None)
    if isinstance(named, list):
        named = named[0] + (" ..." if len(named) > 1 else "")
    return f"ecmsim {args.command}" + (f" {named}" if named else "")


def _where(err: BaseException) -> str:
    """``room/module.py:123``: the innermost frame of ecmsim's own code, named from the package
    (else the innermost frame, by its file name)."""
    frames = traceback.extract_tb(err.__traceback__)
    if not frames:
        return "?"
    mark = f"{os.sep}ecmsim{os.sep}"
    ours = [f for f in frames if mark in f.filename]
    f = (ours or frames)[-1]
    name = f.filename.rsplit(mark, 1)[-1] if ours else os.path.basename(f.filename)
    return f"{name}:{f.lineno}"


def _report(err: Exception | str, prefix: str = "ecmsim: error: ") -> None:
    """One line on stderr, from rank 0 only when running under MPI."""
    rank = _mpi_rank()
    if rank == 0:
        msg = " ".join(str(err).split())
        print(f"{prefix}{msg}", file=sys.stderr)


def _mpi_rank() -> int:
    """This process's MPI rank, without initialising MPI when it is not loaded yet."""
    mpi = sys.modules.get("mpi4py.MPI")
    if mpi is not None and mpi.Is_initialized():
        return mpi.COMM_WORLD.rank
    for var in ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK"):  # MPICH/hydra, Open MPI, PMIx
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    return 0


if __name__ == "__main__":
    sys.exit(main())
