"""``ecmsim fbg PROFILE... -o OUT [--set key=value] [--measured SPECTRUM.csv]``.

Strain profile(s) along the fibre -> reflected spectrum, peaks, splitting, width, shift and
the reference paper's stress estimate. Writes into OUT:

- ``spectrum.csv`` (``wavelength_nm, R_x, R_y, R``) and ``spectrum.png`` of the (last) profile,
  with ``--measured`` the measured spectrum drawn over it and ``measured_decomposition.png``;
- ``peaks.csv``: every peak of every step with its track number;
- ``summary.json``: ``metrics`` (``fbg_peaks_nm``, ``fbg_peak_count``, ``fbg_splitting_pm``,
  ``fbg_fwhm_pm``, ``fbg_shift_pm``, ...), the inputs used, and for a series ``series``;
- for a time series (several files, a directory, a glob, or a ``step`` column):
  ``waterfall.png`` and ``spectra.csv`` (``wavelength_nm`` then R of each step).

Only the standard library is imported here at module level; numpy and friends load in the handler.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from ecmsim.fbg import parameters


def register(subparsers) -> None:
    """Add the ``fbg`` subcommand."""
    p = subparsers.add_parser(
        "fbg", help="virtual FBG: strain profile(s) -> reflected spectrum, peaks, stress estimate",
        description="Strain profile(s) along the fibre -> reflected spectrum (transfer matrix, both "
                    "polarisations), interrogator peaks, splitting, width, shift and the reference paper's "
                    "eq. 1-2 stress estimate. Writes spectrum.csv, spectrum.png, peaks.csv and summary.json "
                    "into DIR; a time series adds waterfall.png and spectra.csv. See docs/fbg.md.",
        epilog="keys for --set (unit in brackets; the default shown):\n" + parameters.describe_keys(),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("profiles", nargs="+", metavar="PROFILE",
                   help="CSV with z_m, exx, eyy, ezz [, exy, exz, eyz, T_K, step]; several files, a "
                        "directory or a glob make a time series. `ecmsim fbg invert SPECTRUM.csv -o DIR`: "
                        "the inverse, spectrum (ours, a series spectra.csv, or a measured one) -> "
                        "distribution of transverse load along the grating (inverse_profile.csv)")
    p.add_argument("-o", "--out", required=True, metavar="DIR",
                   help="result folder: created, or replaced if it holds an earlier result of ecmsim fbg only")
    p.add_argument("--overwrite", action="store_true",
                   help="write into DIR although it holds other files (ecmsim's files replaced, others kept)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="set a parameter (repeatable), e.g. --set grating.length_m=0.01")
    p.add_argument("--measured", metavar="SPECTRUM.csv",
                   help="measured spectrum, as interrogators export it (e.g. 'Wavelength (nm),Power (dBm)'; dB, "
                        "dBm or linear; comma, semicolon, tab or space separated; a preamble is skipped): "
                        "compared with the (last) simulated one, drawn over it in spectrum.png and decomposed "
                        "into lines (measured_decomposition.png)")
    p.add_argument("--workers", type=_positive_int, default=None, metavar="N",
                   help="processes sharing the wavelengths (default: every CPU; 1 on a busy machine)")
    p.add_argument("--no-decompose", dest="decompose", action="store_false",
                   help="skip the model-based peak decomposition of the (last) spectrum")
    p.add_argument("--levels", type=_positive_int, default=None, metavar="N",
                   help="fbg invert: most load levels tried (default 5; chosen by BIC)")
    p.add_argument("--mean", choices=("line_load", "free"), default="line_load",
                   help="fbg invert: each level's mean strain from its diametral load and one common shift "
                        "(line_load, default), or its own (free)")
    p.add_argument("-q", "--quiet", action="store_true", help="no summary line on stdout")
    p.set_defaults(handler=run)


def _positive_int(text: str) -> int:
    """argparse type: a whole number >= 1 (argparse reports anything else, exit status 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def run(args: argparse.Namespace) -> int:
    """Handler of ``ecmsim fbg``: read, simulate, write; returns the exit status."""
    if args.profiles and args.profiles[0] == "invert":
        from ecmsim.cli.fbg_invert import run_invert
        return run_invert(args, args.profiles[1:])
    from ecmsim.fbg.optics import Fibre, section_count
    from ecmsim.fbg.profile import read_profiles
    from ecmsim.fbg.sensor import grating_sections
    from ecmsim.fbg.spectra import read_measured_csv
    from ecmsim.io.folders import result_folder

    # every input is checked before any work (scipy and matplotlib load only after this)
    grating, source, interrogator, fibre_key = parameters.from_settings(args.overrides)
    fibre = Fibre.from_material(fibre_key)
    section_count(grating, fibre)
    profiles = read_profiles(args.profiles)
    from ecmsim.scenario.guards import profile_warnings
    args.warnings = list(dict.fromkeys(w for p in profiles for w in profile_warnings(p.z_m, p.T_K)))
    for line in args.warnings:
        print(f"ecmsim: {line}", file=sys.stderr, flush=True)
    sections = [grating_sections(p, grating, fibre) for p in profiles]
    measured = read_measured_csv(args.measured) if args.measured else None
    out = Path(args.out)
    with result_folder(out, command="fbg", overwrite=args.overwrite) as stage:
        metrics, count = _simulate_and_write(stage, args, profiles, sections, measured, grating, source,
                                             interrogator, fibre, fibre_key)
    if not args.quiet:
        peaks = ", ".join(f"{w:.3f}" for w in metrics["fbg_peaks_nm"])
        decomposed = ""
        if "fbg_decomposed_peaks_nm" in metrics:
            decomposed = (f"; decomposed: {metrics['fbg_decomposed_peak_count']} peak(s), splitting "
                          f"{metrics['fbg_decomposed_splitting_pm']:.1f} +- "
                          f"{metrics['fbg_decomposed_splitting_uncertainty_pm']:.1f} pm")
        print(f"ecmsim fbg: {count} profile(s); last: {metrics['fbg_peak_count']} peak(s) [{peaks}] nm, "
              f"splitting {metrics['fbg_splitting_pm']:.1f} pm, shift {metrics['fbg_shift_pm']:.1f} pm{decomposed}"
              f" -> {out}")
    return 0


def _simulate_and_write(out: Path, args, profiles, sections, measured, grating, source, interrogator, fibre,
                        fibre_key) -> tuple[dict, int]:
    """Simulate every profile and write the files into ``out`` (the staging folder)."""
    import numpy as np

    from ecmsim import materials
    from ecmsim.core.version import __version__
    from ecmsim.fbg.analysis import track_peaks
    from ecmsim.fbg.plots import plot_decomposition, plot_spectrum, plot_waterfall
    from ecmsim.fbg.sensor import simulate, simulate_series, summary_metrics
    from ecmsim.fbg.spectra import compare, write_peaks_csv
    from ecmsim.io.summary import json_safe
    from ecmsim.core.figures import draw_or_warn, plain_text

    results = simulate_series(profiles, grating, interrogator, fibre=fibre, source=source, workers=args.workers)
    several_files = len(_files_of(profiles)) > 1
    labels = [_label(p, several_files) for p in profiles]
    references = []
    for p, (spectrum, _) in zip(profiles, results):
        # a strain-free twin at the same temperatures: the reference paper's glass-tube FBG
        references.append(None if p.T_K is None else
                          simulate(p.with_strain_zeroed(), grating, interrogator, fibre=fibre, source=source,
                                   wavelength_m=spectrum.wavelength_m, workers=args.workers)[1])
    per_step = [summary_metrics(s, r, sec, fibre, ref)
                for (s, r), sec, ref in zip(results, sections, references)]
    if args.decompose:                      # model-based peaks of every step (docs/fbg.md)
        from ecmsim.fbg.decompose import decompose
        for m, (spectrum, _) in zip(per_step, results):
            m.update(decompose(spectrum.wavelength_m, spectrum.R, grating, fibre).metrics())
    last_spectrum, last_report = results[-1]
    metrics = dict(per_step[-1])
    if measured is not None:
        metrics.update(compare(last_spectrum, measured, interrogator, grating.design_wavelength_m))
    measured_fit = None
    if args.decompose and measured is not None:
        # the measured spectrum's own lines: the grating's shape, or a generic one if that does not fit
        from ecmsim.fbg.decompose import decompose
        normalised = measured.reflectance / measured.reflectance.max()
        measured_fit = decompose(measured.wavelength_m, normalised, grating, fibre, baseline=True)
        metrics.update(measured_fit.metrics("fbg_measured_decomposed"))

    last_spectrum.write_csv(out / "spectrum.csv")
    drawn = draw_or_warn(out / "spectrum.png", lambda p: plot_spectrum(p, last_spectrum, last_report, sections[-1],
                                                                       title=f"Virtual FBG: {plain_text(labels[-1])}",
                                                                       measured=measured))
    files = ["spectrum.csv"] + (["spectrum.png"] if drawn else []) + ["peaks.csv", "summary.json"]
    if measured_fit is not None and draw_or_warn(
            out / "measured_decomposition.png",
            lambda p: plot_decomposition(p, measured.wavelength_m, normalised, measured_fit,
                                         title=f"Measured spectrum {Path(measured.source).name}: decomposition")):
        files.append("measured_decomposition.png")
    tracks = track_peaks([r for _, r in results], interrogator.track_max_jump_m)
    write_peaks_csv(out / "peaks.csv", results, labels, tracks, fibre)
    summary = {
        "command": "fbg",
        "ecmsim_version": __version__,
        "inputs": {
            "profiles": [{"file": str(f), "sha256": _sha256(f)} for f in _files_of(profiles)],
            "steps": labels,
            "parameters": parameters.as_dict(grating, source, interrogator, fibre_key),
            "fibre": materials.get(fibre_key).as_dict(),
            "measured": None if measured is None else {"file": args.measured, "sha256": _sha256(Path(args.measured)),
                                                       "column": measured.column, "unit": measured.unit},
        },
        "metrics": metrics,
        "warnings": list(getattr(args, "warnings", [])),
    }
    if len(results) > 1:
        if draw_or_warn(out / "waterfall.png", lambda p: plot_waterfall(p, [s for s, _ in results],
                                                                        [r for _, r in results],
                                                                        [plain_text(t) for t in labels], tracks)):
            files.append("waterfall.png")
        files.append("spectra.csv")
        columns = np.column_stack([last_spectrum.wavelength_m * 1e9] + [s.R for s, _ in results])
        np.savetxt(out / "spectra.csv", columns, delimiter=",", fmt="%.17g", comments="",
                   header=",".join(["wavelength_nm"] + [f"R[{label}]" for label in labels]))
        keys = ("fbg_peak_count", "fbg_peaks_nm", "fbg_shift_pm", "fbg_splitting_pm", "fbg_fwhm_pm",
                "fbg_envelope_width_pm", "fbg_centroid_nm", "fbg_centroid_stress_eq12_Pa",
                "fbg_decomposed_peak_count", "fbg_decomposed_peaks_nm", "fbg_decomposed_peak_uncertainty_pm",
                "fbg_decomposed_splitting_pm", "fbg_decomposed_splitting_uncertainty_pm")
        summary["series"] = {"label": labels, **{k: [m[k] for m in per_step] for k in keys if k in per_step[-1]}}
    summary["files"] = files
    (out / "summary.json").write_text(json.dumps(json_safe(summary), indent=2) + "\n")
    return metrics, len(results)


def _label(profile, several_files: bool) -> str:
    """File stem, ``step N`` for a step column, ``stem:N`` for step columns in several files."""
    name = Path(profile.source.split(" (step")[0]).stem
    if profile.step is None:
        return name
    return f"{name}:{profile.step}" if several_files else f"step {profile.step}"


def _files_of(profiles) -> list[Path]:
    seen: dict[str, None] = {}
    for p in profiles:
        seen.setdefault(p.source.split(" (step")[0], None)
    return [Path(s) for s in seen]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


