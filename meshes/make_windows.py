"""Make the example windows WITHOUT an electrode: a composite (LLZO particles in PLL, a few pores)
and a porous electrolyte (PLL with pores), small synthetic FIB-SEM-like images with known truth.

    python meshes/make_windows.py      # images, label images, sidecars; the 3D stack li_pll_stack.tif

Also ``li_pll_plated`` (:func:`make_plated`): plated Li over PLL as the reference cell's FIB-SEM shows
it, the input of ``scenarios/li_pll_plated_particles.toml``.

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


def make_stack(name: str = "li_pll_stack", seed: int = 41) -> None:
    """A small FIB-SEM stack (8 slices of 48 x 64 px, 50 nm pixels, 100 nm slices) as a multi-page
    TIFF: Li over PLL with a wavy interface, an interfacial void through the middle slices and
    pores running along the stack, slice drift of up to a few pixels, noise; truth in
    ``<name>_labels.tif``, the drift put in in the sidecar."""
    import tifffile

    nz, ny, nx = 8, 48, 64
    z, y, x = np.mgrid[0:nz, 0:ny, 0:nx] + 0.5
    lab = np.where(y < 22 + 2 * np.sin(x / 6), img.ELECTRODE, img.ELECTROLYTE).astype(np.uint8)
    lab[((z - 4) ** 2 + (x - 32) ** 2 + (y - 22) ** 2 <= 7**2) & (y < 22)] = img.VOID
    for cx, cy, r in ((12, 36, 4.0), (46, 35, 4.5)):
        lab[(x - cx) ** 2 + (y - cy) ** 2 <= r**2] = img.VOID
    rng = np.random.default_rng(seed)
    drift = np.cumsum(rng.integers(-1, 2, (nz, 2)), axis=0)
    drift[0] = 0
    pad = np.pad(lab, ((0, 0), (6, 6), (6, 6)), mode="edge")
    grey = np.stack([syn.render_phases(np.roll(pad[k], tuple(drift[k]), axis=(0, 1)),
                                       {img.VOID: 40, img.ELECTRODE: 95, img.ELECTROLYTE: 165}, seed=seed + k,
                                       noise_sigma=10, shading=0, curtains=4) for k in range(nz)])
    tifffile.imwrite(HERE / f"{name}.tif", grey)
    tifffile.imwrite(HERE / f"{name}_labels.tif", pad)
    truth = {n: round(float((lab == k).mean()), 5) for n, k in img.PHASE_NAMES.items() if (lab == k).any()}
    sidecar = {"image": f"{name}.tif", "pixel_size_m": PIXEL_SIZE_M, "slice_spacing_m": 100e-9,
               "description": "Li / PLL stack: wavy interface, interfacial void, pores along z, slice drift "
                              "(synthetic FIB-SEM)", "phase_fraction_true": truth,
               "drift_px": drift.tolist(), "label_image": f"{name}_labels.tif",
               "generated_by": "meshes/make_windows.py", "seed": seed}
    (HERE / f"{name}.json").write_text(json.dumps(sidecar, indent=2) + "\n")
    print(f"{name}: {nz} slices of {nx + 12} x {ny + 12} px, true fractions {truth}")


def make_plated(name: str = "li_pll_plated", seed: int = 51) -> None:
    """Plated Li over PLL as the reference cell's FIB-SEM shows it (ecmsim.geometry.fibsem): Li
    and the polymer 10 grey levels apart, bright LLZTO particles on 19 % of the PLL, pores with
    bright rims, curtains, charging glow and noise; 800 x 400 px at 50 nm (the 40 um window).
    ``<name>_labels.png`` is the phase truth (particles in the electrolyte), ``<name>_particles.png``
    the same with the particles as 3. The same images as ``ecmsim render --scene li_pll --seed 51``."""
    from ecmsim.geometry import fibsem as fs

    labels = fs.plated_li_pll_labels(400, 800, seed=seed)
    r = fs.render(labels, fs.LI_PLL, strength=1.0, seed=seed)
    syn.save_png(HERE / f"{name}.png", r.grey)
    syn.save_png(HERE / f"{name}_labels.png", r.labels)
    syn.save_png(HERE / f"{name}_particles.png", r.labels_with_particles())
    truth = {n: round(float((r.labels == k).mean()), 5) for n, k in img.PHASE_NAMES.items() if (r.labels == k).any()}
    sidecar = {"image": f"{name}.png", "pixel_size_m": PIXEL_SIZE_M,
               "description": "plated Li over PLL (PEO-LiTFSI + LLZTO particles): Li and polymer of nearly one grey, "
                              "bright particles, rimmed pores (synthetic FIB-SEM, ecmsim.geometry.fibsem)",
               "label_image": f"{name}_labels.png", "particle_label_image": f"{name}_particles.png",
               "label_values": {"void": img.VOID, "electrode": img.ELECTRODE, "electrolyte": img.ELECTROLYTE},
               "phase_fraction_true": truth,
               "particle_fraction_of_electrolyte": round(float(r.particles.sum() / (r.labels == img.ELECTROLYTE).sum()), 5),
               "look": "li_pll", "strength": 1.0, "generated_by": "meshes/make_windows.py", "seed": seed}
    (HERE / f"{name}.json").write_text(json.dumps(sidecar, indent=2) + "\n")
    print(f"{name}: 800 x 400 px, true fractions {truth}")


def main() -> None:
    for seed, (name, (labels, levels, extras)) in enumerate(windows().items(), start=31):
        make(name, labels, levels, extras, seed)
    make_stack()
    make_plated()


if __name__ == "__main__":
    main()
