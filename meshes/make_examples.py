"""Make the example FIB-SEM-like images of meshes/ and the meshes made from them.

    python meshes/make_examples.py            # images, sidecars, label images, meshes, previews

Reproducible: every scene is fixed here and every random choice is seeded, so running it again
rewrites the same files. Each example is 960 x 480 pixels at 50 nm (48 x 24 um, wider than the
reference paper's 40 um window, which the scenarios crop), electrode (Li or Li-Sn) on top of
the PLL electrolyte:

- ``li_pll_pristine``: before cycling: flat, conformal interface, no voids.
- ``li_pll_cycled``: Li/PLL after cycling: rough interface, interfacial voids, closed voids in
  the Li (one cut by the window's left edge), Li filaments reaching into the PLL, dead-Li islands.
- ``li_sn_pll_cycled``: Li-Sn/PLL after cycling: conformal, small uniform roughness; the Li22Sn5
  network shows faintly in the electrode.

Files per example: ``<name>.png`` (the grey image), ``<name>.json`` (sidecar: pixel size,
phases, label values), ``<name>_labels.png`` (true phases: 0 void, 1 electrode, 2
electrolyte), ``<name>.msh`` + ``<name>.report.json`` + ``<name>.preview.png`` (the mesh of
the central 40 um window, with its report and a picture of it over the image).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from ecmsim.geometry import image as img  # noqa: E402
from ecmsim.geometry import synthetic as syn  # noqa: E402
from ecmsim.mesh import MeshOptions  # noqa: E402
from ecmsim.mesh.report import write_mesh_files  # noqa: E402

PIXEL_SIZE_M = 50e-9
HEIGHT_PX, WIDTH_PX = 480, 960
WINDOW_WIDTH_M = 40e-6          # the reference paper's window
MESH = MeshOptions(size_m=1.0e-6, interface_size_m=0.2e-6)  # 20 px and 4 px


def scenes() -> dict[str, tuple[syn.Scene, syn.Look, dict]]:
    """name -> (scene, look, sidecar extras)."""
    mid = HEIGHT_PX / 2
    pristine = syn.Scene(HEIGHT_PX, WIDTH_PX, syn.rough_rows(WIDTH_PX, mid, 0.6, 80, seed=11))
    cycled = syn.Scene(
        HEIGHT_PX, WIDTH_PX, syn.rough_rows(WIDTH_PX, mid, 8.0, 40, seed=12),
        interfacial_voids=[(70, 46, 14), (190, 70, 22), (330, 30, 10), (455, 56, 18), (600, 40, 12),
                           (735, 64, 20), (880, 36, 12)],
        closed_voids=[(82, 110, 14, 9, 0.0), (260, 90, 12, 6, 0.4), (520, 150, 9, 7, 0.0), (800, 110, 16, 5, -0.3)],
        islands=[(380, 380, 11, 6, 0.2), (660, 420, 8, 5, 0.0)],
        filaments=[(262, 8, 46), (540, 8, 60), (820, 8, 34)])
    li_sn = syn.Scene(HEIGHT_PX, WIDTH_PX, syn.rough_rows(WIDTH_PX, mid, 2.0, 20, seed=13))
    look = syn.Look()
    return {
        "li_pll_pristine": (pristine, look, {
            "description": "Li / PLL before cycling: flat, conformal interface (synthetic FIB-SEM)",
            "phases": ["electrode", "electrolyte"], "materials": {"electrode": "Li", "electrolyte": "PLL"}}),
        "li_pll_cycled": (cycled, look, {
            "description": "Li / PLL after 3 cycles: rough interface, interfacial and closed voids, Li filaments, "
                           "dead-Li islands (synthetic FIB-SEM)",
            "phases": ["void", "electrode", "electrolyte"], "materials": {"electrode": "Li", "electrolyte": "PLL"}}),
        "li_sn_pll_cycled": (li_sn, syn.Look(alloy_contrast=15.0), {
            "description": "Li-Sn / PLL after 3 cycles: conformal, small uniform roughness (synthetic FIB-SEM)",
            "phases": ["electrode", "electrolyte"], "materials": {"electrode": "LiSn", "electrolyte": "PLL"}}),
    }


def make(name: str, scene: syn.Scene, look: syn.Look, extras: dict, seed: int) -> dict:
    labels = scene.labels()
    grey = syn.render(labels, look, seed=seed)
    syn.save_png(HERE / f"{name}.png", grey)
    syn.save_png(HERE / f"{name}_labels.png", labels)
    sidecar = {
        "image": f"{name}.png",
        "pixel_size_m": PIXEL_SIZE_M,
        "electrode_side": "top",
        **extras,
        "label_image": f"{name}_labels.png",
        "label_values": {"void": img.VOID, "electrode": img.ELECTRODE, "electrolyte": img.ELECTROLYTE},
        "window_width_m": WINDOW_WIDTH_M,
        "generated_by": "meshes/make_examples.py",
        "seed": seed,
    }
    (HERE / f"{name}.json").write_text(json.dumps(sidecar, indent=2) + "\n")
    options = img.options_with_sidecar(HERE / f"{name}.png", window_width_m=WINDOW_WIDTH_M)
    result = img.image_to_geometry(HERE / f"{name}.png", options)
    report = write_mesh_files(result.geometry, MESH, HERE / f"{name}.msh", result.grey, result.info["pixels"],
                              title=f"{name}: {extras['description']}", decisions=result.info)
    return report


def main() -> None:
    for seed, (name, (scene, look, extras)) in enumerate(scenes().items(), start=1):
        r = make(name, scene, look, extras, seed)
        print(f"{name}: {r['cells']} triangles, min angle {r['min_angle_deg']:.1f} deg, "
              f"void fraction {r['void_area_fraction']:.4f} (image {r['image']['void_area_fraction']:.4f}), "
              f"interface {r['interface_length_m'] * 1e6:.2f} um (image {r['image']['interface_length_m'] * 1e6:.2f}), "
              f"geometric contact fraction {r['interface_contact_fraction_geometric']:.3f}")


if __name__ == "__main__":
    main()
