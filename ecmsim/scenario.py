"""Scenario files: TOML, validated on load, with ``--set section.key=value`` overrides.

Every key carries its SI unit in its name (``stack_pressure_Pa``, ``width_m``); the schema
below states the allowed range of each. Invalid input raises :class:`ScenarioError` with one
line naming the file, the key, the value and what is allowed, e.g.::

    scenarios/li.toml: loading.stack_pressure_Pa = -2400000.0: must be > 0 [Pa]

A minimal scenario::

    [geometry]
    kind = "flat"                     # flat | sinusoidal | rough | voids | filaments | image
    width_m = 40e-6
    electrode_thickness_m = 20e-6
    electrolyte_thickness_m = 20e-6

    [materials]
    electrode = "Li"                  # a key of `ecmsim materials`, or an inline table
    electrolyte = "PLL"

    [loading]
    stack_pressure_Pa = 2.4e6

    [mesh]
    size_m = 1e-6
"""

from __future__ import annotations

import copy
import hashlib
import json
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import (BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, field_validator,
                      model_validator)

from ecmsim import materials as materials_lib
from ecmsim.errors import EcmsimError, ScenarioError
from ecmsim.materials.creep import CREEP_KEYS, SIZE_KEYS
from ecmsim.protocol import ProtocolSection
from ecmsim.geometry.cell import FbgCellGeometry

