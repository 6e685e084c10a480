"""The whole scenario: its sections, the checks that span several of them, the scenario as run
and its input hash."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import Field, model_validator

from ecmsim.core.errors import ScenarioError
from ecmsim.scenario.base import Section
from ecmsim.scenario.geometry import GeometrySection
from ecmsim.scenario.protocol import ProtocolSection
from ecmsim.scenario.sections import (
    CreepSection,
    CyclingSection,
    ElectrochemSection,
    FibreReadoutSection,
    InterfaceSection,
    LoadingSection,
    MaterialsSection,
    MeshSection,
    OutputSection,
    SolverSection,
)


#: Library records of composite electrolytes (particles included) -> the record of their matrix.
COMPOSITE_ELECTROLYTES = {"PLL": "PEO-LiTFSI"}


class Scenario(Section):
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
            if self.protocol is None or not self.protocol.has_current_steps():
                raise ValueError("fibre_readout: the fibre read-out needs plating/stripping cycles (a [protocol] "
                                 "with Plate/Strip steps)")
            if not self.cycling.profiles:
                raise ValueError("fibre_readout: needs cycling.profiles = true (the window's interface history)")
        if self.cycling.persistent_voids and (self.fibre_readout is None or self.fibre_readout.pressure_mapping != "cell"):
            raise ValueError("cycling.persistent_voids = true: the voids live in the foil beside the fibre; needs "
                             "[fibre_readout] with pressure_mapping = 'cell'")
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
    def _particles_need_their_material(self) -> Scenario:
        if getattr(self.geometry, "particles", False):
            if self.materials.particle is None:
                raise ValueError("geometry.particles = true meshes the particles of the electrolyte: give their "
                                 "material, materials.particle (e.g. \"LLZO\")")
            if self.materials.electrolyte in COMPOSITE_ELECTROLYTES:
                raise ValueError(f"materials.electrolyte = \"{self.materials.electrolyte}\" is the composite's modulus "
                                 f"(particles included): with geometry.particles = true the electrolyte regions are its "
                                 f"matrix; use \"{COMPOSITE_ELECTROLYTES[self.materials.electrolyte]}\" (calibrated, "
                                 f"docs/mechanics.md) or your own matrix")
        return self

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
        from ecmsim.scenario import guards
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
        cycling = self.protocol is not None and self.protocol.has_current_steps()
        if cycling and self.electrochem is None:
            raise ValueError("protocol.steps: Plate/Strip steps need an [electrochem] section (the kinetics and "
                             "the potential problem, docs/electrochem.md)")
        if cycling and getattr(self.geometry, "depth_m", None) is not None:
            raise ValueError("protocol.steps: Plate/Strip steps need a 2D window (remove geometry.depth_m)")
        contact = self.interface.model == "contact"
        if "contact_activity_gap_m" in self.cycling.model_fields_set and not contact:
            raise ValueError("cycling.contact_activity_gap_m applies to interface.model = 'contact' only "
                             f"(model is '{self.interface.model}')")
        if self.cycling.interface_diffusion_m3_s > 0 and not contact:
            raise ValueError("cycling.interface_diffusion_m3_s > 0 moves Li along a contact interface: it needs "
                             f"interface.model = 'contact' (model is '{self.interface.model}')")
        if self.cycling.interface_energy_J_m2 > 0 and not self.cycling.interface_diffusion_m3_s > 0:
            raise ValueError("cycling.interface_energy_J_m2 > 0 acts through the interface diffusion: it needs "
                             "cycling.interface_diffusion_m3_s > 0")
        if self.cycling.interface_diffusion_m3_s > 0 and _has_skeleton(self.materials):
            raise ValueError("cycling.interface_diffusion_m3_s > 0: the electrode has a skeleton network "
                             "(skeleton_network_current_A_m2), which takes the deposit into its bulk and lifts the "
                             "interface rigidly, so nothing is left to diffuse; set it to 0")
        if cycling and contact and self.cycling.growth_smoothing_length_m > 0:
            raise ValueError("cycling.growth_smoothing_length_m > 0 spreads the bonded window's growth eigenstrain; "
                             "with interface.model = 'contact' the plated Li moves the contact surface facet by facet "
                             "and there is no eigenstrain to spread (set growth_smoothing_length_m = 0)")
        voids = self.cycling.persistent_voids or self.cycling.interface_voids
        if self.cycling.void_diffusion_m3_s is not None and not voids:
            raise ValueError("cycling.void_diffusion_m3_s supplies the voids: it needs cycling.persistent_voids = "
                             "true (the voids beside the fibre) or interface_voids = true (the bonded window's)")
        if cycling and contact and self.cycling.interface_voids:
            raise ValueError("cycling.interface_voids = true: the bonded window's mean-field voids; with "
                             "interface.model = 'contact' the gap is the void (set interface_voids = false)")
        return self

    def to_dict(self) -> dict[str, Any]:
        """The scenario as run: plain data, defaults filled in."""
        # Sections of time-dependent runs appear only when given, so that the input hash of a
        # static scenario is what it was before they existed.
        exclude = {"protocol"} if self.protocol is None else set()
        exclude |= {"creep"} if "creep" not in self.model_fields_set else set()
        exclude |= {"cycling"} if "cycling" not in self.model_fields_set else set()
        exclude |= {"fibre_readout"} if self.fibre_readout is None else set()
        out = self.model_dump(mode="json", exclude=exclude)
        for key in ("contact_activity_gap_m", "interface_diffusion_m3_s", "interface_energy_J_m2",
                    "void_diffusion_m3_s"):
            if "cycling" in out and key not in self.cycling.model_fields_set:
                del out["cycling"][key]   # the input hash of a run without them stays what it was
        return out

    def input_hash(self) -> str:
        """SHA-256 of the scenario as run and of the material records it uses."""
        payload = {"scenario": self.to_dict(),
                   "materials": {k: m.as_dict() for k, m in self.materials.resolve().items()}}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _has_skeleton(materials) -> bool:
    """Whether the scenario's electrode has a skeleton network (Li-Sn)."""
    from ecmsim.electrochem.voids import network_current_A_m2
    try:
        return network_current_A_m2(materials.resolve()["electrode"]) > 0
    except (KeyError, ValueError):
        return False


__all__ = ["Scenario"]
