"""Figure for docs/contact.md: a rough Li/PLL interface with voids under 2.4 MPa, bonded vs contact.

    PYTHONPATH=. python docs/figures/contact_rough_voids.py   # writes docs/figures/contact_rough_voids.png

The geometry is the hand-built rough interface with three voids and a pore of the contact tests
(tests/contact_cases.py) until the seeded ``voids`` generator is available in scenarios.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "tests"))

from contact_cases import LI_PLL, ROUGH_MESH, rough_void_geometry  # noqa: E402

from ecmsim.core.fem import MPI  # noqa: E402
from ecmsim.mechanics.contact import stack_pressure_contact_problem  # noqa: E402
from ecmsim.mechanics.elasticity import stack_pressure_problem  # noqa: E402
from ecmsim.mechanics.stresses import field_metrics, interface_profile  # noqa: E402
from ecmsim.mesh import MeshOptions, mesh_geometry  # noqa: E402
from ecmsim.core.figures import pyplot  # noqa: E402
from ecmsim.io.plots import MPA, UM, stress_map_data  # noqa: E402

P = 2.4e6


def main(path: Path = HERE / "contact_rough_voids.png") -> None:
    geo = rough_void_geometry()
    tm = mesh_geometry(geo, MeshOptions(**ROUGH_MESH), MPI.COMM_WORLD)
    runs = {"bonded": stack_pressure_problem(tm, LI_PLL, P).solve(),
            "contact (frictionless)": stack_pressure_contact_problem(tm, LI_PLL, P).solve(4)}
    data = {}
    for name, sol in runs.items():
        data[name] = (stress_map_data(sol), interface_profile(sol),   # sampled at pixel centres (ecmsim.io.raster)
                      {**field_metrics(sol), **interface_profile(sol).metrics(geo.width_m)})
    if MPI.COMM_WORLD.rank != 0:
        return
    plt = pyplot()

    fig, axes = plt.subplots(3, 2, figsize=(12, 13), constrained_layout=True,
                             gridspec_kw={"height_ratios": [1, 1, 0.7]})
    limits = [(-8.0, 8.0, "RdBu_r", r"$\sigma_{yy}$ [MPa]"), (0.0, 8.0, "viridis", "von Mises [MPa]")]
    for row, (name, (image, prof, metrics)) in enumerate(data.items()):
        extent = np.array(image["grid"].extent) * UM
        for col, (lo, hi, cmap, label) in enumerate(limits):
            ax = axes[row, col]
            pc = ax.imshow(image["image"][:, :, col] * MPA, origin="lower", extent=extent, cmap=cmap, vmin=lo, vmax=hi,
                           interpolation="nearest")
            ax.plot(prof.x_m * UM, prof.y_m * UM, ".", color="k", ms=0.6)
            ax.set_aspect("equal")
            ax.set_ylim(10, 30)
            ax.set_title(f"{name}: {label} (max von Mises {metrics['von_mises_max_Pa'] * MPA:.3g} MPa)", fontsize=9)
            fig.colorbar(pc, ax=ax, label=label, shrink=0.8, extend="both")
    for name, (_, prof, metrics) in data.items():
        axes[2, 0].plot(prof.x_m * UM, -prof.normal_stress_Pa * MPA, ".", ms=1.5,
                        label=f"{name}: mean {-metrics['interface_normal_stress_mean_Pa'] * MPA:.3g}, CV "
                              f"{metrics['interface_normal_stress_cv']:.2f}")
        axes[2, 1].plot(prof.x_m * UM, prof.shear_stress_Pa * MPA, ".", ms=1.5,
                        label=f"{name}: max |tau| {metrics['interface_shear_stress_max_abs_Pa'] * MPA:.3g}")
    axes[2, 0].set_ylabel(r"$-\sigma_n$ on the interface [MPa]")
    axes[2, 0].set_ylim(0, 15)
    axes[2, 1].set_ylabel(r"shear $\tau$ on the interface [MPa]")
    axes[2, 1].set_ylim(-8, 8)
    for ax in axes[2]:
        ax.set_xlabel("x [µm]")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Rough Li/PLL interface with voids under 2.4 MPa: bonded vs frictionless contact")
    fig.savefig(path, dpi=75)
    print(path)
    for name, (_, _, m) in data.items():
        print(name, {k: f"{v:.4g}" for k, v in m.items()})


if __name__ == "__main__":
    main()
