"""``ecmsim fbg invert SPECTRUM.csv -o OUT [--set grating.KEY=VALUE] [--levels N] [--mean free]``.

Reads a spectrum (``wavelength_nm, R_x, R_y, R`` as ``ecmsim fbg`` writes it; a series
``spectra.csv``, ``wavelength_nm`` then ``R[label]`` per step; or a measured spectrum, see
:mod:`ecmsim.fbg.spectra`) and writes into OUT:

- ``inverse_profile.csv``: per level (and ``step`` for a series) ``z_m, length_m,
  length_uncertainty_m, sigma_diff_Pa, sigma_diff_uncertainty_Pa, line_load_N_m,
  line_load_uncertainty_N_m, mean_strain, relative_shift, bragg_x_nm, bragg_y_nm``;
- ``inverse_fit.png``: the fit against the spectrum and the recovered levels (last step);
- ``summary.json``: metrics (``fbg_inverse_*``), what the spectrum cannot tell, the inputs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from ecmsim.fbg import parameters

COLUMNS = ("z_m", "length_m", "length_uncertainty_m", "sigma_diff_Pa", "sigma_diff_uncertainty_Pa",
           "line_load_N_m", "line_load_uncertainty_N_m", "mean_strain", "relative_shift",
           "bragg_x_nm", "bragg_y_nm")


def read_spectra(path: Path, warnings: list[str] | None = None):
    """[(label, wavelength_m, R)] from one of the accepted spectrum files; ``warnings`` collects
    what is legal but unlikely (a measured reflectance above 1)."""
    from ecmsim.core.errors import InputFileError
    from ecmsim.fbg.csvfile import read_numeric_csv
    from ecmsim.fbg.spectra import Spectrum, read_spectrum_csv
    try:
        table = read_numeric_csv(path, "spectrum")
        series = [h for h in table.header if h.startswith("R[") and h.endswith("]")]
    except InputFileError:     # not one of ours: a measured export (preamble, delimiters, units)
        table, series = None, []
    if table is not None and "wavelength_nm" in table.header and series:
        lam = table.columns["wavelength_nm"] * 1e-9
        if (lam[1:] <= lam[:-1]).any():
            raise InputFileError(f"{path}: wavelengths must increase strictly")
        return [(h[2:-1], lam, _checked(path, h, table.columns[h], fraction=True)) for h in series]
    spectrum = read_spectrum_csv(path)
    if isinstance(spectrum, Spectrum):
        return [(path.stem, spectrum.wavelength_m, _checked(path, path.stem, spectrum.R, fraction=True))]
    R = _checked(path, path.stem, spectrum.reflectance, fraction=False)
    if R.max() > 1.0 + 1e-9 and warnings is not None:
        warnings.append(f"{path}: reflectance up to {R.max():.3g} > 1: read as arbitrary units and normalised to its "
                        "maximum (is it in % or another unit?)")
    return [(path.stem, spectrum.wavelength_m, R / R.max())]


def _checked(path: Path, label: str, R, fraction: bool):
    """A reflectance that can be inverted: finite, not negative beyond noise, with a peak; a
    simulated one (``fraction``) within 0..1. InputFileError (one line) otherwise."""
    import numpy as np

    from ecmsim.core.errors import InputFileError

    R = np.asarray(R, float)
    where = f"{path}" + (f" ({label})" if label != path.stem else "")
    if not np.all(np.isfinite(R)):
        raise InputFileError(f"{where}: the reflectance has non-finite values")
    top = float(R.max())
    if top <= 0 or top - float(R.min()) <= 1e-9 * top:
        raise InputFileError(f"{where}: the spectrum has no peak (reflectance from {R.min():.3g} to {top:.3g}): "
                             "nothing to invert")
    if R.min() < -0.02 * top:
        raise InputFileError(f"{where}: reflectance down to {R.min():.3g}: a reflectance is >= 0 (a power in dB "
                             "belongs in a power_dBm column)")
    if fraction and top > 1.0 + 1e-9:
        raise InputFileError(f"{where}: reflectance up to {top:.3g}: a reflectance is a fraction from 0 to 1")
    return R


def run_invert(args: argparse.Namespace, files: list[str]) -> int:
    """Handler of ``ecmsim fbg invert``."""
    from ecmsim.core.errors import InputFileError
    if len(files) != 1:
        raise InputFileError(f"fbg invert: expected one spectrum file, got {len(files)}: {' '.join(files) or '(none)'}")
    path = Path(files[0])
    if not path.is_file():
        raise InputFileError(f"{path}: spectrum file not found")
    grating, source, interrogator, fibre_key = parameters.from_settings(args.overrides)
    from ecmsim.fbg.optics import Fibre
    fibre = Fibre.from_material(fibre_key)
    warnings: list[str] = []
    spectra = read_spectra(path, warnings)
    for line in warnings:
        print(f"ecmsim: warning: {line}", file=sys.stderr)
    args.warnings = warnings
    from ecmsim.io.folders import result_folder
    with result_folder(Path(args.out), command="fbg-invert", overwrite=args.overwrite) as out:
        results, inv = _invert_and_write(out, args, path, spectra, grating, source, interrogator, fibre, fibre_key)
    if not args.quiet:
        loads = ", ".join(f"{lv.line_load_N_m / 1e3:.3f} N/mm x {lv.length_fraction:.2f}" for lv in inv.levels)
        print(f"ecmsim fbg invert: {len(results)} spectrum(s); last: {len(inv.levels)} level(s) [{loads}] "
              f"(distribution over the grating, order along z not determined) -> {args.out}")
    return 0


def _invert_and_write(out: Path, args, path: Path, spectra, grating, source, interrogator, fibre, fibre_key):
    """Invert every spectrum and write the files into ``out`` (the staging folder)."""
    from ecmsim import materials
    from ecmsim.core.version import __version__
    from ecmsim.fbg.inverse import MAX_LEVELS, invert
    results = []
    for label, lam, R in spectra:
        results.append((label, R, invert(lam, R, grating, fibre, max_levels=args.levels or MAX_LEVELS,
                                         mean=getattr(args, "mean", "line_load"))))
    series = len(results) > 1
    header = (["step"] if series else []) + list(COLUMNS)
    lines = [",".join(header)]
    for i, (_, _, inv) in enumerate(results):
        for row in inv.rows():
            lines.append(",".join(([str(i)] if series else []) + [repr(float(row[c])) for c in COLUMNS]))
    notes = results[-1][2].notes
    (out / "inverse_profile.csv").write_text("# " + "\n# ".join(notes) + "\n" + "\n".join(lines) + "\n")
    from ecmsim.fbg.plots import plot_inverse
    label, R, inv = results[-1]
    plot_inverse(out / "inverse_fit.png", inv, R, title=f"Inverse FBG: {label}", diameter_m=fibre.diameter_m)
    summary = {
        "command": "fbg invert",
        "ecmsim_version": __version__,
        "inputs": {"spectrum": {"file": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()},
                   "steps": [lbl for lbl, _, _ in results],
                   "parameters": parameters.as_dict(grating, source, interrogator, fibre_key),
                   "fibre": materials.get(fibre_key).as_dict()},
        "metrics": inv.metrics(),
        "limits": list(notes),
        "files": ["inverse_profile.csv", "inverse_fit.png", "summary.json"],
        "warnings": list(getattr(args, "warnings", [])),
    }
    if series:
        summary["series"] = {"label": [lbl for lbl, _, _ in results],
                             **{k: [r[2].metrics()[k] for r in results]
                                for k in ("fbg_inverse_levels", "fbg_inverse_line_load_N_m",
                                          "fbg_inverse_length_fraction", "fbg_inverse_mean_line_load_N_m")}}
    from ecmsim.io.summary import json_safe
    (out / "summary.json").write_text(json.dumps(json_safe(summary), indent=2) + "\n")
    return results, inv
