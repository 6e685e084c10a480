"""Figure for docs/fibre_readout.md: the Li read-outs' largest |Δσ| at the ends of the three cycles against the
D_i δ_i that supplies the voids beside the fibre (``cycling.void_diffusion_m3_s``).

    PYTHONPATH=. python docs/figures/void_diffusion_readout.py [CONTACT_RUN_DIR]
    # writes docs/figures/void_diffusion_readout.png (about 3 minutes on one core)

The bonded Li read-out (``scenarios/cycling_li_pll_fbg.toml``) is run at each D_i δ_i (its window does not feel the
voids). Given the folder of a finished ``ecmsim run scenarios/cycling_li_pll_fbg_contact.toml`` (8 minutes), that
window is read again at each D_i δ_i with ``ecmsim.run.readout`` (the read-out's value alone changed, the window as
run). The Li-Sn read-out and the measured Li are drawn for scale; the band is Li grain-boundary-like diffusion at
60 °C (docs/electrochem.md, "Limits" of 4.).
"""

from __future__ import annotations

import csv
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"
OUT = Path(__file__).with_suffix(".png")
VALUES = (0.0, 5e-21, 1e-20, 2e-20, 5e-20, 1e-19)      # [m^3/s]; 0: creep alone
CYCLE_ENDS_S = (14400.0, 28800.0, 43200.0)
LISN_MPA = (0.024, 0.047, 0.069)                     # cycling_lisn_pll_fbg.toml at the cycle ends (docs)
GRAIN_BOUNDARY = (3e-21, 3e-18)                      # [m^3/s] docs/electrochem.md


def cycle_ends(folder: Path) -> list[float]:
    """max |Δσ| [MPa] at the output times nearest the ends of the three cycles (delta_sigma.csv)."""
    with open(folder / "delta_sigma.csv") as f:
        rows = [(float(r["time_s"]), float(r["delta_sigma_max_abs_Pa"])) for r in csv.DictReader(f)]
    return [min(rows, key=lambda r: abs(r[0] - t))[1] / 1e6 for t in CYCLE_ENDS_S]


def bonded(work: Path) -> dict[float, list[float]]:
    from ecmsim import api

    out = {}
    for d in VALUES:
        folder = work / f"bonded_{d:g}"
        api.run(SCENARIOS / "cycling_li_pll_fbg.toml", {"cycling.void_diffusion_m3_s": d}, out=folder)
        out[d] = cycle_ends(folder)
        print(f"bonded, D_i delta_i {d:g}: {out[d]}", flush=True)
    return out


def contact(run_dir: Path, work: Path) -> dict[float, list[float]]:
    from ecmsim.run.readout import readout

    out = {}
    for d in VALUES:
        folder = work / f"contact_{d:g}"
        folder.mkdir()
        shutil.copy(run_dir / "interface_profiles.csv", folder)
        summary = json.loads((run_dir / "summary.json").read_text())
        summary["scenario"]["cycling"]["void_diffusion_m3_s"] = d
        (folder / "summary.json").write_text(json.dumps(summary))
        readout(folder, SCENARIOS / "fbg_cell_li.toml", plots=False)
        out[d] = cycle_ends(folder)
        print(f"contact, D_i delta_i {d:g}: {out[d]}", flush=True)
    return out


def main() -> None:
    from ecmsim.core.figures import pyplot

    plt = pyplot()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        series = {"bonded Li window": bonded(work)}
        if len(sys.argv) > 1:
            series["Li contact window"] = contact(Path(sys.argv[1]), work)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    floor = 2e-21                                    # where "creep alone" (D = 0) is drawn on the log axis
    for (name, data), marker in zip(series.items(), ("o", "s")):
        d = np.array([max(v, floor) for v in data])
        third = np.array([data[v][2] for v in data])
        axes[0].plot(d, third, marker=marker, label=name)
        for k, v in enumerate(data):
            axes[1].plot([1, 2, 3], data[v], marker=marker, color=f"C{k}", alpha=0.9,
                         ls="-" if marker == "o" else "--",
                         label=f"{name}: {'creep alone' if v == 0 else f'{v:g} m³/s'}")
    axes[0].axvspan(*GRAIN_BOUNDARY, color="0.85", label="Li grain-boundary-like diffusion, 60 °C")
    axes[0].axhline(LISN_MPA[2], color="k", ls=":", label="Li–Sn read-out (skeleton)")
    axes[0].set_xscale("log")
    axes[0].set_xlabel("D_i δ_i of the voids' supply [m³/s] (left end: creep alone)")
    axes[0].set_ylabel("largest |Δσ| after cycle 3 [MPa]")
    axes[0].set_title("Li read-out against the voids' diffusion supply\n(measured Li: ≈ 80 MPa, off scale)")
    axes[0].legend(fontsize=8)
    axes[1].plot([1, 2, 3], LISN_MPA, "k:", marker="^", label="Li–Sn read-out")
    axes[1].set_xticks([1, 2, 3])
    axes[1].set_xlabel("end of cycle")
    axes[1].set_ylabel("largest |Δσ| [MPa]")
    axes[1].set_title("cycle by cycle")
    axes[1].legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(OUT, dpi=130)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