Length = Annotated[float, Field(gt=0, lt=1.0, strict=True, allow_inf_nan=False)]
"""A positive length below 1 m [m]."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class FlatGeometry(_Section):
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


class ImageGeometry(_Section):
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
    flatten: bool = Field(True, description="remove curtaining stripes and charging shading")
    method: Literal["auto", "histogram", "mixture"] = Field(
        "auto", description="grey classes: histogram peaks, Gaussian mixture, or auto (mixture when the "
                            "histogram shows too few phases)")
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
        from ecmsim.geometry.image import image_to_geometry
        options, path = self.image_options(base_dir)
        return image_to_geometry(path, options).geometry

    def smallest_dimension_m(self) -> None:
        """Unknown before the image is read."""
        return None


class ImageStackGeometry(_Section):
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
        from ecmsim.mechanics.stack3d import mesh_stack

        options = {"method": self.method} if self.labels is None else {}
        if self.phases and self.labels is None:
            options["phases"] = tuple(self.phases)
        return mesh_stack(self.stack_path(base_dir), self.pixel_size_m, self.slice_spacing_m, msh_path, comm,
                          voxel_factor=self.voxel_factor, align=self.align, label_values=self.labels, **options)

    def smallest_dimension_m(self) -> None:
        """Unknown before the stack is read."""
        return None


#: ``[geometry] kind`` -> its section model. Each model has ``build(base_dir) -> Geometry``
#: (``fbg_cell``: a :class:`~ecmsim.geometry.cell.CellSection`, run by :mod:`ecmsim.fibre_cell_run`;
#: ``image_stack``: ``mesh(...)``, a 3D window).
GEOMETRY_KINDS: dict[str, type[BaseModel]] = {"flat": FlatGeometry, "sinusoidal": SinusoidalGeometry,
                                              "rough": RoughGeometry, "voids": VoidsGeometry,
                                              "filaments": FilamentsGeometry, "image": ImageGeometry,
                                              "fbg_cell": FbgCellGeometry, "image_stack": ImageStackGeometry}

GeometrySection = Annotated[Union[tuple(GEOMETRY_KINDS.values())], Field(discriminator="kind")]  # noqa: UP007


class InlineMaterial(_Section):
    """A material given in the scenario itself (a user's own measurement)."""

    youngs_modulus_Pa: float = Field(ge=1e3, le=2e12, allow_inf_nan=False,
                                     description="Young's modulus [Pa] (1e3 ... 2e12: soft gels to diamond)")
    poissons_ratio: float = Field(gt=-1, lt=0.5, allow_inf_nan=False, description="Poisson's ratio [-]")
    source: str = Field(min_length=1, description="where the values come from")
    creep_rate_prefactor_per_s: float | None = Field(
        None, ge=0, le=1e30, allow_inf_nan=False, description="Norton creep: prefactor A [1/s] (0 ... 1e30)")
    creep_stress_exponent: float | None = Field(None, ge=1, le=20, allow_inf_nan=False,
                                                description="Norton creep: stress exponent n [-] (1 ... 20)")
    creep_activation_energy_J_per_mol: float | None = Field(
        None, ge=0, le=1e6, allow_inf_nan=False, description="Norton creep: activation energy Q [J/mol] (0 ... 1e6)")
    creep_reference_stress_Pa: float | None = Field(None, gt=0, le=1e10, allow_inf_nan=False,
                                                    description="Norton creep: reference stress sigma0 [Pa]")
    creep_size_reference_length_m: float | None = Field(
        None, gt=0, lt=1, allow_inf_nan=False, description="size effect: length above which the bulk law holds [m]")
    creep_size_exponent: float | None = Field(
        None, ge=0, le=2, allow_inf_nan=False, description="size effect: sigma0 scales as (L_ref/L)^m [-] (0 ... 2)")

    @model_validator(mode="after")
    def _creep_complete(self) -> InlineMaterial:
        given = [k for k in CREEP_KEYS if getattr(self, k) is not None]
        if given and len(given) != len(CREEP_KEYS):
            missing = [k for k in CREEP_KEYS if k not in given]
            raise ValueError(f"inline material: creep needs all of {', '.join(CREEP_KEYS)} (missing: "
                             f"{', '.join(missing)})")
        size = [k for k in SIZE_KEYS if getattr(self, k) is not None]
        if size and (len(size) != len(SIZE_KEYS) or not given):
            raise ValueError(f"inline material: the size effect needs {' and '.join(SIZE_KEYS)} and the creep keys")
        return self
    molar_volume_m3_mol: float | None = Field(None, gt=0, lt=1e-3, allow_inf_nan=False,
                                              description="electrode: molar volume of the plated metal [m3/mol]")
    exchange_current_density_A_m2: float | None = Field(
        None, gt=0, le=1e6, allow_inf_nan=False, description="electrode: Butler-Volmer exchange current density [A/m2]")
    charge_transfer_coefficient: float | None = Field(
        None, gt=0, lt=1, allow_inf_nan=False, description="electrode: cathodic charge-transfer coefficient [-]")
    ionic_conductivity_S_m: float | None = Field(
        None, gt=0, le=1e3, allow_inf_nan=False, description="electrolyte: ionic conductivity [S/m]")
    ionic_conductivity_reference_temperature_K: float | None = Field(
        None, gt=0, le=1000, allow_inf_nan=False, description="electrolyte: temperature of ionic_conductivity_S_m [K]")
    ionic_conductivity_activation_energy_J_per_mol: float | None = Field(
        None, ge=0, le=1e6, allow_inf_nan=False, description="electrolyte: Arrhenius activation energy [J/mol]")

    def properties(self) -> dict[str, float]:
        """The optional values that were given (creep, electrochemistry), by key."""
        return {k: v for k, v in self.model_dump().items()
                if k not in ("youngs_modulus_Pa", "poissons_ratio", "source") and v is not None}


MaterialRef = Annotated[Annotated[str, Tag("library")] | Annotated[InlineMaterial, Tag("inline")],
                        Discriminator(lambda v: "inline" if isinstance(v, dict | InlineMaterial) else "library")]


class MaterialsSection(_Section):
    """Which material fills each region: a library key or an inline table."""

    electrode: MaterialRef | None = Field(None, description="electrode material (library key or inline "
                                                            "table); needed when the window has an electrode")
    electrolyte: MaterialRef = Field(description="electrolyte material (library key or inline table)")
    particle: MaterialRef | None = Field(None, description="material of 'particle' regions (composite windows)")
    dead_li: MaterialRef | None = Field(None, description="material of 'dead_li' regions")
    separator: MaterialRef | None = Field(None, description="material of 'separator' regions")

    @field_validator("electrode", "electrolyte", "particle", "dead_li", "separator")
    @classmethod
    def _known(cls, value: str | InlineMaterial | None) -> str | InlineMaterial | None:
        if isinstance(value, str) and value not in materials_lib.names():
            raise ValueError(f"unknown material '{value}' (known: {', '.join(materials_lib.names())})")
        return value

    def resolve(self) -> dict[str, materials_lib.Material]:
        """Region name -> Material record."""
        out = {}
        for region in ("electrode", "electrolyte", "particle", "dead_li", "separator"):
            ref = getattr(self, region)
            if ref is None:
                continue
            if isinstance(ref, str):
                out[region] = materials_lib.get(ref)
            else:
                props = ref.properties()
                out[region] = materials_lib.Material(
                    key=f"<inline {region}>", youngs_modulus_Pa=ref.youngs_modulus_Pa,
                    poissons_ratio=ref.poissons_ratio, properties=props,
                    sources={k: ref.source for k in ("youngs_modulus_Pa", "poissons_ratio", *props)})
        return out


class LoadingSection(_Section):
    """Mechanical and thermal loading."""

    stack_pressure_Pa: float = Field(gt=0, le=1e9, allow_inf_nan=False,
                                     description="stack pressure on the electrode top [Pa]")
    temperature_K: float = Field(333.15, gt=0, le=1000, allow_inf_nan=False,
                                 description="cell temperature [K] (reference cell: 60 C)")
    sides: Literal["roller"] = Field("roller", description="lateral boundary condition")


class InterfaceSection(_Section):
    """How electrode and electrolyte are joined."""

    model: Literal["bonded", "contact"] = Field(
        "bonded", description="bonded: continuous displacement; contact: no penetration, free separation, small "
                              "sliding, frictionless unless friction_coefficient > 0 (Nitsche, docs/contact.md)")
    nitsche_parameter: float = Field(
        100.0, gt=0, le=1e4, allow_inf_nan=False,
        description="contact: gamma0 in gamma = gamma0 / (h+/E'+ + h-/E'-), E' = E/(1-nu^2) of each side, h the "
                    "element height over the facet [-]; 100-1000 agree to 0.2 % in L2 stress (0 < x <= 1e4)")
    nitsche_variant: Literal["skew", "symmetric", "incomplete"] = Field(
        "skew", description="contact: theta = -1 (skew, stable for any nitsche_parameter), 1 (symmetric, needs "
                            "nitsche_parameter >= ~30) or 0")
    friction_coefficient: float = Field(0.0, ge=0, le=10, allow_inf_nan=False,
                                        description="contact: Coulomb coefficient [-] (0 <= x <= 10; 0 frictionless)")
    load_steps: int = Field(4, ge=1, le=1000, strict=True,
                            description="contact: equal steps ramping the stack pressure from 0 [-] (1 ... 1000)")
    newton_max_iterations: int = Field(25, ge=1, le=500, strict=True,
                                       description="contact: Newton iterations allowed per load step [-] (1 ... 500)")
    newton_rtol: float = Field(1e-9, gt=0, lt=1e-2, allow_inf_nan=False,
                               description="contact: residual reduction that ends a load step [-] (0 < x < 1e-2)")

    @model_validator(mode="after")
    def _contact_keys_need_contact(self) -> InterfaceSection:
        extra = sorted(k for k in self.model_fields_set if k != "model")
        if self.model == "bonded" and extra:
            raise ValueError(f"interface.{extra[0]} applies to interface.model = 'contact' only (model is 'bonded')")
        return self


class MeshSection(_Section):
    """Mesh resolution."""

    size_m: Length = Field(description="element size away from the interface [m]")
    interface_size_m: Length | None = Field(None, description="element size at the interface [m]")
    refine_distance_m: Length | None = Field(None, description="refinement band width [m]")
    max_cells: int = Field(2_000_000, gt=0, le=50_000_000, strict=True,
                           description="refuse meshes with more triangles [-]")
    tip_size_m: Length | None = Field(None, description="element size at void tips [m] (default: half the "
                                                        "interface size)")

    @model_validator(mode="after")
    def _refined_not_coarser(self) -> MeshSection:
        for key in ("interface_size_m", "tip_size_m"):
            value = getattr(self, key)
            if value is not None and value > self.size_m:
                raise ValueError(f"mesh.{key} = {value:g} must be <= mesh.size_m ({self.size_m:g} m): it refines "
                                 "the mesh near the interface, it cannot coarsen it [m]")
        return self


class SolverSection(_Section):
    """Discretisation."""

    element_degree: int = Field(2, ge=1, le=3, strict=True, description="Lagrange degree of displacement [-]")
    linear: Literal["auto", "direct", "iterative"] = Field(
        "auto", description="linear solver: direct (MUMPS LU), iterative (CG/GMRES + algebraic multigrid) or auto "
                            "(iterative from 1 000 000 dofs in 2D, 100 000 in 3D)")


class ElectrochemSection(_Section):
    """Current distribution on the window (docs/electrochem.md). Present: solved after the mechanics."""

    applied_current_density_A_m2: float = Field(
        2.0, ge=-1e3, le=1e3, allow_inf_nan=False,
        description="current density entering the electrolyte's bottom edge [A/m2]; positive plates Li on the "
                    "window's electrode (reference cycling: 0.2 mA/cm2 = 2 A/m2) (-1000 ... 1000)")
    stress_coupling: bool = Field(
        False, description="add Omega_Li * p / F to the overpotential (p: interface pressure from the mechanics; "
                           "compression hinders plating)")
    membrane_thickness_m: Length = Field(
        100e-6, description="electrolyte membrane thickness of the whole symmetric cell, for cell_overpotential_V [m] "
                            "(reference cells: not reported; 100 um assumed)")
    element_degree: int = Field(1, ge=1, le=2, strict=True, description="Lagrange degree of the potential [-]")


class OutputSection(_Section):
    """What to write besides summary.json."""

    fields: bool = Field(True, description="write the fields: VTU/PVD (ParaView, pyvista, meshio) and VTX .bp")
    plots: bool = Field(True, description="write PNG figures")


class CreepSection(_Section):
    """Creep options (the law itself is part of each material record, docs/creep.md)."""

    enabled: bool = Field(True, description="materials with creep keys creep during a [protocol] (false: all "
                                            "elastic)")
    characteristic_length_m: float | None = Field(
        None, gt=0, lt=1, allow_inf_nan=False,
        description="feature size of the creeping material for its size effect (thin Li is stronger): "
                    "sigma0 * (L_ref/L)^m below L_ref [m]; default: bulk law")


class CyclingSection(_Section):
    """Plating/stripping cycles (docs/electrochem.md, cycling): how plated Li loads the interface."""

    deposition_layer_thickness_m: Length = Field(
        10e-6, description="electrode layer next to the interface that takes up the plated Li as a growth "
                           "eigenstrain (h/delta) n x n; 10 um keeps the eigenstrain of a 0.4 mAh/cm2 half "
                           "cycle (1.9 um) at 0.19 [m]")
    irreversible_fraction: float = Field(
        0.05, ge=0, lt=1, allow_inf_nan=False,
        description="fraction of every plated increment that becomes porous, dead Li (1 - Coulombic "
                    "efficiency of Li plating) [-] (0 <= x < 1)")
    porous_modulus_exponent: float = Field(
        2.0, ge=0, le=10, allow_inf_nan=False,
        description="softening of the deposition layer: moduli times (1 - porous fraction)^m "
                    "(Gibson-Ashby open-cell foam: 2) [-] (0 ... 10)")
    min_contact_activity: float = Field(
        0.05, gt=0, le=1, allow_inf_nan=False,
        description="smallest contact activity where porous Li covers the interface [-] (0 < x <= 1)")
    profiles: bool = Field(True, description="write interface_profiles.csv (every accepted step, every facet)")


class FibreReadoutSection(_Section):
    """The fibre read-out through the cycles (docs/fibre_readout.md): the cycling window stretched over the
    grating, a fibre-cell library in pressure, a spectrum per output time."""

    cell_scenario: str = Field(
        ..., min_length=1, description="the fibre-cell scenario (geometry kind fbg_cell), a path relative to this "
                                       "scenario file")
    sections: int = Field(10, ge=1, le=200, strict=True,
                          description="grating sections, one x-bin of the window each [-]")
    output_interval_s: float = Field(
        0.0, ge=0, le=1e8, allow_inf_nan=False,
        description="a spectrum every this many seconds (the first accepted step of each interval, and the last); "
                    "0: every accepted step [s]")
    library_pressure_factors: list[Annotated[float, Field(gt=0, le=20, allow_inf_nan=False)]] = Field(
        [0.25, 0.5, 1.0, 2.0, 4.0], min_length=1, max_length=12,
        description="fibre-cell solves at these multiples of the stack pressure (zero strain at zero pressure "
                    "is added), interpolated linearly, the last slope beyond; [1.0]: linear in pressure, one "
                    "solve [-] (1 to 12 distinct values)")
    pressure_mapping: Literal["change", "absolute"] = Field(
        "change", description="section pressure: stack pressure + change of the window bin's mean since t = 0 "
                              "('change'), or the bin's mean itself ('absolute')")

    @field_validator("library_pressure_factors")
    @classmethod
    def _distinct(cls, value: list[float]) -> list[float]:
        if len(set(value)) != len(value):
            raise ValueError(f"must be distinct (got {value})")
        return value


class Scenario(_Section):
    """A validated scenario. ``source`` is the file it came from (for messages)."""

    title: str = Field("", description="free text")
    geometry: GeometrySection
    materials: MaterialsSection
    loading: LoadingSection
    interface: InterfaceSection = InterfaceSection()
    mesh: MeshSection
    solver: SolverSection = SolverSection()
    electrochem: ElectrochemSection | None = None
    output: OutputSection = OutputSection()
    protocol: ProtocolSection | None = None
    creep: CreepSection = CreepSection()
    cycling: CyclingSection = CyclingSection()
    fbg: dict[str, dict[str, Any]] | None = Field(
        None, description="virtual FBG: the keys of `ecmsim fbg --set` as [fbg.grating], [fbg.source], "
                          "[fbg.interrogator], [fbg.fibre] (needs geometry kind fbg_cell)")
    fibre_readout: FibreReadoutSection | None = None

    @model_validator(mode="after")
    def _fibre_readout_needs_cycling(self) -> Scenario:
        if self.fibre_readout is not None:
            from ecmsim.electrochem.steps import CURRENT_STEP_KINDS
            from ecmsim.protocol import parse_step
            if self.protocol is None or not any(parse_step(s).kind in CURRENT_STEP_KINDS for s in self.protocol.steps):
                raise ValueError("fibre_readout: the fibre read-out needs plating/stripping cycles (a [protocol] "
                                 "with Plate/Strip steps)")
            if not self.cycling.profiles:
                raise ValueError("fibre_readout: needs cycling.profiles = true (the window's interface history)")
        return self

    @model_validator(mode="after")
    def _fbg_cell(self) -> Scenario:
        if self.fbg is not None:
            from ecmsim.fbg import parameters
            try:
                parameters.from_settings(self.fbg_settings())
            except ScenarioError as err:
                raise ScenarioError(f"fbg.{err}" if not str(err).startswith("unknown") else f"fbg: {err}") from None
            if self.geometry.kind != "fbg_cell":
                raise ValueError(f"fbg: a virtual FBG needs a fibre: geometry.kind = 'fbg_cell' (got "
                                 f"'{self.geometry.kind}')")
        if self.geometry.kind == "fbg_cell" and self.interface.model != "contact":
            raise ValueError("interface.model = 'bonded': geometry.kind = 'fbg_cell' needs 'contact' (the fibre "
                             "touches the layers through the contact model)")
        return self

    def fbg_settings(self) -> dict[str, Any]:
        """``[fbg]`` flattened to the ``section.key`` settings of :func:`ecmsim.fbg.parameters.from_settings`."""
        out: dict[str, Any] = {}
        for section, table in (self.fbg or {}).items():
            if not isinstance(table, dict):
                raise ScenarioError(f"fbg.{section} = {table!r}: must be a table such as [fbg.grating]")
            out.update({f"{section}.{k}": v for k, v in table.items()})
        return out

    @model_validator(mode="after")
    def _mesh_fits(self) -> Scenario:
        thinnest = self.geometry.smallest_dimension_m()
        if thinnest is not None and self.mesh.size_m > thinnest / 2:
            raise ValueError(f"mesh.size_m = {self.mesh.size_m:g} must be <= half the thinnest dimension "
                             f"({thinnest / 2:g} m) [m]")
        return self

    @model_validator(mode="after")
    def _affordable_and_valid(self) -> Scenario:
        """Estimated cells and memory, and the small-strain range, before anything is built."""
        from ecmsim import guards
        guards.check_scenario(self)
        return self

    @model_validator(mode="after")
    def _contact_is_2d(self) -> Scenario:
        if self.geometry.kind == "image_stack" and self.interface.model == "contact":
            raise ValueError("interface.model = 'contact' on an image_stack window: its mesh is a voxel staircase, "
                             "whose 90-degree steps interlock when the sides slide, so gaps and contact pressures "
                             "would measure the voxel size, not the interface; use interface.model = 'bonded', "
                             "or contact on a 2D slice (kind = 'image')")
        if (getattr(self.geometry, "depth_m", None) is not None and self.interface.model == "contact"
                and self.interface.friction_coefficient > 0):
            raise ValueError("interface.friction_coefficient > 0 is 2D only: remove geometry.depth_m or set "
                             "interface.friction_coefficient = 0 (frictionless contact works in 3D)")
        return self

    @model_validator(mode="after")
    def _cycling_needs_electrochem(self) -> Scenario:
        from ecmsim.electrochem.steps import CURRENT_STEP_KINDS
        from ecmsim.protocol import parse_step

        if self.protocol is not None and self.electrochem is None and any(
                parse_step(s).kind in CURRENT_STEP_KINDS for s in self.protocol.steps):
            raise ValueError("protocol.steps: Plate/Strip steps need an [electrochem] section (the kinetics and "
                             "the potential problem, docs/electrochem.md)")
        if self.protocol is not None and any(parse_step(s).kind in CURRENT_STEP_KINDS for s in self.protocol.steps) \
                and getattr(self.geometry, "depth_m", None) is not None:
            raise ValueError("protocol.steps: Plate/Strip steps need a 2D window (remove geometry.depth_m)")
        return self

    def to_dict(self) -> dict[str, Any]:
        """The scenario as run: plain data, defaults filled in."""
        # Sections of time-dependent runs appear only when given, so that the input hash of a
        # static scenario is what it was before they existed.
        exclude = {"protocol"} if self.protocol is None else set()
        exclude |= {"creep"} if "creep" not in self.model_fields_set else set()
        exclude |= {"cycling"} if "cycling" not in self.model_fields_set else set()
        exclude |= {"fibre_readout"} if self.fibre_readout is None else set()
        return self.model_dump(mode="json", exclude=exclude)

    def input_hash(self) -> str:
        """SHA-256 of the scenario as run and of the material records it uses."""
        payload = {"scenario": self.to_dict(),
                   "materials": {k: m.as_dict() for k, m in self.materials.resolve().items()}}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def load(path: str | Path, overrides: list[str] | None = None) -> Scenario:
    """Read, override and validate a scenario file; ScenarioError with one clear line otherwise."""
    path = Path(path)
    data = read_toml(path)
    if isinstance(data.get("run"), list):
        raise ScenarioError(f"{path}: a study file (it lists [[run]] entries), not a scenario: run it with "
                            f"`ecmsim study {path}`")
    for item in overrides or []:
        apply_override(data, item, path)
    scn = validate(data, path)
    if scn.fibre_readout is not None:       # the cell scenario is found relative to this file: check it now
        from ecmsim.fibre_readout import load_cell
        try:
            load_cell(scn.fibre_readout.cell_scenario, path.parent)
        except ScenarioError as err:
            raise ScenarioError(f"{path}: {err}") from None
    return scn


def read_toml(path: Path) -> dict[str, Any]:
    """The raw TOML mapping of a scenario file."""
    if not path.is_file():
        raise ScenarioError(f"{path}: scenario file not found")
    try:
        text = path.read_bytes().decode("utf-8-sig")  # a byte-order mark (some Windows editors) is fine
        return tomllib.loads(text)
    except UnicodeDecodeError as err:
        raise ScenarioError(f"{path}: not a text file in UTF-8 (byte 0x{err.object[err.start]:02x} at offset "
                            f"{err.start}): a scenario is a TOML text file") from None
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"{path}: not valid TOML: {err}") from None
    except OSError as err:
        raise ScenarioError(f"{path}: cannot read: {err.strerror}") from None


