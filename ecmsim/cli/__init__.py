"""The ``ecmsim`` command line (:mod:`ecmsim.cli.main`) and its subcommands: ``mesh``
(:mod:`~ecmsim.cli.mesh`), ``fbg`` and ``fbg invert`` (:mod:`~ecmsim.cli.fbg`,
:mod:`~ecmsim.cli.fbg_invert`); ``sweep``, ``study``, ``validate`` and ``report`` live with their
code in :mod:`ecmsim.studies`."""

from ecmsim.cli.main import main, run_and_exit

__all__ = ["main", "run_and_exit"]
