"""Command line: ``ecmsim run | materials | ...``.

Every subcommand imports its heavy modules lazily, so ``ecmsim materials`` and ``ecmsim fbg``
work without dolfinx. Errors caused by input (:class:`ecmsim.errors.EcmsimError`) are printed
as one line on stderr and end with exit status 2, on every MPI rank alike.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from ecmsim.errors import EcmsimError

EXIT_INPUT_ERROR = 2

#: Modules that contribute subcommands. Each defines ``register(subparsers)`` which adds its
#: parser(s) with ``set_defaults(handler=fn)``, ``fn(args) -> exit status``. They must import
#: only the standard library at module level: the heavy imports belong inside the handlers.
SUBCOMMAND_MODULES = ("ecmsim.fbg.cli", "ecmsim.geometry.cli", "ecmsim.sweep", "ecmsim.validate",
                      "ecmsim.report_html")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ecmsim", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run a scenario file")
    run.add_argument("scenario", help="scenario TOML file")
    run.add_argument("-o", "--out", help="output directory (default: results/<scenario name>)")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                     help="override a scenario key (repeatable), e.g. --set loading.stack_pressure_Pa=3e6")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    run.set_defaults(handler=_run)

    mat = sub.add_parser("materials", help="print the materials library")
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
    return p


def _materials(args: argparse.Namespace) -> int:
    from ecmsim import materials
    print(materials.format_record(args.key) if args.key else materials.format_table())
    return 0


def _run(args: argparse.Namespace) -> int:
    from ecmsim.pipeline import run_scenario_file
    run_scenario_file(args.scenario, out_dir=args.out, overrides=args.overrides, quiet=args.quiet)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        status = args.handler(args)
    except EcmsimError as err:
        _report(err)
        status = EXIT_INPUT_ERROR
    except KeyboardInterrupt:
        print("ecmsim: interrupted", file=sys.stderr)
        status = 130
    return status


def _report(err: Exception) -> None:
    """One line on stderr, from rank 0 only when running under MPI."""
    rank = _mpi_rank()
    if rank == 0:
        msg = " ".join(str(err).split())
        print(f"ecmsim: error: {msg}", file=sys.stderr)


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
