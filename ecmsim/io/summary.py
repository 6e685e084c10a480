"""Results on disk: summary.json, fields (VTU/PVD and VTX), tables.

Where they go, and when an existing folder may be replaced, is :mod:`ecmsim.io.folders`
(a staging folder per run, a manifest of ecmsim's own files, atomic replacement).
Only rank 0 writes JSON, CSV and PNG; field writers are collective.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from ecmsim.core.version import __version__

SUMMARY = "summary.json"


def write_summary(path: Path, summary: dict[str, Any]) -> None:
    """JSON with non-finite numbers written as null (JSON has no NaN)."""
    path.write_text(json.dumps(json_safe(summary), indent=2, sort_keys=False) + "\n")


def json_safe(obj):
    """Plain JSON data: numpy scalars to Python numbers, NaN and inf to null (JSON has neither)."""
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def provenance() -> dict[str, Any]:
    """ecmsim and stack versions, time, MPI size."""
    from ecmsim.core.fem import MPI, versions

    return {"ecmsim": __version__, **versions(), "mpi_ranks": MPI.COMM_WORLD.size,
            "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")}
