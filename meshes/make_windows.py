"""Make the example windows WITHOUT an electrode: a composite (LLZO particles in PLL, a few pores)
and a porous electrolyte (PLL with pores), small synthetic FIB-SEM-like images with known truth.

    python meshes/make_windows.py      # images, label images, sidecars

Reproducible (every random choice seeded). 160 x 320 px at 50 nm (8 x 16 um). Files per window:
``<name>.png`` (grey: blur, shading, curtains, noise), ``<name>_labels.png`` (truth: 0 void,
2 electrolyte, 3 particle) and ``<name>.json`` (sidecar: pixel size, phases, the true phase
fractions). The scenarios ``scenarios/composite_window.toml`` and
``scenarios/porous_electrolyte.toml`` segment the grey images without hints but the phases.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from ecmsim.geometry import image as img  # noqa: E402
from ecmsim.geometry import synthetic as syn  # noqa: E402

PIXEL_SIZE_M = 50e-9
HEIGHT_PX, WIDTH_PX = 160, 320


def windows() -> dict[str, tuple[np.ndarray, dict[int, float], dict]]:
    """name -> (labels, grey level per phase code, sidecar extras)."""
    shape = (HEIGHT_PX, WIDTH_PX)
    composite = np.full(shape, img.ELECTROLYTE, np.uint8)
    composite[syn.disks(shape, 0.25, (8, 14), 21)] = img.PARTICLE
    composite[syn.disks(shape, 0.04, (4, 6), 22, within=composite == img.ELECTROLYTE)] = img.VOID
    porous = np.full(shape, img.ELECTROLYTE, np.uint8)
    porous[syn.disks(shape, 0.10, (4, 9), 23)] = img.VOID
    return {
        "composite_window": (composite, {img.VOID: 40, img.ELECTROLYTE: 110, img.PARTICLE: 170}, {
            "description": "LLZO particles in PLL with a few pores, no electrode (synthetic FIB-SEM)",
            "phases": ["void", "electrolyte", "particle"],
            "materials": {"electrolyte": "PLL", "particle": "LLZO"}}),
        "porous_electrolyte": (porous, {img.VOID: 60, img.ELECTROLYTE: 130}, {
            "description": "porous PLL, no electrode (synthetic FIB-SEM)",
            "phases": ["void", "electrolyte"], "materials": {"electrolyte": "PLL"}}),
    }


def make(name: str, labels: np.ndarray, grey_levels: dict[int, float], extras: dict, seed: int) -> None:
    grey = syn.render_phases(labels, grey_levels, seed=seed, noise_sigma=15.0)
    syn.save_png(HERE / f"{name}.png", grey)
    syn.save_png(HERE / f"{name}_labels.png", labels)
    truth = {n: round(float((labels == k).mean()), 5) for n, k in img.PHASE_NAMES.items() if (labels == k).any()}
    sidecar = {"image": f"{name}.png", "pixel_size_m": PIXEL_SIZE_M, **extras,
               "label_image": f"{name}_labels.png",
               "label_values": {n: int(k) for n, k in img.PHASE_NAMES.items() if n in truth},
               "phase_fraction_true": truth, "generated_by": "meshes/make_windows.py", "seed": seed}
    (HERE / f"{name}.json").write_text(json.dumps(sidecar, indent=2) + "\n")
    print(f"{name}: {labels.shape[1]} x {labels.shape[0]} px, true fractions {truth}")


def main() -> None:
    for seed, (name, (labels, levels, extras)) in enumerate(windows().items(), start=31):
        make(name, labels, levels, extras, seed)


if __name__ == "__main__":
    main()
