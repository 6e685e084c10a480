"""3D stack -> tetrahedral mesh -> linear elastic solve (uniaxial stack pressure), timed.

    .venv/bin/python benchmarks/bench_stack3d.py [--nz 12 --ny 48 --nx 72 --factor 1] [--quick]

A synthetic FIB-SEM stack (Li on top, PLL below, one interfacial void and pores running along
the stack, slice drift, noise) is written as a multi-page TIFF, read back, aligned, segmented
and meshed by :mod:`ecmsim.geometry.stack`, and solved in 3D: bottom fixed, the four sides on
rollers (normal displacement 0), 1 MPa on top. Check: the same solve on the void-free flat
bilayer must give the laterally confined (uniaxial strain) top displacement
p (h_Li / M_Li + h_PLL / M_PLL), M = E (1 - nu) / ((1 + nu)(1 - 2 nu)), to solver tolerance.
The 3D solve is the package's (:mod:`ecmsim.mechanics.stack3d`, CG + GAMG).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def make_stack(nz, ny, nx, voids=True, seed=0):
    from ecmsim.geometry import synthetic as syn
    from ecmsim.geometry.image import ELECTRODE, ELECTROLYTE, VOID

    z, y, x = np.mgrid[0:nz, 0:ny, 0:nx] + 0.5
    iface = ny * 22 / 48
    lab = np.where(y < iface + (2 * np.sin(x / 6) if voids else 0), ELECTRODE, ELECTROLYTE).astype(np.uint8)
    if voids:
        lab[((z - nz / 2) ** 2 + (x - nx / 2) ** 2 + (y - iface) ** 2 <= (ny / 6) ** 2) & (y < iface)] = VOID
        for cx, cy, r in ((0.17, 0.75, 4.0), (0.42, 0.79, 3.5), (0.78, 0.71, 4.5)):
            lab[(x - cx * nx) ** 2 + (y - cy * ny) ** 2 <= r**2] = VOID
    rng = np.random.default_rng(seed)
    drift = np.cumsum(rng.integers(-1, 2, (nz, 2)), axis=0) * (1 if voids else 0)  # flat: nothing to align on
    drift[0] = 0
    pad = np.pad(lab, ((0, 0), (6, 6), (6, 6)), mode="edge")
    grey = np.stack([syn.render_phases(np.roll(pad[k], tuple(drift[k]), axis=(0, 1)),
                                       {VOID: 40, ELECTRODE: 95, ELECTROLYTE: 165}, seed=k, noise_sigma=10,
                                       shading=0, curtains=4) for k in range(nz)])
    return grey, lab


def solve3d(tmesh, materials, pressure_Pa=1e6):
    """Bottom fixed, rollers on the sides, pressure on top, through the package
    (:func:`ecmsim.mechanics.stack3d.solve_stack`, P1); ``materials``: region -> (E [Pa], nu).
    Returns (top mean u_y [m], seconds, dofs)."""
    from ecmsim.materials import Material
    from ecmsim.mechanics.stack3d import solve_stack

    mats = {k: Material(key=k, youngs_modulus_Pa=E, poissons_ratio=nu, sources={}) for k, (E, nu) in materials.items()}
    start = time.perf_counter()
    sol, _ = solve_stack(tmesh, mats, pressure_Pa, degree=1, linear="iterative")
    seconds = time.perf_counter() - start
    V = sol.u.function_space
    n = V.dofmap.index_map.size_local
    y = V.tabulate_dof_coordinates()[:n, 1]
    top = np.isclose(y, tmesh.comm.allreduce(y.max(), op=_max()))
    u = sol.u.x.array.reshape(-1, 3)[:n, 1]
    total = tmesh.comm.allreduce(float(u[top].sum()))
    count = tmesh.comm.allreduce(int(top.sum()))
    return total / count, seconds, sol.info["dofs"]


def _max():
    from ecmsim.core.fem import MPI
    return MPI.MAX


def main() -> None:
    from ecmsim.geometry import stack as st
    from ecmsim.mesh import voxel

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from common import parser as bench_parser

    ap = bench_parser(__doc__, "bench_stack3d")
    ap.add_argument("--nz", type=int, default=12)
    ap.add_argument("--ny", type=int, default=48)
    ap.add_argument("--nx", type=int, default=72)
    ap.add_argument("--factor", type=int, default=1)
    args = ap.parse_args()
    if args.quick:
        args.nz, args.ny, args.nx = 6, 24, 36
    px = 50e-9
    mats = {"electrode": (4.9e9, 0.38), "electrolyte": (0.38e9, 0.4)}  # Li, PLL (ecmsim materials)
    import tifffile

    with tempfile.TemporaryDirectory() as tmp:
        for voids in (False, True):
            grey, lab = make_stack(args.nz, args.ny, args.nx, voids=voids)
            path = Path(tmp) / "stack.tif"
            tifffile.imwrite(path, grey)
            t0 = time.perf_counter()
            res = st.segment_stack(st.read_stack(path), px, px, voxel_factor=args.factor, do_align=voids,
                                   phases=("void", "electrode", "electrolyte") if voids else ("electrode", "electrolyte"))
            mesh = voxel.voxel_tetra_mesh(res.labels, res.voxel_size_m)
            voxel.write_msh(Path(tmp) / "s.msh", *mesh)
            t1 = time.perf_counter()
            tm = voxel.tagged_mesh_3d(Path(tmp) / "s.msh")
            uy, t_solve, dofs = solve3d(tm, mats)
            metrics = voxel.interface_metrics_3d(*mesh, res.voxel_size_m)
            line = (f"voids={voids}: stack {args.nz}x{args.ny}x{args.nx} -> {metrics['tetrahedra']} tets, "
                    f"{dofs} dofs; segment+mesh {t1 - t0:.1f} s, solve {t_solve:.1f} s; "
                    f"void fraction {metrics['void_volume_fraction']:.4f}; top u_y {uy:.4e} m")
            if not voids:
                cols = res.labels.shape[0] * res.labels.shape[2]  # mean heights: noise moves a few voxels
                h_e = (res.labels == 1).sum() / cols * res.voxel_size_m[1]
                h_s = (res.labels == 2).sum() / cols * res.voxel_size_m[1]
                M = {k: E * (1 - nu) / ((1 + nu) * (1 - 2 * nu)) for k, (E, nu) in mats.items()}
                exact = -1e6 * (h_e / M["electrode"] + h_s / M["electrolyte"])
                line += (f"; uniaxial-strain exact {exact:.4e} m (h_Li {h_e:.3g} m, h_PLL {h_s:.3g} m; "
                         f"rel. error {(uy - exact) / exact:.2e})")
            print(line, flush=True)


if __name__ == "__main__":
    main()