def apply_override(data: dict[str, Any], item: str, path: Path | str = "<scenario>") -> None:
    """Apply ``section.key=value`` to the raw mapping; the value is parsed as TOML, else a string."""
    if "=" not in item:
        raise ScenarioError(f"--set {item!r}: expected SECTION.KEY=VALUE")
    dotted, raw = item.split("=", 1)
    keys = [k.strip() for k in dotted.strip().split(".")]
    if not all(keys):
        raise ScenarioError(f"--set {item!r}: empty key")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    node = data
    for k in keys[:-1]:
        child = node.setdefault(k, {})
        if not isinstance(child, dict):
            raise ScenarioError(f"--set {item!r}: '{k}' in {path} is a value, not a section")
        node = child
    node[keys[-1]] = value


def validate(data: dict[str, Any], path: Path | str = "<scenario>") -> Scenario:
    """A :class:`Scenario` from a raw mapping, or ScenarioError naming the first problem."""
    try:
        return Scenario.model_validate(copy.deepcopy(data))
    except ValidationError as err:
        raise ScenarioError(_describe(err, data, path)) from None
    except EcmsimError as err:
        raise ScenarioError(f"{path}: {err}") from None


def _describe(err: ValidationError, data: dict[str, Any], path: Path | str) -> str:
    first = err.errors()[0]
    loc = _clean_loc(first["loc"], data)
    key = ".".join(loc)
    kind = first["type"]
    more = f" (and {err.error_count() - 1} more problem(s))" if err.error_count() > 1 else ""
    unit = _unit_of(loc)
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1], data)
        return f"{path}: unknown key '{key}'" + (f" (allowed: {', '.join(allowed)})" if allowed else "") + more
    if kind == "missing":
        return f"{path}: missing key '{key}'{' ' + unit if unit else ''}{more}"
    value = first.get("input")
    msg = first["msg"]
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        op = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}[kind]
        limit = next(iter(first["ctx"].values()))
        msg = f"must be {op} {limit}"
    elif kind in ("float_type", "int_type", "float_parsing", "finite_number"):
        msg = "must be a finite number" if kind != "int_type" else "must be a whole number"
    elif kind == "value_error":
        msg = msg.removeprefix("Value error, ")
        if not loc or msg.startswith(f"{loc[0]}."):  # the message names its key itself
            return f"{path}: {msg}{more}"
    elif kind == "union_tag_invalid":
        tags = first["ctx"]["expected_tags"]
        return f"{path}: {key}.{first['ctx']['discriminator'].strip(chr(39))} = {first['ctx']['tag']!r}: must be one of {tags}{more}"
    shown = f" = {value!r}" if loc and not isinstance(value, dict) else ""
    return f"{path}: {key}{shown}: {msg}{' ' + unit if unit else ''}{more}"


