"""Li | PLL and Li-Sn | PLL cross-sections by texture (issue 25): renderings of known truth at three
artefact strengths, segmented with only the pixel size (auto) and meshed at the default sizes
(25 / 5 px). Prints the table of docs/geometry.md: phase fractions against the truth (within
0.03?), void fraction (within 10 %?), IoU per phase, mesh minimum angle, time; then the grey-level
reading of the same images (what auto gave before the texture route).

    python benchmarks/bench_image_texture.py [--size 800x400] [--particles] [--seeds 3,5]

Renderings: ecmsim.geometry.fibsem (LI_PLL / LI_SN_PLL looks, seeds 1-2 or --seeds, which the
classifier does not train on). The classifier's training (once per process) is timed separately.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

from ecmsim.core.errors import GeometryError  # noqa: E402
from ecmsim.geometry import fibsem as fs  # noqa: E402
from ecmsim.geometry import image as img  # noqa: E402
from ecmsim.geometry.image import classes, texture  # noqa: E402
from ecmsim.mesh import MeshOptions, estimated_cells  # noqa: E402
from ecmsim.mesh.report import write_mesh_files  # noqa: E402

PX = 50e-9
NAMES = ("void", "electrode", "electrolyte")


def _timer():
    return time.perf_counter(), time.process_time()


def _since(t):
    return time.perf_counter() - t[0], time.process_time() - t[1]


@contextlib.contextmanager
def _grey_levels_only():
    """auto as it was before the texture route: the grey-level reading, unchecked."""
    def grey_reading(grey, options, labels, info, error):
        if error is not None:
            raise error
        return labels, info

    saved, classes._auto = classes._auto, grey_reading
    try:
        yield
    finally:
        classes._auto = saved


def main() -> None:
    parser = common.parser(__doc__.split("\n\n")[0], "image_texture")
    parser.add_argument("--size", default="800x400", help="rendering size WxH in pixels (default 800x400)")
    parser.add_argument("--particles", action="store_true", help="also mesh the particles (particles = true)")
    parser.add_argument("--seeds", default="1,2", help="rendering seeds of Li | PLL and Li-Sn | PLL (default 1,2; "
                        "others check that nothing was tuned to these)")
    args = parser.parse_args()
    if args.quick:
        args.size = "400x200"
    w, h = (int(v) for v in args.size.split("x"))
    t = _timer()
    _, trained = texture.trained_forest()
    wall, cpu = _since(t)
    print(f"classifier: {trained['trained_on']}, {trained['pixels']} pixels, out-of-bag accuracy "
          f"{trained['oob_accuracy']}; trained in {wall:.1f} s ({cpu:.1f} s CPU)\n")
    print("| rendering | strength | fractions void / electrode / electrolyte: found (truth) | max \\|diff\\| | "
          "void error | IoU void / electrode / electrolyte | min angle | triangles (estimate) | time (CPU) |"
          + (" particles: found (truth) | particle IoU |" if args.particles else ""))
    print("|---|---|---|---|---|---|---|---|---|" + ("---|---|" if args.particles else ""))
    grey_rows = []
    li_seed, sn_seed = (int(v) for v in args.seeds.split(","))
    cases = [("Li \\| PLL", fs.plated_li_pll_labels, fs.LI_PLL, li_seed),
             ("Li–Sn \\| PLL", fs.li_sn_pll_labels, fs.LI_SN_PLL, sn_seed)]
    with tempfile.TemporaryDirectory() as tmp:
        for name, labels_of, look, seed in cases:
            truth_labels = labels_of(h, w, seed=seed)
            for strength in (0.5, 1.0, 1.5):
                r = fs.render(truth_labels, look, strength=strength, seed=seed)
                t = _timer()
                res = img.array_to_geometry(r.grey, img.ImageOptions(pixel_size_m=PX, particles=args.particles))
                mesh_options = MeshOptions(25 * PX, 5 * PX)
                estimate = estimated_cells(res.geometry, mesh_options)
                report = write_mesh_files(res.geometry, mesh_options, Path(tmp) / "m.msh", preview=False)
                wall, cpu = _since(t)
                got = res.labels[::-1] if res.info["flipped"] else res.labels
                part = got == img.PARTICLE
                got = np.where(part, img.ELECTROLYTE, got)
                f = [float(np.mean(got == k)) for k in range(3)]
                ft = [float(np.mean(r.labels == k)) for k in range(3)]
                iou = [float(((got == k) & (r.labels == k)).sum() / max(((got == k) | (r.labels == k)).sum(), 1))
                       for k in range(3)]
                worst = max(abs(a - b) for a, b in zip(f, ft, strict=True))
                void_err = (f[0] - ft[0]) / ft[0]
                print(f"| {name} ({res.info['segmentation_method']}) | {strength:g} | "
                      f"{' / '.join(f'{a:.3f} ({b:.3f})' for a, b in zip(f, ft, strict=True))} | {worst:.3f} | "
                      f"{100 * void_err:+.0f} % | {' / '.join(f'{x:.2f}' for x in iou)} | "
                      f"{report['min_angle_deg']:.1f}° | {report['cells']} ({estimate:.0f}) | {wall:.1f} s ({cpu:.1f} s) |"
                      + (f" {part.mean():.3f} ({r.particles.mean():.3f}) | "
                         f"{(part & r.particles).sum() / max((part | r.particles).sum(), 1):.2f} |" if args.particles else ""))
                try:
                    with _grey_levels_only():
                        g = img.array_to_geometry(r.grey, img.ImageOptions(pixel_size_m=PX))
                    fg = g.info["phase_fraction_cleaned"]
                    gl = g.labels[::-1] if g.info["flipped"] else g.labels
                    gl = np.where(gl == img.PARTICLE, img.ELECTROLYTE, gl)
                    giou = [float(((gl == k) & (r.labels == k)).sum() / max(((gl == k) | (r.labels == k)).sum(), 1))
                            for k in range(3)]
                    grey_rows.append((name, strength, g.info["segmentation_method"],
                                      ", ".join(f"{n} {v:.2f}" for n, v in fg.items()),
                                      " / ".join(f"{x:.2f}" for x in giou)))
                except GeometryError as err:
                    grey_rows.append((name, strength, "error", str(err).split(": ", 1)[-1], "–"))
    print("\nThe same images by grey level alone (before the texture route):\n")
    print("| rendering | strength | route | fractions after cleaning | IoU void / electrode / electrolyte |")
    print("|---|---|---|---|---|")
    for row in grey_rows:
        print("| " + " | ".join(str(x) for x in row) + " |")


if __name__ == "__main__":
    main()
