"""The sections of a scenario other than ``[geometry]``: materials, loading, interface, mesh,
solver, electrochemistry, output, creep, cycling and the fibre read-out. Every key states its unit
and range (``ecmsim run --keys``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from ecmsim import materials as materials_lib
from ecmsim.materials.creep import CREEP_KEYS, SIZE_KEYS
from ecmsim.scenario.base import Length, Section


class InlineMaterial(Section):
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
    skeleton_volume_fraction: float | None = Field(
        None, ge=0, lt=1, allow_inf_nan=False,
        description="electrode: volume fraction of a non-creeping skeleton in the creeping matrix (Li-Sn: Li22Sn5) [-]")
    skeleton_youngs_modulus_Pa: float | None = Field(
        None, ge=1e3, le=2e12, allow_inf_nan=False, description="electrode: the skeleton's Young's modulus [Pa]")
    skeleton_hardness_Pa: float | None = Field(
        None, ge=0, le=1e12, allow_inf_nan=False, description="electrode: the skeleton's hardness [Pa]")
    skeleton_network_current_A_m2: float | None = Field(
        None, ge=0, le=1e7, allow_inf_nan=False,
        description="electrode: stripping current density a mixed-conducting skeleton feeds to the interface from "
                    "the bulk (Li-Sn: the Li22Sn5 network; docs/electrochem.md) [A/m2]")

    def properties(self) -> dict[str, float]:
        """The optional values that were given (creep, electrochemistry), by key."""
        return {k: v for k, v in self.model_dump().items()
                if k not in ("youngs_modulus_Pa", "poissons_ratio", "source") and v is not None}


MaterialRef = Annotated[Annotated[str, Tag("library")] | Annotated[InlineMaterial, Tag("inline")],
                        Discriminator(lambda v: "inline" if isinstance(v, dict | InlineMaterial) else "library")]


class MaterialsSection(Section):
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


class LoadingSection(Section):
    """Mechanical and thermal loading."""

    stack_pressure_Pa: float = Field(gt=0, le=1e9, allow_inf_nan=False,
                                     description="stack pressure on the electrode top [Pa]")
    temperature_K: float = Field(333.15, gt=0, le=1000, allow_inf_nan=False,
                                 description="cell temperature [K] (reference cell: 60 C)")
    sides: Literal["roller"] = Field("roller", description="lateral boundary condition")


class InterfaceSection(Section):
    """How electrode and electrolyte are joined."""

    model: Literal["bonded", "contact"] = Field(
        "bonded", description="bonded: continuous displacement; contact: no penetration, free separation, small "
                              "sliding, frictionless unless friction_coefficient > 0 (Nitsche, docs/contact.md)")
    nitsche_parameter: float = Field(
        100.0, gt=0, le=1e4, allow_inf_nan=False,
        description="contact: gamma0 in gamma = gamma0 / (h+/E'+ + h-/E'-), E' = E/(1-nu^2) of each side, h the "
                    "element height over the facet [-]; 100-1000 agree to 0.2 % in L2 stress; with a creeping body >= 1 "
                    "(below, untried: a warning, docs/contact.md) (0 < x <= 1e4)")
    nitsche_variant: Literal["skew", "symmetric", "incomplete"] = Field(
        "skew", description="contact: theta = -1 (skew, stable for any nitsche_parameter between elastic bodies), "
                            "1 (symmetric, needs nitsche_parameter >= ~30) or 0")
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


class MeshSection(Section):
    """Mesh resolution."""

    size_m: Length = Field(description="element size away from the interface [m]")
    interface_size_m: Length | None = Field(None, description="element size at the interface [m]")
    refine_distance_m: Length | None = Field(None, description="refinement band width [m]")
    max_cells: int = Field(2_000_000, gt=0, le=50_000_000, strict=True,
                           description="refuse meshes with more triangles [-]")
    tip_size_m: Length | None = Field(None, description="element size at void tips [m] (default: half the "
                                                        "interface size)")
    refine_levels: int | None = Field(
        None, ge=0, le=3, strict=True,
        description="2D: gmsh meshes at 2^L times every size, dolfinx splits every triangle into four L times on "
                    "all ranks (default: 1 or 2 from 100 000 estimated triangles, 0 below; docs/geometry.md) [-] "
                    "(0 ... 3)")

    @model_validator(mode="after")
    def _refined_not_coarser(self) -> MeshSection:
        for key in ("interface_size_m", "tip_size_m"):
            value = getattr(self, key)
            if value is not None and value > self.size_m:
                raise ValueError(f"mesh.{key} = {value:g} must be <= mesh.size_m ({self.size_m:g} m): it refines "
                                 "the mesh near the interface, it cannot coarsen it [m]")
        return self


class SolverSection(Section):
    """Discretisation."""

    element_degree: int = Field(2, ge=1, le=3, strict=True, description="Lagrange degree of displacement [-]")
    linear: Literal["auto", "direct", "iterative"] = Field(
        "auto", description="linear solver: direct (MUMPS LU), iterative (CG/GMRES + algebraic multigrid) or auto "
                            "(iterative from 300 000 dofs in 2D, 50 000 in 3D: the measured crossover)")


class ElectrochemSection(Section):
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


class OutputSection(Section):
    """What to write besides summary.json."""

    fields: bool = Field(True, description="write the fields: VTU/PVD (ParaView, pyvista, meshio) and VTX .bp")
    plots: bool = Field(True, description="write PNG figures")


class CreepSection(Section):
    """Creep options (the law itself is part of each material record, docs/creep.md)."""

    enabled: bool = Field(True, description="materials with creep keys creep during a [protocol] (false: all "
                                            "elastic)")
    characteristic_length_m: float | None = Field(
        None, gt=0, lt=1, allow_inf_nan=False,
        description="feature size of the creeping material for its size effect (thin Li is stronger): "
                    "sigma0 * (L_ref/L)^m below L_ref [m]; default: bulk law")


class CyclingSection(Section):
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
    interface_voids: bool = Field(
        False, description="stripping opens voids where it outruns the Li that the electrode's creep brings to "
                           "the interface; open facets pass no current, pressure closes them (docs/electrochem.md, "
                           "voids on stripping)")
    void_supply_length_m: float | None = Field(
        None, gt=0, lt=1e-2, allow_inf_nan=False,
        description="distance over which creep supplies Li to the interface, l in v_c = l eps_dot(sigma) [m] "
                    "(0 < x < 0.01); default: creep.characteristic_length_m, else deposition_layer_thickness_m")
    void_diffusion_m3_s: float | None = Field(
        None, ge=0, lt=1e-12, allow_inf_nan=False,
        description="D_i delta_i of the voids' supply by Li diffusing along the interface, v_d = 4 p B / l^2 with "
                    "B = D_i delta_i Omega / RT (docs/electrochem.md, voids that persist) [m^3/s] (0 <= x < 1e-12); "
                    "default: interface_diffusion_m3_s (the contact window's; 0 on a bonded window: creep alone)")
    dead_li_porosity: float = Field(
        0.0, ge=0, le=0.9, allow_inf_nan=False,
        description="porosity of dead Li: dead Li of dense-equivalent thickness h occupies h/(1 - x) in the "
                    "window's growth eigenstrain and in the foil beside the fibre (docs/electrochem.md, "
                    "porous dead Li) [-] (0 <= x <= 0.9); 0: counted dense")
    persistent_voids: bool = Field(
        False, description="voids that persist from cycle to cycle in the foil beside the fibre (the fibre "
                           "read-out's cell along the grating): void height g' = max(-i,0) Omega/F - l eps_dot(p) "
                           "- v_d - v_n with the electrode's creep law at the foil's local pressure, the interface "
                           "diffusion (void_diffusion_m3_s) and the skeleton (docs/electrochem.md, voids that "
                           "persist); needs [fibre_readout] with pressure_mapping = 'cell'")
    growth_smoothing_length_m: float = Field(
        0.0, ge=0, lt=1e-3, allow_inf_nan=False,
        description="width of the Gaussian that spreads each facet's plated Li over the deposition layer "
                    "(docs/electrochem.md, growth eigenstrain) [m] (0 <= x < 0.001); 0: every layer point "
                    "takes its nearest facet's growth; bonded windows only (a contact window has no eigenstrain)")
    contact_activity_gap_m: float = Field(
        10e-9, gt=0, lt=1e-4, allow_inf_nan=False,
        description="interface.model = 'contact' only: g0 of the contact activity exp(-g/g0) of a facet whose "
                    "gap is g (CHOSEN, docs/electrochem.md, contact + creep + plating) [m] (0 < x < 1e-4)")
    interface_diffusion_m3_s: float = Field(
        0.0, ge=0, lt=1e-12, allow_inf_nan=False,
        description="interface.model = 'contact', Li only: D_i delta_i of Li diffusing along the interface from "
                    "high contact pressure to low (docs/electrochem.md, interface diffusion) [m^3/s] "
                    "(0 <= x < 1e-12); 0: none")
    interface_energy_J_m2: float = Field(
        0.0, ge=0, lt=10, allow_inf_nan=False,
        description="with interface_diffusion_m3_s > 0: gamma of the deposit's surface, whose curvature enters the "
                    "diffusing Li's chemical potential, mu / Omega = p - gamma d2h/ds2 (docs/electrochem.md, "
                    "interface diffusion) [J/m^2] (0 <= x < 10); 0: none")
    profiles: bool = Field(True, description="write interface_profiles.csv (every accepted step, every facet)")


class FibreReadoutSection(Section):
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
    pressure_mapping: Literal["cell", "change", "absolute"] = Field(
        "cell", description="cell: the fibre along the grating with the plunger's force balanced, each section's "
                            "foil taking the Li deposited in its window bin (needs a process cell); change / "
                            "absolute (they do not keep force balance): section pressure = stack pressure + change "
                            "of the bin's mean stress since t = 0, or the bin's mean itself")

    @field_validator("library_pressure_factors")
    @classmethod
    def _distinct(cls, value: list[float]) -> list[float]:
        if len(set(value)) != len(value):
            raise ValueError(f"must be distinct (got {value})")
        return value


__all__ = ["InlineMaterial", "MaterialRef", "MaterialsSection", "LoadingSection", "InterfaceSection", "MeshSection",
           "SolverSection", "ElectrochemSection", "OutputSection", "CreepSection", "CyclingSection",
           "FibreReadoutSection"]
