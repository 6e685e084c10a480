"""What matrix modulus does PLL's measured 380 MPa imply, once its LLZTO particles are meshed?

    .venv/bin/python examples/pll_matrix_modulus.py [--seeds 3] [--size 400]

PLL is PEO-LiTFSI with 50 wt% LLZTO ([P]); at 5.45 g/cm3 (LLZTO) and 1.24 g/cm3 (PEO-LiTFSI 18:1)
that is 18.5 vol% particles (docs/mechanics.md). For each seed a square window of PLL is drawn by
the FIB-SEM renderer (ecmsim.geometry.fibsem, particles on 19 % of the area), segmented with
``particles = true`` (texture route), meshed, and homogenized (ecmsim.mechanics.homogenize: two
uniaxial-strain tests); the matrix modulus that gives the composite 380 MPa is found (LLZO record
for the particles, matrix Poisson ratio 0.45). The same on the truth labels, and the 3D
Hashin-Shtrikman lower bound for spheres at the same fraction, for comparison. Prints a Markdown
table (docs/mechanics.md holds its output).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ecmsim import materials  # noqa: E402
from ecmsim.geometry import fibsem as fs  # noqa: E402
from ecmsim.geometry import image as img  # noqa: E402
from ecmsim.mechanics import homogenize as hz  # noqa: E402
from ecmsim.mesh import MeshOptions, mesh_geometry  # noqa: E402

PIXEL_SIZE_M = 50e-9
TARGET_E_PA = materials.get("PLL").youngs_modulus_Pa
MATRIX_NU = materials.get("PEO-LiTFSI").poissons_ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--size", type=int, default=400, help="window edge [px]")
    args = parser.parse_args()
    llzo = materials.get("LLZO")
    print("| window | route | particle area fraction | matrix E for 380 MPa (2D mesh) | composite nu | "
          "anisotropy | HS lower bound, 3D spheres: matrix E | time |")
    print("|---|---|---|---|---|---|---|---|")
    found = []
    for seed in range(1, args.seeds + 1):
        lab = np.full((args.size, args.size), img.ELECTROLYTE, np.uint8)
        r = fs.render(lab, fs.LI_PLL, 1.0, seed=seed)
        for route, data, kw in (("truth labels", r.labels_with_particles(),
                                 {"label_values": {"electrolyte": img.ELECTROLYTE, "particle": img.PARTICLE}}),
                                ("segmented (texture, particles)", r.grey, {"method": "texture", "particles": True})):
            start = time.perf_counter()
            res = img.array_to_geometry(data, img.ImageOptions(pixel_size_m=PIXEL_SIZE_M, **kw))
            tmesh = mesh_geometry(res.geometry, MeshOptions(25 * PIXEL_SIZE_M, 5 * PIXEL_SIZE_M))
            E_m, eff, _ = hz.matrix_modulus_for(TARGET_E_PA, tmesh, llzo, MATRIX_NU)
            c = eff.area_fractions.get("particle", 0.0)
            hs = hz.matrix_modulus_hs_3d(TARGET_E_PA, c, llzo, MATRIX_NU)
            found.append(E_m)
            print(f"| seed {seed}, {args.size} px | {route} | {c:.3f} | {E_m / 1e6:.1f} MPa | {eff.poissons_ratio:.3f} | "
                  f"{eff.anisotropy:.3f} | {hs / 1e6:.1f} MPa | {time.perf_counter() - start:.0f} s |")
    print(f"\nmatrix E for 380 MPa: mean {np.mean(found) / 1e6:.1f} MPa, range {min(found) / 1e6:.1f}-"
          f"{max(found) / 1e6:.1f} MPa over {len(found)} windows")


if __name__ == "__main__":
    main()
