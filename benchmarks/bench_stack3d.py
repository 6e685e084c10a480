"""3D stack -> tetrahedral mesh -> linear elastic solve (uniaxial stack pressure), timed.

    .venv/bin/python benchmarks/bench_stack3d.py [--nz 12 --ny 48 --nx 72 --factor 1]

A synthetic FIB-SEM stack (Li on top, PLL below, one interfacial void and pores running along
the stack, slice drift, noise) is written as a multi-page TIFF, read back, aligned, segmented
and meshed by :mod:`ecmsim.geometry.stack`, and solved in 3D: bottom fixed, the four sides on
rollers (normal displacement 0), 1 MPa on top. Check: the same solve on the void-free flat
bilayer must give the laterally confined (uniaxial strain) top displacement
p (h_Li / M_Li + h_PLL / M_PLL), M = E (1 - nu) / ((1 + nu)(1 - 2 nu)), to solver tolerance.
The 3D solve here is a stand-alone check of the mesh (the project's elasticity module is 2D
plane strain); it uses the finite-element stack through :mod:`ecmsim.fem` only.
"""

from __future__ import annotations

import argparse
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
    """Bottom fixed, rollers on the sides, pressure on top; returns (top mean u_y [m], seconds, dofs)."""
    from ecmsim.fem import PETSc, fem, ufl

    msh = tmesh.mesh
    V = fem.functionspace(msh, ("Lagrange", 1, (3,)))
    Q = fem.functionspace(msh, ("DG", 0))
    lam, mu = fem.Function(Q), fem.Function(Q)
    for region, (E, nu) in materials.items():
        if region in tmesh.cell_ids:
            cells = tmesh.cells(region)
            lam.x.array[cells] = E * nu / ((1 + nu) * (1 - 2 * nu))
            mu.x.array[cells] = E / (2 * (1 + nu))
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)

    def eps(w):
        return ufl.sym(ufl.grad(w))

    a = ufl.inner(2 * mu * eps(u) + lam * ufl.tr(eps(u)) * ufl.Identity(3), eps(v)) * ufl.dx
    ds = ufl.Measure("ds", domain=msh, subdomain_data=tmesh.facet_tags)
    n = ufl.FacetNormal(msh)
    L = ufl.inner(-fem.Constant(msh, PETSc.ScalarType(pressure_Pa)) * n, v) * ds(tmesh.facet_ids["top"])
    fdim = 2
    bcs = [fem.dirichletbc(np.zeros(3), fem.locate_dofs_topological(V, fdim, tmesh.facets("bottom")), V)]
    for name, comp in (("left", 0), ("right", 0), ("front", 2), ("back", 2)):
        if name in tmesh.facet_ids:
            Vc = V.sub(comp)
            dofs = fem.locate_dofs_topological(Vc, fdim, tmesh.facets(name))
            bcs.append(fem.dirichletbc(PETSc.ScalarType(0), dofs, Vc))
    opts = {"ksp_type": "cg", "pc_type": "gamg", "ksp_rtol": 1e-10, "ksp_error_if_not_converged": True}
    start = time.perf_counter()
    problem = fem.petsc.LinearProblem(a, L, bcs=bcs, petsc_options=opts, petsc_options_prefix="stack3d_")
    uh = problem.solve()
    seconds = time.perf_counter() - start
    one = fem.form(uh[1] * ds(tmesh.facet_ids["top"]))
    area = fem.form(fem.Constant(msh, PETSc.ScalarType(1.0)) * ds(tmesh.facet_ids["top"]))
    uy = msh.comm.allreduce(fem.assemble_scalar(one)) / msh.comm.allreduce(fem.assemble_scalar(area))
    return float(uy), seconds, V.dofmap.index_map.size_global * 3


def main() -> None:
    from ecmsim.geometry import stack as st

    ap = argparse.ArgumentParser()
    ap.add_argument("--nz", type=int, default=12)
    ap.add_argument("--ny", type=int, default=48)
    ap.add_argument("--nx", type=int, default=72)
    ap.add_argument("--factor", type=int, default=1)
    args = ap.parse_args()
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
            mesh = st.voxel_tetra_mesh(res.labels, res.voxel_size_m)
            st.write_msh(Path(tmp) / "s.msh", *mesh)
            t1 = time.perf_counter()
            tm = st.tagged_mesh_3d(Path(tmp) / "s.msh")
            uy, t_solve, dofs = solve3d(tm, mats)
            metrics = st.interface_metrics_3d(*mesh, res.voxel_size_m)
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
