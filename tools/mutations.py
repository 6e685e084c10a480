#!/usr/bin/env python3
"""The mutation check of issue 23: does a test fail when the code is broken on purpose?

Each mutation is one realistic slip in one line (a sign, a factor, a swapped axis, a dropped term).
The script copies the working tree (without .venv and results) to a temporary folder, checks that
the named tests pass there unmutated, then applies one mutation at a time, runs the named tests
and restores the line. A mutation is *caught* when a test fails. Rerun it after changing the code
or the tests:

    .venv/bin/python tools/mutations.py            # every mutation (about 10 min on 2 cores)
    .venv/bin/python tools/mutations.py voxel      # only those whose name contains "voxel"

Exit status 0 when every mutation is caught. Not part of the test suite (it runs parts of it
many times); pytest does not collect tools/.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutation:
    name: str
    path: str          # file under the repository root
    old: str           # exactly one occurrence in the file
    new: str
    tests: tuple[str, ...]


CYCLING_FLAT = "tests/test_cycling.py::test_flat_plating_grows_the_stack_by_the_plated_thickness"
GLOBAL_ERROR = "tests/test_timeloop.py::test_default_error_control_keeps_the_global_error_within_one_percent"

MUTATIONS = (
    Mutation("plating growth along the facet, not its normal", "ecmsim/electrochem/cycling.py",
             "normal = np.column_stack([-t[:, 1], t[:, 0]])", "normal = np.column_stack([t[:, 0], t[:, 1]])",
             (CYCLING_FLAT,)),
    Mutation("plating growth twice the plated thickness", "ecmsim/electrochem/cycling.py",
             "g = (h_live + h_dead) / self.delta_eff", "g = 2 * (h_live + h_dead) / self.delta_eff", (CYCLING_FLAT,)),
    Mutation("porous-Li softening (1-phi)*m instead of (1-phi)**m", "ecmsim/electrochem/cycling.py",
             "factor = (1.0 - phi_point) ** self.m", "factor = (1.0 - phi_point) * self.m", (CYCLING_FLAT,)),
    Mutation("voxel size order (z, y, x) read as (x, y, z)", "ecmsim/mesh/voxel.py",
             "dz, dy, dx = voxel_size_m", "dx, dy, dz = voxel_size_m",
             ("tests/test_image_stack.py::test_voxel_sizes_keep_their_axes",)),
    Mutation("every tetrahedron volume doubled", "ecmsim/mesh/voxel.py",
             "np.cross(p[:, 2] - p[:, 0], p[:, 3] - p[:, 0]))) / 6",
             "np.cross(p[:, 2] - p[:, 0], p[:, 3] - p[:, 0]))) / 3",
             ("tests/test_image_stack.py::test_voxel_tetra_mesh_is_conforming_with_2d_tag_names",)),
    Mutation("time-step error indicator 3x too lenient", "ecmsim/mechanics/creep.py",
             "return float(local / -np.expm1(-damping) / state.error_tolerance)",
             "return float(local / -np.expm1(-damping) / state.error_tolerance / 3)", (GLOBAL_ERROR,)),
    Mutation("steps at 10x the tolerance accepted", "ecmsim/run/timeloop.py",
             "if not ok or (indicator > 1.5 and dt > control.dt_min_s):",
             "if not ok or (indicator > 15 and dt > control.dt_min_s):", (GLOBAL_ERROR,)),
    Mutation("anodic exponent alpha <-> 1 - alpha", "ecmsim/electrochem/potential.py",
             "ufl.exp(-self.c_alpha * self.c_f * eta) - ufl.exp((1 - self.c_alpha) * self.c_f * eta)",
             "ufl.exp(-(1 - self.c_alpha) * self.c_f * eta) - ufl.exp(self.c_alpha * self.c_f * eta)",
             ("tests/test_electrochem.py::test_uniform_current_with_unequal_transfer_coefficients",)),
    Mutation("window voltage normalised by the interface length", "ecmsim/electrochem/potential.py",
             'window_voltage = self._sum("counter_potential") / counter_length',
             'window_voltage = self._sum("counter_potential") / self._sum("interface_length")',
             ("tests/test_electrochem.py::test_window_voltage_is_the_mean_potential_of_the_counter_electrode",)),
    Mutation("max current ignores the contact activity", "ecmsim/electrochem/potential.py",
             "local = float(np.max(act * self.kinetics.current_density(eta)))",
             "local = float(np.max(self.kinetics.current_density(eta)))",
             ("tests/test_electrochem.py::test_max_current_counts_only_the_contacting_interface",)),
    Mutation("inverse FBG: the shift read into the mean strain with the wrong sign", "ecmsim/fbg/inverse.py",
             "mean_strain=float(0.5 * (e1[j] + e2[j]) + delta[j] / per_mean_strain)",
             "mean_strain=float(0.5 * (e1[j] + e2[j]) - delta[j] / per_mean_strain)",
             ("tests/test_fbg_inverse.py::test_a_uniform_mean_strain_is_read_as_the_shift_and_mean_strain",)),
    Mutation("inverse FBG: mean shift with the wrong sign", "ecmsim/fbg/inverse.py",
             '"fbg_inverse_mean_shift_pm": self.shift_relative * self.design_wavelength_m * 1e12',
             '"fbg_inverse_mean_shift_pm": -self.shift_relative * self.design_wavelength_m * 1e12',
             ("tests/test_fbg_inverse.py::test_a_uniform_mean_strain_is_read_as_the_shift_and_mean_strain",)),
    Mutation("centroid delta sigma with the wrong sign in delta_sigma.csv", "ecmsim/io/readout.py",
             "eq12_stress(rep.centroid_m - c0, c0, fibre)", "eq12_stress(c0 - rep.centroid_m, c0, fibre)",
             ("tests/test_fibre_readout.py::test_delta_sigma_csv_signs_the_centroid_shift_like_the_peaks",)),
    Mutation("study table: Li-Sn splitting from the wrong peaks (290 pm shown as 46460 pm)", "ecmsim/studies/study.py",
             'f"Li {(b - a) * 1e12:.0f} pm; Li–Sn {(d - c) * 1e12:.0f} pm"',
             'f"Li {(b - a) * 1e12:.0f} pm; Li–Sn {(d - a) * 1e12:.0f} pm"',
             ("tests/test_study.py::test_comparison_table_shows_the_measured_values_in_their_units",)),
    Mutation("validation table: metres shown in pm with the nm factor", "ecmsim/studies/validate.py",
             '"m": ("pm", 1e-12)', '"m": ("pm", 1e-9)',
             ("tests/test_validate.py::test_measured_references_are_shown_in_their_display_units",
              "tests/test_validate.py::test_display_units_convert_both_ways")),
    Mutation("integer metrics dropped from sweep.csv", "ecmsim/studies/sweep.py",
             "if isinstance(v, (int, float)) and not isinstance(v, bool) or v is None:",
             "if isinstance(v, float) or v is None:",
             ("tests/test_sweep.py::test_gather_keeps_integer_metrics_and_trusts_only_the_same_input",)),
    Mutation("a sweep point counted done without checking its input hash", "ecmsim/studies/sweep.py",
             'return isinstance(summary, dict) and summary.get("input_hash_sha256") == input_hash and "metrics" in summary',
             'return isinstance(summary, dict) and "metrics" in summary',
             ("tests/test_sweep.py::test_gather_keeps_integer_metrics_and_trusts_only_the_same_input",)),
    Mutation("a stale point's numbers gathered into sweep.csv", "ecmsim/studies/sweep.py",
             'row["status"] = "ok" if summary is not None and summary.get("input_hash_sha256") == p.input_hash else "failed"',
             'row["status"] = "ok" if summary is not None else "failed"',
             ("tests/test_sweep.py::test_gather_keeps_integer_metrics_and_trusts_only_the_same_input",)),
    Mutation("interface max normal stress from the raw per-facet samples", "ecmsim/mechanics/stresses.py",
             '"interface_normal_stress_max_Pa": float(s_in.max())', '"interface_normal_stress_max_Pa": float(s.max())',
             ("tests/test_contact.py::test_rough_interface_with_voids_newton_iterations",)),
)


def run_tests(copy: Path, tests: tuple[str, ...]) -> tuple[bool, float]:
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests], cwd=copy,
                          capture_output=True, text=True, env={**_env(), "PYTHONPATH": str(copy)})
    return proc.returncode == 0, time.monotonic() - start


def _env() -> dict[str, str]:
    import os
    return dict(os.environ)


def main(argv: list[str]) -> int:
    chosen = [m for m in MUTATIONS if not argv or any(a.lower() in m.name.lower() for a in argv)]
    with tempfile.TemporaryDirectory(prefix="ecmsim-mutations-") as tmp:
        copy = Path(tmp) / "repo"
        shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".venv", "results", ".git", "__pycache__",
                                                                   "*.partial*"))
        tests = tuple(dict.fromkeys(t for m in chosen for t in m.tests))
        ok, seconds = run_tests(copy, tests)
        print(f"unmutated: the {len(tests)} test(s) {'pass' if ok else 'FAIL'} ({seconds:.0f} s)")
        if not ok:
            return 2
        rows = []
        for m in chosen:
            path = copy / m.path
            original = path.read_text(encoding="utf-8")
            if original.count(m.old) != 1:
                rows.append((m, "NOT APPLIED", 0.0))
                continue
            path.write_text(original.replace(m.old, m.new), encoding="utf-8")
            try:
                passed, seconds = run_tests(copy, m.tests)
            finally:
                path.write_text(original, encoding="utf-8")
            rows.append((m, "survived" if passed else "caught", seconds))
            print(f"  {rows[-1][1]:8s} {m.name} ({seconds:.0f} s)", flush=True)
    print("\n| mutation | file | result | guarding test |\n|---|---|---|---|")
    for m, result, _ in rows:
        print(f"| {m.name} | `{m.path}` | {result} | " + ", ".join(f"`{t.split('::')[-1]}`" for t in m.tests) + " |")
    caught = sum(r == "caught" for _, r, _ in rows)
    print(f"\n{caught} of {len(rows)} caught")
    return 0 if caught == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
