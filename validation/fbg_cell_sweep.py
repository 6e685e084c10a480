"""Stack-pressure sweep of an fbg_cell scenario with a given embedded state (the finite-element
cell): shift and splitting versus pressure (the process cells: validation/fbg_cell_calibration.py).

    .venv/bin/python validation/fbg_cell_sweep.py scenarios/fbg_cell_li_given.toml -o results/fbg_cell_sweep_li \
        [--pressures-MPa 0.2,0.5,1,1.5,2,2.4,3] [--set key=value ...]

One mesh and one compiled contact problem per distinct local state, re-solved at each pressure
(ecmsim.fibre.model.CellModel). Writes sweep.csv (one row per pressure), sweep.png (shift and
splitting vs pressure with linear fits), spectra.png (spectra at 0.2, 1 and 2.4 MPa when swept)
and sweep.json (the fitted slopes). The per-degree sensitivity is the optics alone here (the
elastic cell model does not depend on temperature): d(lambda)/dT from spectra at T and T + 1 K.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from ecmsim import scenario as scenario_mod
from ecmsim.fibre.model import CellModel
from ecmsim.core.progress import Progress

COLUMNS = ("stack_pressure_MPa", "fibre_line_load_N_per_mm", "core_sigma_xx_MPa", "core_sigma_yy_MPa",
           "peak_x_nm", "peak_y_nm", "eigen_splitting_pm", "eigen_mean_shift_pm", "peak_count", "splitting_pm",
           "centroid_shift_pm", "load_strip_width_mm", "interface_contact_fraction", "solve_s",
           "eigen_mean_shift_free_axial_pm")


def sweep(model: CellModel, pressures_Pa, temperature_K: float):
    """Rows of COLUMNS and the spectra, one per pressure."""
    lam0 = model.grating.design_wavelength_m
    rows, spectra = [], []
    for p in pressures_Pa:
        t0 = time.perf_counter()
        results = model.solve(p)
        spectrum, report, m, _ = model.spectrum(model.profile(results, temperature_K))
        base = next(iter(results.values())).metrics
        # the other out-of-plane condition from the same tractions (the contact solve does not see it)
        other = "free" if model.scn.geometry.fibre_axial_strain == "fixed" else "fixed"
        alt = {k: _with_axial(r, model.fibre, other) for k, r in results.items()}
        m_alt = model.spectrum(model.profile(alt, temperature_K))[2]
        x, y = m["fbg_peak_x_nm"], m["fbg_peak_y_nm"]
        rows.append([p / 1e6, base["fibre_line_load_N_per_m"] / 1e3, base["fibre_core_stress_xx_Pa"] / 1e6,
                     base["fibre_core_stress_yy_Pa"] / 1e6, x, y, abs(x - y) * 1e3, (0.5 * (x + y) - lam0 * 1e9) * 1e3,
                     m["fbg_peak_count"], m["fbg_splitting_pm"], m["fbg_shift_pm"],
                     base["fibre_load_strip_width_m"] * 1e3, base["interface_contact_fraction"],
                     time.perf_counter() - t0,
                     (0.5 * (m_alt["fbg_peak_x_nm"] + m_alt["fbg_peak_y_nm"]) - lam0 * 1e9) * 1e3])
        spectra.append((p, spectrum, report))
    return np.array(rows, dtype=float), spectra


def _with_axial(result, fibre, axial):
    """A copy of a SectionResult with the core strain of the other out-of-plane condition."""
    import copy

    from ecmsim.fibre.cell import core_strain
    c = result.core
    out = copy.copy(result)
    out.core = core_strain(c["sxx_Pa"], c["syy_Pa"], c["sxy_Pa"], fibre, axial)
    return out


def temperature_sensitivity_pm_per_K(model: CellModel, results, temperature_K: float) -> float:
    """d(centre of the two eigenmode peaks)/dT [pm/K] at fixed mechanics."""
    def centre(T):
        m = model.spectrum(model.profile(results, T))[2]
        return 0.5 * (m["fbg_peak_x_nm"] + m["fbg_peak_y_nm"])
    return (centre(temperature_K + 1.0) - centre(temperature_K)) * 1e3


def plot(out: Path, rows: np.ndarray, spectra, title: str, fits: dict) -> list[str]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    fig, ax = plt.subplots(figsize=(7, 4))
    P = rows[:, 0]
    ax.plot(P, rows[:, 7], "o-", label=f"mean shift of the two eigenmodes ({fits['shift_pm_per_MPa']:.1f} pm/MPa)")
    ax.plot(P, rows[:, 6], "s-", label=f"eigenmode splitting ({fits['splitting_pm_per_MPa']:.1f} pm/MPa)")
    ax.plot(P, rows[:, 9], "x", color="k", label="splitting read by the interrogator (0: one peak)")
    ax.set_xlabel("stack pressure [MPa]")
    ax.set_ylabel("[pm]")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "sweep.png", dpi=130)
    plt.close(fig)
    files.append("sweep.png")
    show = [s for s in spectra if any(abs(s[0] - q) < 1e3 for q in (0.2e6, 1e6, 2.4e6))]
    if show:
        fig, axes = plt.subplots(len(show), 1, figsize=(7, 2.6 * len(show)), sharex=True, squeeze=False)
        for ax, (p, spectrum, report) in zip(axes[:, 0], show):
            lam = spectrum.wavelength_m * 1e9
            ax.plot(lam, spectrum.R_x, "--", lw=0.8, label="R_x")
            ax.plot(lam, spectrum.R_y, "--", lw=0.8, label="R_y")
            ax.plot(lam, spectrum.R, "k", lw=1.3, label="R")
            for pk in report.peaks:
                ax.plot(pk.wavelength_m * 1e9, pk.reflectance, "v", color="tab:red")
            ax.set_title(f"{p / 1e6:g} MPa: {report.count} peak(s) "
                         + ", ".join(f"{pk.wavelength_m * 1e9:.3f}" for pk in report.peaks) + " nm", fontsize=9)
            ax.set_ylabel("R [-]")
            ax.ticklabel_format(axis="x", useOffset=False)
        axes[0, 0].legend(fontsize=7)
        axes[-1, 0].set_xlabel("wavelength [nm]")
        fig.tight_layout()
        fig.savefig(out / "spectra.png", dpi=130)
        plt.close(fig)
        files.append("spectra.png")
    return files


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenario")
    ap.add_argument("-o", "--out", required=True)
    ap.add_argument("--pressures-MPa", default="0.2,1,2.4,3")
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    args = ap.parse_args(argv)
    scn = scenario_mod.load(args.scenario, args.overrides)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pressures = [float(v) * 1e6 for v in args.pressures_MPa.split(",")]
    t0 = time.perf_counter()
    model = CellModel(scn, Progress())
    rows, spectra = sweep(model, pressures, scn.loading.temperature_K)
    last = model.solve(pressures[-1])
    dT = temperature_sensitivity_pm_per_K(model, last, scn.loading.temperature_K)
    model.close()
    P = rows[:, 0]
    fits = {"shift_pm_per_MPa": float(np.polyfit(P, rows[:, 7], 1)[0]),
            "shift_other_axial_pm_per_MPa": float(np.polyfit(P, rows[:, 14], 1)[0]),
            "splitting_pm_per_MPa": float(np.polyfit(P, rows[:, 6], 1)[0]),
            "temperature_pm_per_K": dT, "wall_time_s": time.perf_counter() - t0,
            "scenario": args.scenario, "overrides": args.overrides}
    header = ",".join(COLUMNS)
    np.savetxt(out / "sweep.csv", rows, delimiter=",", header=header, comments="", fmt="%.6g")
    files = plot(out, rows, spectra, scn.title, fits)
    (out / "sweep.json").write_text(json.dumps(fits, indent=2) + "\n")
    print(header)
    for r in rows:
        print(",".join(f"{v:.5g}" for v in r))
    print(json.dumps(fits, indent=2), "->", out, files)
    return 0


if __name__ == "__main__":
    sys.exit(main())
