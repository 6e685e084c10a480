"""``ecmsim mesh IMAGE --pixel-size 20nm -o OUT``: a FIB-SEM image to a tagged gmsh mesh.

Writes ``OUT`` (``.msh``; a folder gets ``<image name>.msh``), the mesh report
``<name>.report.json`` and a preview ``<name>.preview.png`` of the mesh over the image. Values
missing on the command line come from the image's sidecar JSON (``<image>.json``: pixel_size_m,
phases, electrode_side). Lengths take a unit: ``20nm``, ``0.5um`` (or ``µm``), ``1e-6m``.
Only the standard library is imported here; the work happens in the handler.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

#: Length units accepted on the command line, in metres.
UNITS = {"nm": 1e-9, "um": 1e-6, "µm": 1e-6, "μm": 1e-6, "mm": 1e-3, "m": 1.0}

#: Plausible pixel edges [m]: from an atom's size to a millimetre.
PIXEL_RANGE_M = (1e-10, 1e-3)

#: Default mesh sizes in pixels of the image (see docs/geometry.md).
SIZE_PX, INTERFACE_SIZE_PX = 25.0, 5.0


def register(subparsers) -> None:
    p = subparsers.add_parser("mesh", help="mesh a FIB-SEM image (or label image) into tagged regions",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("image", help="PNG or TIFF (8/16 bit, grey or RGB), or a label image with --labels")
    p.add_argument("--pixel-size", help="edge of one pixel, e.g. 20nm (default: from <image>.json)")
    p.add_argument("-o", "--out", help="output .msh file or folder (default: <image name>.msh here)")
    seg = p.add_argument_group("segmentation")
    seg.add_argument("--phases", help="grey phases dark to bright, e.g. void,electrode,electrolyte, or "
                                      "void,electrolyte,particle (default: found from the image)")
    seg.add_argument("--levels", help="grey thresholds between the phases, e.g. 70,130 (needs --phases)")
    seg.add_argument("--labels", help="the image is a label image: phase=value pairs, "
                                      "e.g. void=0,electrode=1,electrolyte=2")
    seg.add_argument("--electrode-side", choices=("auto", "top", "bottom"), help="where the electrode is")
    seg.add_argument("--median-px", type=int, help="median filter size [px] (default 5)")
    seg.add_argument("--median", help="median filter size as a length, e.g. 250nm (the same at any resolution; "
                                      "overrides --median-px)")
    seg.add_argument("--thin-part", help="parts thinner than this length go to their neighbours, e.g. 150nm "
                                         "(default 3 px)")
    seg.add_argument("--min-feature-px", type=int, help="clean pieces smaller than this squared [px] (default 4)")
    seg.add_argument("--min-feature", help="clean pieces smaller than this length squared, e.g. 200nm "
                                           "(physical: the same at any resolution; overrides --min-feature-px)")
    seg.add_argument("--method", choices=("auto", "histogram", "mixture", "texture"),
                     help="grey classes from histogram peaks, a Gaussian mixture, texture (a polymer with "
                          "particles is one phase), or auto (default)")
    seg.add_argument("--particles", action="store_true",
                     help="keep the particles of a composite electrolyte as 'particle' regions (LLZTO in PLL)")
    seg.add_argument("--scribbles", help="sparse label image (0 unmarked, k = k-th of --phases) training a "
                                         "pixel classifier")
    seg.add_argument("--label-map", help="label or probability map from ilastik / Weka (TIFF, HDF5); "
                                         "value k = k-th of --phases")
    seg.add_argument("--tolerance-px", type=float, help="contour simplification tolerance [px] (default 1)")
    seg.add_argument("--min-radius", help="round the contours' corners to this curvature radius, e.g. 2um "
                                          "(areas kept; default: corners as the pixels give them)")
    seg.add_argument("--no-flatten", action="store_true", help="no curtaining/charging correction")
    win = p.add_argument_group("crop window (x from the image's left edge, y from its top)")
    win.add_argument("--window", help="window width, e.g. 40um (default: the whole image)")
    win.add_argument("--window-height", help="window height (default: the whole image)")
    win.add_argument("--window-x", help="left edge of the window (default: centred)")
    win.add_argument("--window-y", help="top edge of the window (default: 0)")
    msh = p.add_argument_group("mesh sizes")
    msh.add_argument("--size", help=f"element size away from the interface (default {SIZE_PX:g} px)")
    msh.add_argument("--interface-size", help=f"element size at interface and voids (default {INTERFACE_SIZE_PX:g} px)")
    msh.add_argument("--tip-size", help="element size at void tips (default half the interface size)")
    msh.add_argument("--refine-distance", help="width of the refined band (default 10 interface sizes)")
    msh.add_argument("--max-cells", type=int, default=2_000_000, help="refuse larger meshes (default 2e6)")
    p.add_argument("--no-preview", action="store_true", help="do not draw the preview PNG")
    p.add_argument("--overwrite", action="store_true",
                   help="replace OUT (and its .report.json, .preview.png) even if ecmsim did not write them")
    stk = p.add_argument_group("3D stacks (a multi-page TIFF or a folder of slices)")
    stk.add_argument("--slice-spacing", help="distance between slices, e.g. 20nm: the input is a stack and "
                                             "the mesh tetrahedral")
    stk.add_argument("--voxel-factor", type=int, default=1, help="coarsen voxels by this factor (default 1)")
    stk.add_argument("--no-align", action="store_true", help="do not correct slice drift")
    p.add_argument("--micrograph", help="with --labels: the grey micrograph the label image was made from, "
                                        "drawn under the mesh in the preview (default: the labels)")
    p.set_defaults(handler=_mesh)


def parse_length(text: str | None, what: str) -> float | None:
    """Metres from ``20nm``, ``0.5 um``, ``1e-6m``; None stays None. Raises InputFileError."""
    from ecmsim.core.errors import InputFileError

    if text is None:
        return None
    m = re.fullmatch(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([a-zA-Zµμ]*)\s*", text)
    if not m or m.group(2) not in UNITS:
        raise InputFileError(f"{what} = {text!r}: expected a number with a unit ({', '.join(UNITS)}), e.g. 20nm")
    value = float(m.group(1)) * UNITS[m.group(2)]
    if not 0 < value < 1.0:
        raise InputFileError(f"{what} = {text!r}: must be > 0 and < 1 m")
    return value


def _mesh(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    from ecmsim.core.errors import InputFileError
    from ecmsim.geometry import image as img
    from ecmsim.geometry.image.pipeline import rounding_line
    from ecmsim.mesh import MeshOptions, estimated_cells
    from ecmsim.mesh.report import write_mesh_files
    from ecmsim.io.folders import result_files
    from ecmsim.core.figures import plain_text
    from ecmsim.scenario.guards import PLAUSIBLE_PIXEL_M, pixel_warning

    start = time.perf_counter()
    if args.slice_spacing:
        return _mesh_stack(args, start)
    given = {
        "pixel_size_m": parse_length(args.pixel_size, "--pixel-size"),
        "phases": tuple(_items(args.phases)) if args.phases else None,
        "levels": tuple(_numbers(args.levels, "--levels")) if args.levels else None,
        "label_values": _label_values(args.labels) if args.labels else None,
        "electrode_side": args.electrode_side,
        "window_width_m": parse_length(args.window, "--window"),
        "window_height_m": parse_length(args.window_height, "--window-height"),
        "window_x_m": _position(args.window_x, "--window-x"),
        "window_y_m": _position(args.window_y, "--window-y"),
        "median_px": args.median_px,
        "min_feature_px": args.min_feature_px,
        "tolerance_px": args.tolerance_px,
        "min_radius_m": parse_length(args.min_radius, "--min-radius"),
        "flatten": False if args.no_flatten else None,
        "min_feature_m": parse_length(args.min_feature, "--min-feature"),
        "median_m": parse_length(args.median, "--median"),
        "thin_part_m": parse_length(args.thin_part, "--thin-part"),
        "method": args.method,
        "particles": True if args.particles else None,
        "scribbles": args.scribbles,
        "label_map": args.label_map,
    }
    image = Path(args.image)
    options = img.options_with_sidecar(image, **given)
    px = options.pixel_size_m
    if not PIXEL_RANGE_M[0] <= px <= PIXEL_RANGE_M[1]:
        raise InputFileError(f"{image}: --pixel-size = {px:g} m: must be in {PIXEL_RANGE_M[0]:g} ... "
                             f"{PIXEL_RANGE_M[1]:g} m (an atom to a millimetre per pixel)")
    unlikely = [pixel_warning(px, "--pixel-size")] if px > PLAUSIBLE_PIXEL_M else []
    for line in unlikely:
        print(f"ecmsim: {line}", file=sys.stderr, flush=True)
    result = img.image_to_geometry(image, options)
    result.info.setdefault("warnings", []).extend(w.removeprefix("warning: ") for w in unlikely)  # the report
    size = parse_length(args.size, "--size") or SIZE_PX * px
    fine = parse_length(args.interface_size, "--interface-size") or min(INTERFACE_SIZE_PX * px, size)
    _check_sizes(result.geometry, size, fine, parse_length(args.tip_size, "--tip-size"))
    mesh_options = MeshOptions(size, fine, parse_length(args.refine_distance, "--refine-distance"),
                               args.max_cells, parse_length(args.tip_size, "--tip-size"))
    out = _out_path(args.out, image)
    background = result.grey
    if background is None and args.micrograph:
        win = result.info["window_px"]
        background = img.to_grey(img.read_image(args.micrograph))
        if background.shape != tuple(result.info["image_shape_px"]):
            raise InputFileError(f"--micrograph {args.micrograph}: {background.shape[1]} x {background.shape[0]} px, "
                                 f"the label image is {result.info['image_shape_px'][1]} x "
                                 f"{result.info['image_shape_px'][0]} px")
        background = background[win["y0"]:win["y0"] + win["height"], win["x0"]:win["x0"] + win["width"]]
        background = background[::-1] if result.info["flipped"] else background
    if background is None:
        background = result.labels.astype(float)  # the segmentation the mesh follows
    names = [out.name, out.with_suffix(".preview.png").name]  # an old preview goes too with --no-preview
    print(f"meshing {image.name} (about {estimated_cells(result.geometry, mesh_options):.2g} triangles) ...",
          flush=True)
    report_name = out.with_suffix(".report.json").name
    with result_files(out.parent, names + [report_name], command="mesh", manifest=report_name,
                      overwrite=args.overwrite) as stage:
        report = write_mesh_files(result.geometry, mesh_options, stage / out.name, background, result.info["pixels"],
                                  preview=not args.no_preview,
                                  title=plain_text(f"{image.name}: {result.geometry.description}"),
                                  decisions=result.info)
    print(f"mesh     {out}  ({report['cells']} triangles, min angle {report['min_angle_deg']:.1f} deg)")
    print(f"report   {out.with_suffix('.report.json')}")
    if not args.no_preview:
        print(f"preview  {out.with_suffix('.preview.png')}")
    print(f"phases {', '.join(result.info['phases'])}; void fraction {report['void_area_fraction']:.4f} "
          f"(image {result.info['pixels']['void_area_fraction']:.4f}); interface {report['interface_length_m'] * 1e6:.2f} um; "
          f"geometric contact fraction {report['interface_contact_fraction_geometric']:.3f}; "
          f"{time.perf_counter() - start:.1f} s")
    for note in result.info.get("notes", []):
        print(f"note: {note}")
    if "corner_rounding" in result.info:
        print(rounding_line(result.info["corner_rounding"]))
    for warning in result.info.get("warnings", []):
        print(f"warning: {warning}")
    return 0


def _mesh_stack(args: argparse.Namespace, start: float) -> int:
    """The 3D route: stack -> aligned labels -> tetrahedra (see ecmsim.geometry.stack)."""
    import json
    import time
    from pathlib import Path

    from ecmsim.core.errors import InputFileError
    from ecmsim.geometry import stack as st
    from ecmsim.io.folders import result_files
    from ecmsim.mesh import voxel
    from ecmsim.scenario.guards import PLAUSIBLE_PIXEL_M, pixel_warning

    px = parse_length(args.pixel_size, "--pixel-size")
    if px is None:
        raise InputFileError("--pixel-size is needed for a stack (e.g. --pixel-size 20nm)")
    dz = parse_length(args.slice_spacing, "--slice-spacing")
    unlikely = [pixel_warning(px, "--pixel-size")] if px > PLAUSIBLE_PIXEL_M else []
    for line in unlikely:
        print(f"ecmsim: {line}", file=sys.stderr, flush=True)
    if not 1 <= args.voxel_factor <= 16:
        raise InputFileError(f"--voxel-factor {args.voxel_factor}: must be from 1 to 16")
    image = Path(args.image)
    out = _out_path(args.out, image)
    report_path = out.with_suffix(".report.json")
    # the output is checked first: a refusal comes before minutes of segmentation and meshing
    with result_files(out.parent, [out.name, report_path.name], command="mesh", manifest=report_path.name,
                      overwrite=args.overwrite) as stage:
        volume = st.read_stack(image)
        extra = {"phases": tuple(_items(args.phases)) if args.phases else None,
                 "electrode_side": args.electrode_side, "median_px": args.median_px,
                 "flatten": False if args.no_flatten else None}
        extra = {k: v for k, v in extra.items() if v is not None}
        res = st.segment_stack(volume, px, dz, label_values=_label_values(args.labels) if args.labels else None,
                               do_align=not args.no_align, voxel_factor=args.voxel_factor, **extra)
        pts, tets, code, tri, names = voxel.voxel_tetra_mesh(res.labels, res.voxel_size_m)
        if len(tets) > args.max_cells:
            raise InputFileError(f"{len(tets)} tetrahedra > --max-cells {args.max_cells}: raise --voxel-factor")
        ids = voxel.write_msh(stage / out.name, pts, tets, code, tri, names)
        report = {"mesh_file": out.name, "files": [out.name], "dimension": 3,
                  "voxel_size_m": list(res.voxel_size_m),
                  **voxel.interface_metrics_3d(pts, tets, code, tri, names, res.voxel_size_m),
                  "tags": ids, "segmentation": res.info, "seconds": round(time.perf_counter() - start, 2),
                  "warnings": unlikely}
        (stage / report_path.name).write_text(json.dumps(report, indent=2, default=float) + "\n")
    print(f"mesh     {out}  ({len(tets)} tetrahedra, {len(pts)} vertices)")
    print(f"report   {report_path}")
    drift = res.info.get("alignment", {}).get("max_drift_px")
    print(f"phases {', '.join(res.info['phases'])}; void fraction {report['void_volume_fraction']:.4f}; "
          f"drift corrected up to {drift if drift is not None else 0:.1f} px; {report['seconds']:.1f} s")
    return 0


def _out_path(given: str | None, image) -> Path:
    """``-o``: a ``.msh`` file, or a folder to write ``<image name>.msh`` into (default: here)."""
    from pathlib import Path

    from ecmsim.core.errors import InputFileError

    out = Path(given) if given else Path(image.stem + ".msh")
    if out.suffix != ".msh":
        if out.exists() and not out.is_dir():
            raise InputFileError(f"-o {out}: give a .msh file name or a folder")
        out = out / (image.stem + ".msh")
    return out


def _check_sizes(geometry, size: float, fine: float, tip: float | None) -> None:
    """Mesh sizes that make sense for this window: the same rules as a scenario's [mesh]."""
    from ecmsim.core.errors import InputFileError

    limit = 0.5 * min(geometry.width_m, geometry.height_m)
    if size > limit:
        raise InputFileError(f"--size = {size:g} m: must be <= half the window's smaller side ({limit:g} m); "
                             "larger elements cannot follow the window and come out as slivers")
    for what, value in (("--interface-size", fine), ("--tip-size", tip)):
        if value is not None and value > size:
            raise InputFileError(f"{what} = {value:g} m: must be <= the element size --size ({size:g} m): it "
                                 "refines the mesh, it cannot coarsen it")


def _items(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _numbers(text: str, what: str) -> list[float]:
    from ecmsim.core.errors import InputFileError

    try:
        return [float(t) for t in _items(text)]
    except ValueError:
        raise InputFileError(f"{what} = {text!r}: expected numbers separated by commas") from None


def _label_values(text: str) -> dict[str, int]:
    from ecmsim.core.errors import InputFileError

    out = {}
    for item in _items(text):
        name, _, value = item.partition("=")
        try:
            out[name.strip()] = int(value)
        except ValueError:
            raise InputFileError(f"--labels {text!r}: expected phase=integer pairs, e.g. void=0,electrode=1") from None
    return out


def _position(text: str | None, what: str) -> float | None:
    if text is not None and re.fullmatch(r"\s*0+(\.0*)?\s*[a-zA-Zµμ]*\s*", text):
        return 0.0  # a window may start at the image's edge
    return parse_length(text, what)
