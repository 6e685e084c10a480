"""The fibre read-out of a finished cycling run: ``readout(RUN_DIR, CELL_SCENARIO)`` reads the run's
interface history, builds (or reuses) the fibre-cell library and writes the spectra over time
beside it (docs/fibre_readout.md). ``ecmsim run`` does the same for its own window in the
read-out stage (:mod:`ecmsim.run.stages.fibre`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ecmsim.core.errors import EcmsimError, InputFileError
from ecmsim.core.progress import Progress
from ecmsim.fibre.model import cell_model
from ecmsim.fibre.readout import (DEFAULT_LIBRARY_FACTORS, ReadoutOptions, WindowHistory, compute,
                                  library_from_cell_runs)
from ecmsim.io.readout import write_outputs
from ecmsim.scenario import load_cell


def readout(run_dir: str | Path, cell_scenario: str | Path, *, sections: int = 10, output_interval_s: float = 0.0,
            library_pressure_factors: Sequence[float] = DEFAULT_LIBRARY_FACTORS, pressure_mapping: str = "cell",
            stack_pressure_Pa: float | None = None, cell_overrides: Sequence[str] = (), out_dir: str | Path | None = None,
            plots: bool = True, quiet: bool = True, title: str | None = None,
            cell_runs: Sequence[str | Path] = ()) -> dict[str, Any]:
    """The fibre read-out of an existing cycling result folder (``interface_profiles.csv``, ``summary.json``).

    Args:
        run_dir: the folder of ``ecmsim run`` of a cycling scenario.
        cell_scenario: the fibre-cell scenario (path; relative paths from the current directory).
        sections, output_interval_s, library_pressure_factors, pressure_mapping: as ``[fibre_readout]``.
        stack_pressure_Pa: default: the run's ``loading.stack_pressure_Pa`` (summary.json).
        cell_overrides: ``--set`` items for the cell scenario.
        out_dir: where the files go (default: ``run_dir``).
        cell_runs: finished ``ecmsim run`` folders of the cell scenario (e.g. at the stack pressure): their
            core strains are the library instead of solving ``library_pressure_factors`` (no cell solve).

    Returns:
        The metrics (also written to ``fibre_readout.json``).
    """

    run_dir = Path(run_dir)
    progress = Progress(quiet)
    window = WindowHistory.read_csv(run_dir / "interface_profiles.csv")
    summary = {}
    if (run_dir / "summary.json").is_file():
        summary = json.loads((run_dir / "summary.json").read_text())
    if stack_pressure_Pa is None:
        try:
            stack_pressure_Pa = float(summary["scenario"]["loading"]["stack_pressure_Pa"])
        except (KeyError, TypeError, ValueError):
            raise InputFileError(f"{run_dir}/summary.json: no scenario.loading.stack_pressure_Pa; pass "
                                 "stack_pressure_Pa") from None
    creep = bool(((summary.get("scenario") or {}).get("creep") or {}).get("enabled", True))
    voids, porosity, network = _interface_memory(summary, run_dir)
    options = ReadoutOptions(int(sections), float(output_interval_s), tuple(float(f) for f in library_pressure_factors),
                             pressure_mapping, creep=creep, voids=voids, dead_li_porosity=porosity,
                             bulk_supply=network > 0)
    cell, _ = load_cell(cell_scenario, None, cell_overrides, where="cell_scenario")
    library = library_from_cell_runs(cell_runs, cell) if cell_runs else None
    model = cell_model(cell, progress)
    try:
        r = compute(window, model, stack_pressure_Pa, options, progress=progress, library=library)
    finally:
        model.close()
    out = Path(out_dir) if out_dir is not None else run_dir
    out.mkdir(parents=True, exist_ok=True)
    write_outputs(out, r, model.fibre, title if title is not None else summary.get("title", run_dir.name), plots)
    return r.metrics


def _interface_memory(summary: dict, run_dir: Path):
    """(voids, dead Li porosity, the skeleton's supply [A/m²]) of the run's ``[cycling]`` and electrode as its
    summary.json records them: the voids that persist beside the fibre with the electrode's creep law at the run's
    supply length and the run's interface diffusion (None if off), the porosity of dead Li (0: dense), and the
    electrode's ``skeleton_network_current_A_m2`` (0: none, Li), so that the standalone read-out is the run's own."""
    from ecmsim import materials
    from ecmsim.electrochem.voids import (InterfaceVoids, network_current_A_m2, supply_diffusion_m3_s,
                                         supply_length_m)

    scn = summary.get("scenario") or {}
    cyc, creep = scn.get("cycling") or {}, scn.get("creep") or {}
    porosity = float(cyc.get("dead_li_porosity") or 0.0)
    electrode = (scn.get("materials") or {}).get("electrode")
    mat = None
    if electrode is not None:
        try:
            mat = materials.get(electrode) if isinstance(electrode, str) else materials.from_mapping(electrode)
        except (TypeError, ValueError, EcmsimError) as err:
            raise InputFileError(f"{run_dir}/summary.json: scenario.materials.electrode {electrode!r}: {err}") from None
    network = network_current_A_m2(mat) if mat is not None else 0.0
    if not cyc.get("persistent_voids"):
        return None, porosity, network
    try:
        if mat is None:
            raise KeyError("materials.electrode")
        temperature = float(scn["loading"]["temperature_K"])
    except (KeyError, TypeError, ValueError) as err:
        raise InputFileError(f"{run_dir}/summary.json: cycling.persistent_voids needs scenario.materials.electrode "
                             f"and loading.temperature_K ({err})") from None
    ell = supply_length_m(cyc.get("void_supply_length_m"), creep.get("characteristic_length_m"),
                          cyc["deposition_layer_thickness_m"])
    diffusion = supply_diffusion_m3_s(cyc.get("void_diffusion_m3_s"), cyc.get("interface_diffusion_m3_s"))
    return (InterfaceVoids.of_electrode(mat, ell, temperature, creep.get("enabled", True), diffusion),
            porosity, network)


__all__ = ["readout"]