def _clean_loc(loc: tuple, data: dict[str, Any]) -> list[str]:
    """Drop pydantic's union/discriminator members from a location."""
    out: list[str] = []
    node: Any = data
    for part in loc:
        part = str(part)
        if isinstance(node, dict) and part in node:
            out.append(part)
            node = node[part]
        elif isinstance(node, dict) and part not in node and not _is_member_tag(part):
            out.append(part)  # a missing key
            node = None
    return out


def _is_member_tag(part: str) -> bool:
    return part in GEOMETRY_KINDS or part in ("library", "inline")


def _section_model(loc: list[str], data: dict[str, Any]):
    model: Any = Scenario
    for part in loc:
        fields = getattr(model, "model_fields", {})
        if part not in fields:
            return None
        ann = fields[part].annotation
        if part == "geometry":
            kind = data.get("geometry", {}).get("kind", "flat") if isinstance(data.get("geometry"), dict) else "flat"
            model = GEOMETRY_KINDS.get(kind, FlatGeometry)
        else:
            model = section_class(ann)
        if model is None:
            return None
    return model


def _allowed_keys(loc: list[str], data: dict[str, Any]) -> list[str]:
    model = _section_model(loc, data)
    return list(model.model_fields) if model is not None else []


def _unit_of(loc: list[str]) -> str:
    if not loc:
        return ""
    name = loc[-1]
    for suffix, unit in (("_Pa", "[Pa]"), ("_m", "[m]"), ("_K", "[K]"), ("_s", "[s]"), ("_px", "[px]"),
                         ("_A_m2", "[A/m2]"), ("_S_m", "[S/m]")):
        if name.endswith(suffix):
            return unit
    return ""


def section_class(annotation) -> type[BaseModel] | None:
    """The section model of a field annotation (``X`` or an optional ``X | None``), else None."""
    import typing

    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def schema_keys() -> list[tuple[str, str]]:
    """Every (section, key) the schema accepts, geometry keys of all kinds included, in order.

    Top-level scalar keys (``title``) come as ``("", key)``.
    """
    out: list[tuple[str, str]] = []
    for section, field in Scenario.model_fields.items():
        inner = [a for a in (field.annotation, *getattr(field.annotation, "__args__", ()))
                 if isinstance(a, type) and issubclass(a, BaseModel)]
        if section == "geometry":
            models = list(GEOMETRY_KINDS.values())
        elif section_class(field.annotation) is not None:
            models = [section_class(field.annotation)]
        else:
            out.append(("", section))
            continue
        for model in models:
            out += [(section, key) for key in model.model_fields if (section, key) not in out]
    return out


__all__ = ["Scenario", "load", "validate", "apply_override", "schema_keys"]
