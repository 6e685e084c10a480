"""The Python API: run a scenario from a script or a notebook and get its results as an object.

::

    import ecmsim

    r = ecmsim.run("scenarios/flat_bilayer.toml", set={"loading.stack_pressure_Pa": 3e6}, out="results/p3")
    r.metrics["interface_normal_stress_mean_Pa"]      # summary.json metrics
    r.fields                                          # pyvista grid: displacement, stress tensor, principal stresses
    r.history, r.spectra, r.profiles                  # time-dependent runs, the fibre, plating
    r.plot("stress", component="yy")                  # matplotlib
    ecmsim.load("results/p3")                         # the same object from a folder written before

``ecmsim.run`` is :func:`run` (the ``ecmsim.run`` subpackage, the pipeline, is made callable by
``ecmsim/__init__.py``); docs/api.md is the guide.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ecmsim.core.errors import ScenarioError
from ecmsim.io.results import Results, load


def run(scenario: str | Path, set: Mapping[str, Any] | None = None, out: str | Path | None = None, *,  # noqa: A002
        quiet: bool = True, overwrite: bool = False, resume: bool = False) -> Results:
    """Run a scenario file as ``ecmsim run`` does and return its results (:class:`ecmsim.results.Results`).

    Args:
        scenario: the scenario TOML file.
        set: overrides, ``{"section.key": value}`` with Python values (numbers, strings, booleans,
            lists such as ``{"protocol.steps": ["Hold for 1 h"]}``), the ``--set`` of the command line.
        out: the result folder (default ``results/<scenario name>[+overrides]`` under the current
            folder, as the command line). The folder rules are the command line's (docs/outputs.md):
            a folder holding files ecmsim did not write is refused unless ``overwrite``.
        quiet: no progress lines (default: quiet; ``quiet=False`` prints them as the command line does).
        overwrite: write into a folder that holds other files (ecmsim's files replaced, others kept).
        resume: continue a time-dependent run from its last checkpoint.

    Bad input raises :class:`ecmsim.core.errors.EcmsimError` (a ``ScenarioError`` naming the key,
    value and allowed range) before anything is computed.
    """
    from ecmsim.run.pipeline import default_out_dir, run_scenario_file

    overrides = [f"{key}={toml_value(key, value)}" for key, value in (set or {}).items()]
    folder = Path(out) if out is not None else default_out_dir(Path(scenario), overrides)
    backend = _matplotlib_backend()
    try:
        run_scenario_file(scenario, out_dir=folder, overrides=overrides, quiet=quiet, overwrite=overwrite,
                          resume=resume)
    finally:
        _restore_backend(backend)
    return load(folder)


def _matplotlib_backend() -> str | None:
    """The caller's matplotlib backend (None if matplotlib is not loaded yet)."""
    import sys
    mpl = sys.modules.get("matplotlib")
    return mpl.get_backend() if mpl is not None else None


def _restore_backend(backend: str | None) -> None:
    """The run's figure writers switch matplotlib to Agg (no screen); a notebook's inline backend
    (or a script's GUI one) is put back, so the caller's own figures still show."""
    import sys
    mpl = sys.modules.get("matplotlib")
    if backend is None or mpl is None or mpl.get_backend() == backend:
        return
    import matplotlib.pyplot as plt
    plt.switch_backend(backend)


def toml_value(key: str, value: Any) -> str:
    """A Python value as the TOML text of a ``--set`` override."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        if value != value or value in (float("inf"), float("-inf")):
            raise ScenarioError(f"set[{key!r}] = {value!r}: must be a finite number")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Path):
        return json.dumps(str(value), ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(key, v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k} = {toml_value(key, v)}" for k, v in value.items()) + "}"
    if hasattr(value, "item"):                      # a numpy scalar
        return toml_value(key, value.item())
    raise ScenarioError(f"set[{key!r}] = {value!r}: a number, string, boolean, list or dict is expected")


__all__ = ["run", "load", "Results", "toml_value"]
