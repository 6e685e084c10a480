"""Cost and validity guards: refuse a scenario before anything is built, from its own numbers.

Meshing and solving are the expensive stages, and their cost follows from length scales the
scenario states directly: the window, the mesh sizes, and the finest feature of the geometry
(a sinusoid's vertex spacing, the sample spacing of a rough profile, the number of voids or
filaments). :func:`estimate` turns these into an estimated triangle count and memory without
generating a profile or touching gmsh; :func:`check_scenario` refuses a scenario whose estimate
exceeds ``mesh.max_cells`` or the machine's memory, and one whose stack pressure takes the
materials out of the small-strain range the elasticity model assumes. Everything here is
arithmetic on the validated scenario: it runs in microseconds.

The estimate (measured against gmsh in tests/test_guards.py: 1.1-2.2 times gmsh's count on the
shipped scenarios and on steep, finely rough or many-void variants of them):

- coarse cells: window area / (sqrt(3)/4 size_m^2), an equilateral mesh at ``mesh.size_m``;
- refined band: the size grows linearly from interface_size_m (h_f) to size_m (h) over the refine
  distance d, so each side of a refined line of length L holds about L d / (sqrt(3)/4 h_f h)
  triangles, capped by the band around the interface relief;
- features: every polyline vertex, and every interface_size_m along the line, starts a row of
  triangles on each side: 4 (vertices + L / h_f); a sinusoid has 64 vertices per wavelength, a
  rough profile 16 per correlation length (at most 65536), with the length L from the expected
  height step between samples;
- voids and filaments: 200 triangles each for their tips and arcs.

Enough to refuse the 10^7-10^11 triangle requests (``geometry.wavelength_m = 1e-9``,
``geometry.correlation_length_m = 1e-12``) in well under a second instead of after minutes.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

#: Triangles per void or filament (tips, arcs) beyond the refined band.
CELLS_PER_FEATURE = 200

#: Bytes per triangle of a solved problem, by element degree: mesh + dofs + direct-solver
#: fill-in (measured ~0.6, 1.5, 3.5 kB per triangle with MUMPS on the shipped scenarios, rounded up).
BYTES_PER_CELL = {1: 1_000, 2: 2_500, 3: 6_000}

#: Largest nominal strain p / M accepted by the small-strain (linear) elasticity model [-].
MAX_NOMINAL_STRAIN = 0.05

_TRI = math.sqrt(3) / 4


@dataclass
class Estimate:
    """Estimated mesh size and memory of a scenario, and the key that dominates it."""

    cells: float
    memory_bytes: float
    driver: str  # "key = value" that sets the finest length scale
    parts: dict[str, float] = field(default_factory=dict)


def estimate(scn) -> Estimate | None:
    """Cells and memory of a validated :class:`~ecmsim.scenario.Scenario` (None for images:
    their geometry is known only once the image is read; mesh.py checks those)."""
    g, m = scn.geometry, scn.mesh
    if g.kind in ("image", "image_stack"):
        return None
    width, height = g.width_m, g.electrode_thickness_m + g.electrolyte_thickness_m
    size = m.size_m
    fine = min(m.interface_size_m or size, size)
    distance = m.refine_distance_m or 10 * fine
    length, vertices, relief, feature_key = width, 2, 0.0, f"mesh.size_m = {size:g}"
    features = 0
    if g.kind == "sinusoidal":
        n = max(8, math.ceil(64 * width / g.wavelength_m))
        slope = 2 * math.pi * g.amplitude_m / g.wavelength_m
        length, vertices, relief = width * math.sqrt(1 + 0.5 * slope**2), n + 1, 2 * g.amplitude_m
        feature_key = f"geometry.wavelength_m = {g.wavelength_m:g}"
    if g.kind in ("rough", "voids", "filaments") and g.rms_height_m > 0:
        length, vertices = _rough_polyline(width, g.rms_height_m, g.correlation_length_m, g.spectrum,
                                           g.hurst_exponent)
        relief = 8 * g.rms_height_m
        feature_key = f"geometry.correlation_length_m = {g.correlation_length_m:g}"
    refined = length
    if g.kind == "voids":
        features = max(1, round(g.void_fraction * width / g.void_width_mean_m))
        refined += g.void_fraction * width * (1 + g.void_aspect_ratio)
        relief += g.void_aspect_ratio * g.void_width_mean_m * (1 + 3 * g.void_width_cv)
        if CELLS_PER_FEATURE * features > 4 * vertices:
            feature_key = f"geometry.void_width_mean_m = {g.void_width_mean_m:g}"
    if g.kind == "filaments":
        features = g.filament_count
        refined += 2 * g.filament_count * g.filament_length_m
        relief += g.filament_length_m
    parts = {"coarse": width * height / (_TRI * size**2), "refined_band": 0.0,
             "features": 4 * (vertices + length / fine) + CELLS_PER_FEATURE * features}
    if fine < size:
        # size grows linearly from fine to size over the distance: int_0^d dx / h(x)^2 = d / (fine size)
        # per unit length and side, but no more than the band around the relief holds
        band = 2 * refined * distance / (_TRI * fine * size)
        parts["refined_band"] = min(band, width * min(height, relief + 2 * distance) / (_TRI * fine**2))
    keys = {"coarse": f"mesh.size_m = {size:g}", "refined_band": f"mesh.interface_size_m = {fine:g}",
            "features": feature_key}
    driver = keys[max(parts, key=parts.get)]
    cells = sum(parts.values())
    return Estimate(cells, cells * BYTES_PER_CELL.get(scn.solver.element_degree, 6_000), driver, parts)


def _rough_polyline(width: float, rms: float, xi: float, spectrum: str, hurst: float) -> tuple[float, float]:
    """Length and vertex count of :func:`ecmsim.geometry.generators.rough_profile`'s polyline
    (same sample count), from the expected height step between neighbouring samples."""
    n = int(min(2**16, max(256, math.ceil(16 * width / xi))))
    dx = width / n
    r = (dx / xi) ** (2 if spectrum == "gaussian" else 2 * hurst)
    step = rms * math.sqrt(2 * -math.expm1(-r))  # rms of h(x + dx) - h(x)
    return n * math.hypot(dx, step), n + 1


def physical_memory_bytes() -> float:
    """Installed memory of this machine (inf when unknown)."""
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return math.inf


def check_scenario(scn) -> None:
    """Raise ValueError (the schema's way: one line, named key) for a scenario that would
    exceed ``mesh.max_cells`` or the memory, or leave the small-strain range."""
    depth = getattr(scn.geometry, "depth_m", None)
    if depth is not None:
        element = min(scn.mesh.interface_size_m or scn.mesh.size_m, scn.mesh.size_m)
        if depth < element:
            raise ValueError(f"geometry.depth_m = {depth:g} m is thinner than one element (mesh size {element:g} m): "
                             "a 3D window needs at least one element through its depth; use a larger depth_m, or "
                             "remove depth_m for a 2D (plane strain) window")
    est = estimate(scn)
    if est is not None:
        if est.cells > scn.mesh.max_cells:
            raise ValueError(f"{est.driver} m gives about {est.cells:.2g} triangles (limit mesh.max_cells = "
                             f"{scn.mesh.max_cells}), estimated before meshing: use a larger mesh size or length "
                             "scale, or raise mesh.max_cells if the machine can take it")
        memory = physical_memory_bytes()
        if est.memory_bytes > memory:
            raise ValueError(f"{est.driver} m gives about {est.cells:.2g} triangles, about "
                             f"{est.memory_bytes / 2**30:.3g} GiB at solver.element_degree = "
                             f"{scn.solver.element_degree}, more than this machine's {memory / 2**30:.3g} GiB: "
                             "coarsen that length scale")
    strain, region, modulus = nominal_strain(scn)
    if strain > MAX_NOMINAL_STRAIN:
        raise ValueError(f"loading.stack_pressure_Pa = {scn.loading.stack_pressure_Pa:g} compresses the {region} by "
                         f"about {100 * strain:.3g} % (p / M, M = E(1-nu)/((1+nu)(1-2nu)) = {modulus:.3g} Pa), beyond "
                         f"the {100 * MAX_NOMINAL_STRAIN:g} % small-strain range of the linear elasticity model: "
                         f"lower it below {MAX_NOMINAL_STRAIN * modulus:.3g} Pa or check the material's "
                         "youngs_modulus_Pa")


def constrained_modulus(youngs_modulus_Pa: float, poissons_ratio: float) -> float:
    """P-wave (oedometric) modulus M = E(1-nu)/((1+nu)(1-2nu)) [Pa]: stress / strain of a layer
    compressed between rollers, which is what the stack-pressure window is."""
    nu = poissons_ratio
    return youngs_modulus_Pa * (1 - nu) / ((1 + nu) * (1 - 2 * nu))


def nominal_strain(scn) -> tuple[float, str, float]:
    """Largest layer strain p / M over the regions, its region and M [-, name, Pa]."""
    worst = (0.0, "", math.inf)
    for region, mat in scn.materials.resolve().items():
        modulus = constrained_modulus(mat.youngs_modulus_Pa, mat.poissons_ratio)
        strain = scn.loading.stack_pressure_Pa / modulus
        if strain > worst[0]:
            worst = (strain, region, modulus)
    return worst


# --------------------------------------------------------------------------------- plausibility

#: Legal but unlikely values: (what, lowest plausible, highest plausible, a likely slip). Each is
#: a warning, never a refusal: the value may be meant (a cryogenic test, a millimetre window).
PLAUSIBLE_STACK_PRESSURE_PA = (1e3, 1e9)      # solid-state cells: 0.1 ... 100 MPa
PLAUSIBLE_TEMPERATURE_K = (200.0, 600.0)       # the cells run at 250 ... 400 K; Li melts at 453.7 K
PLAUSIBLE_WINDOW_M = 1e-3                      # an interface window: micrometres, not millimetres
PLAUSIBLE_PIXEL_M = 1e-6                       # FIB-SEM pixels: nanometres
PLAUSIBLE_GRATING_LENGTH_M = (1e-4, 0.1)       # gratings are millimetres long
PLAUSIBLE_FIBRE_TEMPERATURE_K = (200.0, 600.0)
#: Lowest Nitsche parameter gamma_0 tried for a creeping body in contact. The error of the Nitsche facet
#: stress enters the gap as dp/gamma, so with a small gamma_0 the pressure rests on the facet stress rather than on
#: the gap. With the creep strain as a cell mean on the facets the Li read-out window ran away at gamma_0 = 1; with
#: its DG1 fit (the points' stress extrapolated) it runs three cycles at 1 (docs/contact.md, "Nitsche parameter").
#: Below 1 nothing has been tried.
MIN_CREEP_NITSCHE_PARAMETER = 1.0


def plausibility_warnings(scn) -> list[str]:
    """Warnings (``warning: ...`` lines) for legal but unlikely values of a validated scenario,
    each naming the key, the value and the slip it may be (MPa read as Pa, °C as K, mm as m)."""
    out: list[str] = []
    p = scn.loading.stack_pressure_Pa
    if p < PLAUSIBLE_STACK_PRESSURE_PA[0]:
        out.append(f"warning: loading.stack_pressure_Pa = {p:g} Pa is below {PLAUSIBLE_STACK_PRESSURE_PA[0]:g} Pa "
                   f"(1 kPa): the key is in pascals; did you mean {p:g} MPa = {p * 1e6:g} Pa?")
    elif p > PLAUSIBLE_STACK_PRESSURE_PA[1]:
        out.append(f"warning: loading.stack_pressure_Pa = {p:g} Pa is above {PLAUSIBLE_STACK_PRESSURE_PA[1]:g} Pa "
                   "(1 GPa): more than any cell stack holds")
    t = scn.loading.temperature_K
    if t < PLAUSIBLE_TEMPERATURE_K[0]:
        out.append(f"warning: loading.temperature_K = {t:g} K is below {PLAUSIBLE_TEMPERATURE_K[0]:g} K: the key is "
                   f"in kelvin; did you mean {t:g} °C = {t + 273.15:g} K?")
    elif t > PLAUSIBLE_TEMPERATURE_K[1]:
        out.append(f"warning: loading.temperature_K = {t:g} K is above {PLAUSIBLE_TEMPERATURE_K[1]:g} K: beyond "
                   "where the materials' data hold (lithium melts at 453.7 K)")
    g = scn.geometry
    width = getattr(g, "width_m", None)
    if isinstance(width, float) and g.kind not in ("fbg_cell",) and width > PLAUSIBLE_WINDOW_M:
        out.append(f"warning: geometry.width_m = {width:g} m is above {PLAUSIBLE_WINDOW_M * 1e3:g} mm: an interface "
                   f"window is micrometres wide (did you mean {width:g} mm = {width * 1e-3:g} m?); meshing it at "
                   f"mesh.size_m = {scn.mesh.size_m:g} m takes long")
    pixel = getattr(g, "pixel_size_m", None)
    if isinstance(pixel, float) and pixel > PLAUSIBLE_PIXEL_M:
        out.append(pixel_warning(pixel, "geometry.pixel_size_m"))
    gamma0 = scn.interface.nitsche_parameter
    if gamma0 < MIN_CREEP_NITSCHE_PARAMETER and _creeps_in_contact(scn):
        out.append(f"warning: interface.nitsche_parameter = {gamma0:g} is below {MIN_CREEP_NITSCHE_PARAMETER:g} with a "
                   "creeping body in contact, lower than any value tried: the contact pressure then rests on the "
                   "facet stress more than on the gap (docs/contact.md, \"Nitsche parameter\")")
    return out


def _creeps_in_contact(scn) -> bool:
    """A protocol run with a contact interface and a material that creeps."""
    from ecmsim.materials.creep import law_of

    if scn.interface.model != "contact" or scn.protocol is None or not scn.creep.enabled:
        return False
    return any(law_of(mat) is not None for mat in scn.materials.resolve().values())


def pixel_warning(pixel_m: float, key: str) -> str:
    """The warning for a micrograph pixel above :data:`PLAUSIBLE_PIXEL_M`."""
    return (f"warning: {key} = {pixel_m:g} m is above {PLAUSIBLE_PIXEL_M * 1e6:g} µm per pixel: FIB-SEM images have "
            "nanometre pixels (a 50 nm pixel is 50nm, not 50um)")


def profile_warnings(z_m, temperature_K=None) -> list[str]:
    """Warnings for a strain profile along a grating: its length, and a temperature column."""
    import numpy as np

    out = []
    length = float(np.max(z_m) - np.min(z_m)) if len(z_m) else 0.0
    lo, hi = PLAUSIBLE_GRATING_LENGTH_M
    if length > hi:
        out.append(f"warning: z_m spans {length:g} m, above {hi * 100:g} cm: gratings are millimetres long (is the "
                   f"z column in mm? {length:g} mm = {length * 1e-3:g} m)")
    elif 0 < length < lo:
        out.append(f"warning: z_m spans {length:g} m, below {lo * 1e3:g} mm: gratings are millimetres long (is the "
                   "z column in µm?)")
    if temperature_K is not None and len(temperature_K):
        t = float(np.min(temperature_K))
        if t < PLAUSIBLE_FIBRE_TEMPERATURE_K[0]:
            out.append(f"warning: T_K down to {t:g} K, below {PLAUSIBLE_FIBRE_TEMPERATURE_K[0]:g} K: the column is in "
                       f"kelvin (is it in °C? {t:g} °C = {t + 273.15:g} K)")
    return out
