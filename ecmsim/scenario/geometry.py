"""``[geometry]``: one section model per ``kind``, each with ``build(base_dir)``: the
:class:`~ecmsim.geometry.Geometry` of a window (``fbg_cell``: the fibre cell's
:class:`~ecmsim.geometry.cell.CellSection`; ``image_stack``: ``mesh(...)``, a 3D voxel window)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import BaseModel, Field, model_validator

from ecmsim.core.errors import GeometryError
from ecmsim.geometry.cell import LOCAL_STATE_KEYS, CellSection
from ecmsim.scenario.base import Length, Section

_Len = dict(gt=0, lt=1.0, allow_inf_nan=False)


class FlatGeometry(Section):
    """Flat electrode / electrolyte bilayer."""

    kind: Literal["flat"] = "flat"
    width_m: Length = Field(description="window width [m]")
    electrode_thickness_m: Length = Field(description="electrode layer thickness [m]")
    electrolyte_thickness_m: Length = Field(description="electrolyte layer thickness [m]")
    depth_m: Length | None = Field(None, description="window depth normal to the cross-section [m]: a 3D window "
                                                     "extruded along z (default: 2D plane strain)")

    def build(self, base_dir: Path):
        """The :class:`~ecmsim.geometry.Geometry` (``base_dir``: where relative paths start)."""
        from ecmsim.geometry import generators
        return generators.flat(self.width_m, self.electrode_thickness_m, self.electrolyte_thickness_m)

    def smallest_dimension_m(self) -> float:
        """The thinnest layer or window width, known before building [m]."""
        return min(self.electrode_thickness_m, self.electrolyte_thickness_m, self.width_m)


class SinusoidalGeometry(FlatGeometry):
    """Interface y = electrolyte_thickness_m + amplitude_m sin(2 pi x / wavelength_m)."""

    kind: Literal["sinusoidal"] = "sinusoidal"  # type: ignore[assignment]
    amplitude_m: Length = Field(description="interface amplitude [m]")
    wavelength_m: Length = Field(description="interface wavelength [m]")

    @model_validator(mode="after")
    def _fits(self) -> SinusoidalGeometry:
        limit = min(self.electrode_thickness_m, self.electrolyte_thickness_m)
        if self.amplitude_m >= limit:
            raise ValueError(f"geometry.amplitude_m = {self.amplitude_m:g} must be < the thinner layer "
                             f"({limit:g} m) [m]")
        return self

    def build(self, base_dir: Path):
        from ecmsim.geometry import generators
        return generators.sinusoidal(self.width_m, self.electrode_thickness_m, self.electrolyte_thickness_m,
                                     self.amplitude_m, self.wavelength_m)


class _RandomInterface(FlatGeometry):
    """Keys shared by the seeded generators: the seed and an optional rough base interface."""

    seed: int = Field(0, ge=0, le=2**63 - 1, strict=True, description="random seed: same seed, same geometry [-]")
    rms_height_m: float = Field(0.0, ge=0, lt=1.0, allow_inf_nan=False,
                                description="RMS height of the interface roughness [m] (0: flat)")
    correlation_length_m: Length | None = Field(None, description="lateral correlation length of the roughness "
                                                                  "(autocorrelation 1/e) [m]")
    spectrum: Literal["gaussian", "self_affine"] = Field("gaussian", description="roughness autocorrelation: "
                                                         "gaussian exp(-(r/xi)^2) or self_affine exp(-(r/xi)^(2H))")
    hurst_exponent: float = Field(0.8, gt=0, le=1, allow_inf_nan=False,
                                  description="Hurst exponent H of the self_affine spectrum [-]")

    @model_validator(mode="after")
    def _roughness_fits(self) -> _RandomInterface:
        if self.rms_height_m > 0 and self.correlation_length_m is None:
            raise ValueError("geometry.correlation_length_m is missing: a rough interface (rms_height_m > 0) "
                             "needs it [m]")
        limit = min(self.electrode_thickness_m, self.electrolyte_thickness_m) / 4
        if self.rms_height_m > limit:
            raise ValueError(f"geometry.rms_height_m = {self.rms_height_m:g} must be <= a quarter of the thinner "
                             f"layer ({limit:g} m) so that the interface stays inside the window [m]")
        finest = 16 * self.width_m / 2**16  # rough_profile: 16 samples per correlation length, at most 2^16
        if self.correlation_length_m is not None and self.correlation_length_m < finest:
            raise ValueError(f"geometry.correlation_length_m = {self.correlation_length_m:g} must be >= "
                             f"width_m / 4096 ({finest:g} m): a profile of at most 65536 samples cannot resolve "
                             "a shorter correlation length [m]")
        if self.correlation_length_m is not None and self.correlation_length_m > self.width_m / 4:
            raise ValueError(f"geometry.correlation_length_m = {self.correlation_length_m:g} must be <= a quarter "
                             f"of width_m ({self.width_m / 4:g} m) [m]")
        return self

    def _roughness(self) -> dict:
        return {"rms_height_m": self.rms_height_m, "correlation_length_m": self.correlation_length_m,
                "spectrum": self.spectrum, "hurst_exponent": self.hurst_exponent}


class RoughGeometry(_RandomInterface):
    """Random rough interface (Gaussian or self-affine) with an RMS height and correlation length."""

    kind: Literal["rough"] = "rough"  # type: ignore[assignment]
    rms_height_m: Length = Field(description="RMS height of the interface about its mean [m]")
    correlation_length_m: Length = Field(description="lateral correlation length (autocorrelation 1/e) [m]")

    def build(self, base_dir: Path):
        from ecmsim.geometry import generators, solid3d
        if self.depth_m is not None:   # a 2D random field h(x, z), not an extruded profile
            return solid3d.rough(self.width_m, self.electrode_thickness_m, self.electrolyte_thickness_m, self.depth_m,
                                 self.rms_height_m, self.correlation_length_m, self.seed, self.spectrum,
                                 self.hurst_exponent)
        return generators.rough(self.width_m, self.electrode_thickness_m, self.electrolyte_thickness_m,
                                self.rms_height_m, self.correlation_length_m, self.seed, self.spectrum,
                                self.hurst_exponent)


class VoidsGeometry(_RandomInterface):
    """Interfacial voids (half-ellipses on the electrode side) covering a fraction of the interface."""

    kind: Literal["voids"] = "voids"  # type: ignore[assignment]
    void_fraction: float = Field(gt=0, lt=0.9, allow_inf_nan=False,
                                 description="fraction of the interface covered by voids (areal fraction) [-]")
    void_width_mean_m: Length = Field(description="mean void width along the interface [m]")
    void_width_cv: float = Field(0.3, ge=0, le=2, allow_inf_nan=False,
                                 description="coefficient of variation of the log-normal void widths [-]")
    void_aspect_ratio: float = Field(0.3, gt=0, le=2, allow_inf_nan=False,
                                     description="void depth into the electrode / void width [-]")

    @model_validator(mode="after")
    def _voids_fit(self) -> VoidsGeometry:
        covered = self.void_fraction * self.width_m
        if self.void_width_mean_m > covered:
            raise ValueError(f"geometry.void_width_mean_m = {self.void_width_mean_m:g} must be <= void_fraction x "
                             f"width_m ({covered:g} m): one void of that width would already cover more than "
                             "void_fraction of the window [m]")
        depth = self.void_aspect_ratio * self.void_width_mean_m
        if depth > self.electrode_thickness_m / 2:
            raise ValueError(f"geometry.void_aspect_ratio x void_width_mean_m = {depth:g} m (the mean void depth) "
                             f"must be <= half the electrode_thickness_m ({self.electrode_thickness_m / 2:g} m): "
                             "deeper voids cut through the electrode [m]")
        return self

    def build(self, base_dir: Path):
        from ecmsim.geometry import generators, solid3d
        if self.depth_m is not None and not self.rms_height_m:   # half-spheroids; on a rough base: extruded
            return solid3d.voids(self.width_m, self.electrode_thickness_m, self.electrolyte_thickness_m, self.depth_m,
                                 self.void_fraction, self.void_width_mean_m, self.void_width_cv,
                                 self.void_aspect_ratio, self.seed)
        return generators.voids(self.width_m, self.electrode_thickness_m, self.electrolyte_thickness_m,
                                self.void_fraction, self.void_width_mean_m, self.void_width_cv,
                                self.void_aspect_ratio, self.seed, **self._roughness())


class FilamentsGeometry(_RandomInterface):
    """Li filaments reaching from the electrode into the electrolyte."""

    kind: Literal["filaments"] = "filaments"  # type: ignore[assignment]
    filament_count: int = Field(gt=0, le=1000, strict=True, description="number of filaments [-]")
    filament_length_m: Length = Field(description="filament length below the interface [m]")
    filament_width_m: Length = Field(description="filament width [m]")

    @model_validator(mode="after")
    def _filaments_fit(self) -> FilamentsGeometry:
        if self.filament_length_m >= self.electrolyte_thickness_m - 4 * self.rms_height_m:
            raise ValueError(f"geometry.filament_length_m = {self.filament_length_m:g} must be < "
                             f"electrolyte_thickness_m minus 4 rms heights "
                             f"({self.electrolyte_thickness_m - 4 * self.rms_height_m:g} m) [m]")
        return self

    def build(self, base_dir: Path):
        from ecmsim.geometry import generators
        return generators.filaments(self.width_m, self.electrode_thickness_m, self.electrolyte_thickness_m,
                                    self.filament_count, self.filament_length_m, self.filament_width_m,
                                    self.seed, **self._roughness())


class ImageGeometry(Section):
    """A FIB-SEM image (or label image) segmented into electrode, electrolyte and void."""

    kind: Literal["image"] = "image"
    path: str = Field(min_length=1, description="PNG or TIFF file, relative to the scenario file")
    pixel_size_m: float | None = Field(None, ge=1e-10, le=1e-3, allow_inf_nan=False,
                                       description="pixel edge [m] (1e-10 ... 1e-3; default: from the image's "
                                                   "sidecar JSON)")
    phases: list[Literal["void", "electrode", "electrolyte", "particle", "dead_li", "separator"]] | None = Field(
        None, description="grey phases from dark to bright, or the phases of label-map / scribble values "
                          "1, 2, ... (default: found from the image)")
    levels: list[float] | None = Field(None, min_length=1, max_length=5,
                                       description="grey thresholds between the phases, image units (needs phases)")
    labels: dict[str, int] | None = Field(None, description="the image is a label image: phase -> pixel value")
    electrode_side: Literal["auto", "top", "bottom"] | None = Field(
        None, description="where the electrode is in the image (default: sidecar, else auto)")
    window_width_m: Length | None = Field(None, description="crop window width [m] (default: whole image)")
    window_height_m: Length | None = Field(None, description="crop window height [m] (default: whole image)")
    window_x_m: float | None = Field(None, ge=0, lt=1.0, allow_inf_nan=False,
                                     description="window left edge from the image's left edge [m] (default: centred)")
    window_y_m: float | None = Field(None, ge=0, lt=1.0, allow_inf_nan=False,
                                     description="window top edge from the image's top edge [m] (default: 0)")
    median_px: int = Field(5, ge=1, le=15, strict=True, description="median filter size [px]")
    min_feature_px: int = Field(4, ge=0, le=100, strict=True,
                                description="pieces smaller than min_feature_px^2 pixels are cleaned away [px]")
    tolerance_px: float = Field(1.0, ge=0, le=10, allow_inf_nan=False, description="contour tolerance [px]")
    min_radius_m: Length | None = Field(
        None, description="round the contours' corners to this curvature radius, areas kept [m] (default: corners "
                          "as the pixels give them; for contact cycling, a radius above the plated thickness: "
                          "docs/electrochem.md)")
    flatten: bool = Field(True, description="remove curtaining stripes and charging shading")
    method: Literal["auto", "histogram", "mixture", "texture"] = Field(
        "auto", description="grey classes: histogram peaks, Gaussian mixture, texture (a polymer with particles is "
                            "one phase), or auto (mixture when the histogram shows too few phases, texture when it "
                            "reads an electrode over a composite electrolyte)")
    particles: bool = Field(False, description="mesh the particles of a composite electrolyte (LLZTO in PLL) as "
                                               "'particle' regions inside its polymer matrix (needs materials.particle; "
                                               "the electrolyte material is then the matrix)")
    min_feature_m: Length | None = Field(
        None, description="pieces smaller than this length squared are cleaned away [m] (overrides min_feature_px)")
    median_m: Length | None = Field(None, description="median filter size as a length [m] (the odd pixel count "
                                                      "nearest to it; overrides median_px)")
    thin_part_m: Length | None = Field(None, description="parts thinner than this go to their neighbours [m] "
                                                         "(default 3 px)")
    scribbles: str | None = Field(None, min_length=1, description="sparse label image training a pixel "
                                                                  "classifier, relative to the scenario file")
    label_map: str | None = Field(None, min_length=1, description="ilastik / Weka label or probability map "
                                                                  "(TIFF, HDF5), relative to the scenario file")
    depth_m: Length | None = Field(None, description="window depth normal to the image plane [m]: the "
                                                     "segmented section extruded to 3D (default: 2D plane strain)")

    def image_options(self, base_dir: Path):
        """The :class:`~ecmsim.geometry.image.ImageOptions` (sidecar values filled in) and the image path."""
        from ecmsim.geometry.image import options_with_sidecar

        path = Path(self.path) if Path(self.path).is_absolute() else Path(base_dir) / self.path
        given = self.model_dump(exclude={"kind", "path", "labels", "depth_m"})
        given["phases"] = tuple(self.phases) if self.phases else None
        given["levels"] = tuple(self.levels) if self.levels else None
        given["label_values"] = self.labels
        for key in ("scribbles", "label_map"):
            if given[key] is not None and not Path(given[key]).is_absolute():
                given[key] = str(Path(base_dir) / given[key])
        return options_with_sidecar(path, **given), path

    def build(self, base_dir: Path):
        return self.build_image(base_dir).geometry

    def build_image(self, base_dir: Path):
        """The whole :class:`~ecmsim.geometry.image.ImageResult`: the geometry and what the pipeline
        did to get it (``info``: its warnings, the corner rounding)."""
        from ecmsim.geometry.image import image_to_geometry
        options, path = self.image_options(base_dir)
        return image_to_geometry(path, options)

    def smallest_dimension_m(self) -> None:
        """Unknown before the image is read."""
        return None


class ImageStackGeometry(Section):
    """A FIB-SEM stack (multi-page TIFF or folder of slices) meshed into voxel tetrahedra: a 3D
    window (:mod:`ecmsim.geometry.stack`, :mod:`ecmsim.mechanics.stack3d`)."""

    kind: Literal["image_stack"] = "image_stack"
    path: str = Field(min_length=1, description="multi-page TIFF or folder of PNG/TIFF slices, relative to "
                                                "the scenario file")
    pixel_size_m: float = Field(ge=1e-10, le=1e-3, allow_inf_nan=False, description="in-plane pixel edge [m]")
    slice_spacing_m: float = Field(ge=1e-10, le=1e-3, allow_inf_nan=False,
                                   description="distance between slices (milling step) [m]")
    voxel_factor: int = Field(1, ge=1, le=16, strict=True, description="coarsen by majority over f^3 voxels [-]")
    align: bool = Field(True, description="measure and undo the slice-to-slice drift (grey stacks)")
    phases: list[Literal["void", "electrode", "electrolyte", "particle", "dead_li", "separator"]] | None = Field(
        None, description="grey phases from dark to bright (default: found from the middle slice)")
    labels: dict[str, int] | None = Field(None, description="the stack holds labels: phase -> voxel value")
    method: Literal["auto", "histogram", "mixture"] = Field("auto", description="grey classes of the middle slice")

    @property
    def depth_m(self) -> None:
        """Not an extrusion: the stack is 3D by itself."""
        return None

    def stack_path(self, base_dir: Path) -> Path:
        return Path(self.path) if Path(self.path).is_absolute() else Path(base_dir) / self.path

    def mesh(self, base_dir: Path, comm, msh_path: Path):
        """(3D TaggedMesh, stack report) of :func:`ecmsim.mechanics.stack3d.mesh_stack`."""
        from ecmsim.mesh.voxel import mesh_stack

        options = {"method": self.method} if self.labels is None else {}
        if self.phases and self.labels is None:
            options["phases"] = tuple(self.phases)
        return mesh_stack(self.stack_path(base_dir), self.pixel_size_m, self.slice_spacing_m, msh_path, comm,
                          voxel_factor=self.voxel_factor, align=self.align, label_values=self.labels, **options)

    def smallest_dimension_m(self) -> None:
        """Unknown before the stack is read."""
        return None


class LocalState(Section):
    """A local interface state over a stretch of the grating (z from the grating's start)."""

    z_from_m: float = Field(ge=0, lt=1.0, allow_inf_nan=False, description="start of the stretch along the grating [m]")
    z_to_m: float = Field(gt=0, lt=1.0, allow_inf_nan=False, description="end of the stretch along the grating [m]")
    fibre_depth_in_electrode_m: float | None = Field(None, **_Len, description="local groove depth in the foil [m]")
    fibre_depth_in_electrolyte_m: float | None = Field(None, **_Len,
                                                       description="local groove depth in the membrane [m]")
    electrode_thickness_m: float | None = Field(None, **_Len, description="local foil thickness [m]")
    void_width_m: float | None = Field(None, ge=0, lt=1.0, allow_inf_nan=False,
                                       description="local void under the fibre [m]")
    standoff_length_m: float | None = Field(None, ge=0, lt=1.0, allow_inf_nan=False,
                                            description="local length over which the membrane lands [m]")

    @model_validator(mode="after")
    def _ordered(self) -> LocalState:
        if not self.z_to_m > self.z_from_m:
            raise ValueError(f"geometry.states: z_to_m = {self.z_to_m:g} must be > z_from_m = {self.z_from_m:g} [m]")
        return self

    def overrides(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in LOCAL_STATE_KEYS if getattr(self, k) is not None}


class FbgCellGeometry(Section):
    """Cross-section of the FBG cell normal to the fibre (docs/fbg_cell.md).

    ``embedding = "process"``: the fibre's embedding is computed in time (assembly, press, hold:
    :mod:`ecmsim.fibre.embedding`); the groove depths, the standoff and the membrane's landing are
    outputs. ``"given"``: the embedded state is prescribed by the depth keys and solved by the
    elastic contact cell (:class:`~ecmsim.fibre.cell.CellSectionSolver`)."""

    kind: Literal["fbg_cell"] = "fbg_cell"
    embedding: Literal["process", "given"] = Field(
        "process", description="the fibre's embedding: computed in time (process) or prescribed by the depth "
                               "keys (given)")
    fibre_diameter_m: float = Field(125e-6, **_Len, description="fibre (cladding) diameter D [m]")
    electrode_thickness_m: float = Field(**_Len, description="bottom electrode foil thickness [m]")
    electrolyte_thickness_m: float = Field(**_Len, description="electrolyte membrane thickness [m]")
    counter_electrode_thickness_m: float = Field(100e-6, ge=0, lt=1.0, allow_inf_nan=False,
                                                 description="top electrode, bonded to the membrane [m] (0: none)")
    electrode_skeleton: Literal["isolated", "connected"] = Field(
        "connected", description="process: an electrode whose material has skeleton_* keys (Li-Sn) flows as a Li "
                                 "matrix with isolated particles or a connected skeleton (the two bounds)")
    initial_contact_depth_m: float = Field(0.5e-6, **_Len, description="process: depth of first contact of the "
                                                                       "fibre laid on the flat layers [m]")
    electrode_diameter_m: float = Field(12e-3, **_Len, description="process: electrode diameter, the length over "
                                                                   "which the layers hold the fibre [m]")
    body_bore_m: float = Field(14e-3, **_Len, description="process: bore of the cell body, whose wall anchors the "
                                                          "fibre (epoxy in two through-holes) [m]")
    anchor_length_m: float = Field(4e-3, **_Len, description="process: length of fibre glued in each wall "
                                                              "hole (the wall thickness) [m]")
    anchor_hole_diameter_m: float = Field(0.8e-3, **_Len, description="process: diameter of the epoxy-filled "
                                                                      "holes in the body's wall [m]")
    anchor_shear_modulus_Pa: float = Field(1.0e9, gt=0, le=1e11, allow_inf_nan=False,
                                           description="process: shear modulus of the anchoring epoxy at the cell "
                                                       "temperature [Pa] (~1e9 glassy, ~1e7 above its glass "
                                                       "transition)")
    body_thermal_expansion_per_K: float = Field(16.0e-6, ge=0, le=1e-3, allow_inf_nan=False,
                                                description="process: thermal expansion of the cell body [1/K] "
                                                            "(16e-6 stainless steel; ~1.3e-4 PFA)")
    width_m: float = Field(3e-3, **_Len, description="given: modelled half width from the fibre axis (symmetry "
                                                     "plane) [m]")
    fibre_depth_in_electrode_m: float | None = Field(None, **_Len, description="given: groove depth of the fibre "
                                                                               "in the foil, at most its radius [m]")
    fibre_depth_in_electrolyte_m: float | None = Field(None, **_Len, description="given: groove depth of the "
                                                                                 "fibre in the membrane [m]")
    void_width_m: float = Field(0.0, ge=0, lt=1.0, allow_inf_nan=False,
                                description="given: void under the fibre at the bottom of the foil groove [m]")
    standoff_length_m: float = Field(0.0, ge=0, lt=1.0, allow_inf_nan=False,
                                     description="given: the draped membrane lands on the foil this far from the "
                                                 "groove edge [m] (0: standoff over the whole width)")
    fibre_axial_strain: Literal["coupled", "fixed", "free"] = Field(
        "coupled", description="the grating's axial strain: coupled (anchored in the body, held by the layers' "
                               "shear lag; process only), fixed (eps_zz = 0) or free (sigma_zz = 0)")
    sides: Literal["free", "roller"] = Field("free", description="given: lateral edge of the layers at width_m")
    states: list[LocalState] = Field(default_factory=list,
                                     description="given: local interface states along the grating (several peaks)")

    @model_validator(mode="after")
    def _consistent(self) -> FbgCellGeometry:
        given_keys = [k for k in ("fibre_depth_in_electrode_m", "fibre_depth_in_electrolyte_m")
                      if getattr(self, k) is not None]
        given_keys += [k for k in ("void_width_m", "standoff_length_m") if getattr(self, k) != 0.0]
        given_keys += ["states"] if self.states else []
        if self.embedding == "process":
            if given_keys:
                raise ValueError(f"geometry.{given_keys[0]}: an embedded state is computed with embedding = 'process'; "
                                 "remove it, or set geometry.embedding = 'given' to prescribe the state")
            if self.anchor_hole_diameter_m <= self.fibre_diameter_m:
                raise ValueError(f"geometry.anchor_hole_diameter_m = {self.anchor_hole_diameter_m:g} must be larger "
                                 f"than the fibre ({self.fibre_diameter_m:g} m) [m]")
            if self.body_bore_m < self.electrode_diameter_m:
                raise ValueError(f"geometry.body_bore_m = {self.body_bore_m:g} must be >= electrode_diameter_m "
                                 f"({self.electrode_diameter_m:g} m) [m]")
            return self
        missing = [k for k in ("fibre_depth_in_electrode_m", "fibre_depth_in_electrolyte_m") if getattr(self, k) is None]
        if missing:
            raise ValueError(f"geometry.{missing[0]} is missing: embedding = 'given' prescribes the groove depths [m]")
        if self.fibre_axial_strain == "coupled":
            raise ValueError("geometry.fibre_axial_strain = 'coupled' needs embedding = 'process'; with a given "
                             "embedded state use 'fixed' or 'free'")
        try:
            base = self.section()
            for s in self.states:
                base.with_state(**s.overrides())
        except GeometryError as err:
            raise ValueError(str(err)) from None
        return self

    def section(self) -> CellSection:
        """The base :class:`CellSection` (``embedding = "given"``)."""
        return CellSection(self.fibre_diameter_m, self.electrode_thickness_m, self.electrolyte_thickness_m,
                           self.counter_electrode_thickness_m, self.width_m, self.fibre_depth_in_electrode_m,
                           self.fibre_depth_in_electrolyte_m, self.void_width_m, self.standoff_length_m)

    def build(self, base_dir: Path) -> CellSection | None:
        return self.section() if self.embedding == "given" else None

    def smallest_dimension_m(self) -> float | None:
        """The thinnest layer (the finite-element cell's mesh must resolve it); None for the process
        route, which meshes nothing."""
        if self.embedding == "process":
            return None
        return min(self.electrode_thickness_m, self.electrolyte_thickness_m)


#: ``[geometry] kind`` -> its section model. Each model has ``build(base_dir) -> Geometry``
#: (``fbg_cell``: a :class:`~ecmsim.geometry.cell.CellSection`, run by :mod:`ecmsim.fibre.model`;
#: ``image_stack``: ``mesh(...)``, a 3D window).
GEOMETRY_KINDS: dict[str, type[BaseModel]] = {"flat": FlatGeometry, "sinusoidal": SinusoidalGeometry,
                                              "rough": RoughGeometry, "voids": VoidsGeometry,
                                              "filaments": FilamentsGeometry, "image": ImageGeometry,
                                              "fbg_cell": FbgCellGeometry, "image_stack": ImageStackGeometry}

GeometrySection = Annotated[Union[tuple(GEOMETRY_KINDS.values())], Field(discriminator="kind")]  # noqa: UP007

__all__ = ["GEOMETRY_KINDS", "GeometrySection", "FlatGeometry", "SinusoidalGeometry", "RoughGeometry", "VoidsGeometry",
           "FilamentsGeometry", "ImageGeometry", "ImageStackGeometry", "FbgCellGeometry", "LocalState"]
