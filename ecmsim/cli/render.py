"""``ecmsim render LABELS -o OUT.png``: a synthetic FIB-SEM image of a phase label image, with its truth.

Test segmentation settings against known phases: draw the grey image a FIB-SEM would show of your
own label image (or of a built-in scene of the reference cells), segment it with ``ecmsim mesh``
and compare with the truth. Writes ``OUT.png`` (the grey image), ``OUT_labels.png`` (the phase
truth: 0 void, 1 electrode, 2 electrolyte; particles part of the electrolyte), ``OUT_particles.png``
(the same with the particles as 3) and ``OUT.json`` (the sidecar: pixel size, true fractions, what
was drawn). See :mod:`ecmsim.geometry.fibsem` and docs/geometry.md. Only the standard library is
imported here; the work happens in the handler.
"""

from __future__ import annotations

import argparse

#: Built-in label images: name -> (function of ecmsim.geometry.fibsem, look).
SCENES = {"li_pll": ("plated_li_pll_labels", "li_pll"), "li_sn_pll": ("li_sn_pll_labels", "li_sn_pll")}


def register(subparsers) -> None:
    p = subparsers.add_parser("render", help="draw a synthetic FIB-SEM image of a label image (known truth)",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("labels", nargs="?", help="label image (PNG/TIFF of integer phase values; see --labels)")
    p.add_argument("-o", "--out", required=True, help="output grey image (.png)")
    p.add_argument("--labels", dest="label_values",
                   help="phase=value pairs of the label image (default void=0,electrode=1,electrolyte=2,particle=3)")
    p.add_argument("--scene", choices=sorted(SCENES), help="a built-in label image instead of LABELS: plated Li "
                                                          "over PLL, or Li-Sn over PLL")
    p.add_argument("--size", default="800x400", help="width x height of a --scene [px] (default 800x400)")
    p.add_argument("--look", choices=("li_pll", "li_sn_pll"), help="grey levels, particles and artefacts "
                                                                  "(default: the scene's, else li_pll)")
    p.add_argument("--strength", type=float, default=1.0,
                   help="artefact strength: rims, curtains, shading, noise (0 none, 1 the look's; default 1)")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same image; default 0)")
    p.add_argument("--pixel-size", default="50nm", help="pixel edge written to the sidecar (default 50nm)")
    p.add_argument("--overwrite", action="store_true", help="replace the outputs even if ecmsim did not write them")
    p.set_defaults(handler=_render)


def _render(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    import numpy as np

    from ecmsim.cli.mesh import parse_length
    from ecmsim.core.errors import InputFileError
    from ecmsim.geometry import fibsem as fs
    from ecmsim.geometry import image as img
    from ecmsim.geometry.synthetic import save_png
    from ecmsim.io.folders import result_files

    out = Path(args.out)
    if out.suffix.lower() != ".png":
        raise InputFileError(f"-o {out}: the grey image is written as PNG: give a name ending in .png")
    if not 0 <= args.strength <= 5:
        raise InputFileError(f"--strength {args.strength}: must be from 0 to 5")
    px = parse_length(args.pixel_size, "--pixel-size")
    if (args.scene is None) == (args.labels is None):
        raise InputFileError("give either a label image or --scene (one of them)")
    if args.scene:
        try:
            width, height = (int(v) for v in args.size.lower().split("x"))
        except ValueError:
            raise InputFileError(f"--size {args.size!r}: expected WIDTHxHEIGHT in pixels, e.g. 800x400") from None
        if not (32 <= width <= 8000 and 32 <= height <= 8000):
            raise InputFileError(f"--size {args.size}: width and height must be from 32 to 8000 px")
        function, look_name = SCENES[args.scene]
        labels = getattr(fs, function)(height, width, seed=args.seed)
        source = f"scene {args.scene}"
    else:
        data = img.read_image(args.labels)
        if args.label_values:
            values = _label_values(args.label_values)
        else:   # the phase codes, those that occur
            codes = np.unique(data[..., 0] if data.ndim == 3 else data)
            values = {n: k for n, k in img.PHASE_NAMES.items() if k in codes}
            if not values:
                raise InputFileError(f"{args.labels}: no phase code ({img.PHASE_NAMES}) occurs in the image: "
                                     f"give --labels")
        labels = img.labels_from_label_image(data, values, args.labels)
        look_name, source = "li_pll", str(args.labels)
    look = fs.LOOKS[args.look or look_name]
    r = fs.render(labels, look, strength=args.strength, seed=args.seed)
    stem = out.stem
    names = [out.name, f"{stem}_labels.png", f"{stem}_particles.png", f"{stem}.json"]
    truth = {name: round(float((r.labels == k).mean()), 5) for name, k in img.PHASE_NAMES.items()
             if (r.labels == k).any()}
    sidecar = {"image": out.name, "pixel_size_m": px, "label_image": names[1], "particle_label_image": names[2],
               "label_values": {n: k for n, k in img.PHASE_NAMES.items() if n in ("void", "electrode", "electrolyte")},
               "phase_fraction_true": truth,
               "particle_fraction_of_electrolyte": round(float(r.particles.sum() / max((r.labels == img.ELECTROLYTE).sum(), 1)), 5),
               "rendered_from": source, "look": args.look or look_name, "strength": args.strength, "seed": args.seed,
               "generated_by": "ecmsim render", "files": names}
    with result_files(out.parent, names, command="render", overwrite=args.overwrite) as stage:
        save_png(stage / names[0], r.grey)
        save_png(stage / names[1], r.labels)
        save_png(stage / names[2], r.labels_with_particles())
        (stage / names[3]).write_text(json.dumps(sidecar, indent=2) + "\n")
    print(f"image    {out}  ({labels.shape[1]} x {labels.shape[0]} px, strength {args.strength:g}, seed {args.seed})")
    print(f"truth    {out.parent / names[1]}  {', '.join(f'{k} {v:.3f}' for k, v in truth.items())}")
    print(f"sidecar  {out.parent / names[3]}")
    return 0


def _label_values(text: str) -> dict[str, int]:
    from ecmsim.cli.mesh import _label_values as parse

    return parse(text)
