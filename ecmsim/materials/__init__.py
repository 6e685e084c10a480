"""Material records and the materials library.

The library is data (``library.toml`` beside this file): one record per material and source,
every numeric key with its SI unit in its name and a citation under ``<record>.sources``.
:func:`get` returns a validated :class:`Material`; :func:`from_mapping` builds one from an
inline scenario table (a user's own measurement), with the same checks.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from ecmsim.core.errors import MaterialError

LIBRARY_PATH = Path(__file__).with_name("library.toml")

#: Physical ranges every record must respect: key -> (low, high), open at both ends except for
#: the keys of :data:`_INCLUSIVE` (docs/scenarios.md states them as closed).
_RANGES: dict[str, tuple[float, float]] = {
    "youngs_modulus_Pa": (1e3, 2e12),  # soft gels (kPa) to diamond (1.2 TPa)
    "poissons_ratio": (-1.0, 0.5),
    "shear_modulus_Pa": (1e2, 1e12),
    "density_kg_m3": (0.0, math.inf),
    "molar_volume_m3_mol": (0.0, math.inf),
    "diameter_m": (0.0, math.inf),
    "effective_index": (1.0, 5.0),
    # Norton creep (ecmsim.materials.creep); a zero prefactor is allowed: no creep
    "creep_rate_prefactor_per_s": (-1e-300, 1e30),
    "creep_stress_exponent": (0.999999, 20.0),
    "creep_activation_energy_J_per_mol": (-1e-300, 1e6),
    "creep_reference_stress_Pa": (0.0, 1e10),
    "creep_size_reference_length_m": (0.0, 1.0),
    "creep_size_exponent": (-1e-300, 2.0),
    "exchange_current_density_A_m2": (0.0, math.inf),
    "charge_transfer_coefficient": (0.0, 1.0),
    "ionic_conductivity_S_m": (0.0, math.inf),
    "ionic_conductivity_reference_temperature_K": (0.0, math.inf),
    # a non-creeping skeleton inside a creeping matrix (Li-Sn: Li22Sn5 in Li)
    "skeleton_volume_fraction": (0.0, 1.0),
    "skeleton_youngs_modulus_Pa": (1e3, 2e12),
    "skeleton_hardness_Pa": (0.0, 1e12),
    # a mixed-conducting skeleton that feeds the interface from the electrode's bulk (ecmsim.electrochem.voids)
    "skeleton_network_current_A_m2": (0.0, 1e7),
}


@dataclass(frozen=True)
class Material:
    """An isotropic material record.

    Attributes:
        key: library name (``"Li"``) or ``"<inline>"`` for a scenario's own table.
        youngs_modulus_Pa: Young's modulus E [Pa].
        poissons_ratio: Poisson's ratio nu [-], -1 < nu < 0.5.
        properties: further values, unit in the key name (``p11``, ``thermo_optic_per_K``...).
        sources: citation per key.
        description: what the record describes.
    """

    key: str
    youngs_modulus_Pa: float
    poissons_ratio: float
    properties: Mapping[str, float] = field(default_factory=dict)
    sources: Mapping[str, str] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self) -> None:
        _check_ranges(self.key, {"youngs_modulus_Pa": self.youngs_modulus_Pa,
                                 "poissons_ratio": self.poissons_ratio, **self.properties})

    @property
    def lame_lambda_Pa(self) -> float:
        """First Lamé parameter lambda = E nu / ((1 + nu)(1 - 2 nu)) [Pa]."""
        E, nu = self.youngs_modulus_Pa, self.poissons_ratio
        return E * nu / ((1 + nu) * (1 - 2 * nu))

    @property
    def plane_strain_modulus_Pa(self) -> float:
        """E / (1 - nu^2) [Pa]: the plane-strain modulus (a half-space's, Hertz's E* with a rigid partner)."""
        return self.youngs_modulus_Pa / (1 - self.poissons_ratio ** 2)

    @property
    def lame_mu_Pa(self) -> float:
        """Shear modulus mu = E / (2 (1 + nu)) [Pa] (isotropic relation, not the record's own G)."""
        return self.youngs_modulus_Pa / (2 * (1 + self.poissons_ratio))

    def get(self, name: str) -> float:
        """A property by its key name; raises MaterialError naming the record if absent."""
        if name == "youngs_modulus_Pa":
            return self.youngs_modulus_Pa
        if name == "poissons_ratio":
            return self.poissons_ratio
        try:
            return self.properties[name]
        except KeyError:
            have = ", ".join(["youngs_modulus_Pa", "poissons_ratio", *self.properties])
            raise MaterialError(f"material '{self.key}' has no '{name}' (it has: {have})") from None

    def as_dict(self) -> dict[str, Any]:
        """Plain record for provenance (summary.json)."""
        return {"key": self.key, "description": self.description,
                "youngs_modulus_Pa": self.youngs_modulus_Pa, "poissons_ratio": self.poissons_ratio,
                **dict(self.properties), "sources": dict(self.sources)}


#: Ranges that include their limits.
_INCLUSIVE = {"youngs_modulus_Pa"}


def _check_ranges(key: str, values: Mapping[str, Any]) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise MaterialError(f"material '{key}': {name} = {value!r} is not a finite number")
        lo, hi = _RANGES.get(name, (-math.inf, math.inf))
        if name in _INCLUSIVE:
            if not lo <= value <= hi:
                raise MaterialError(f"material '{key}': {name} = {value!r} outside [{lo:g}, {hi:g}]")
        elif not lo < value < hi:
            raise MaterialError(f"material '{key}': {name} = {value!r} outside ({lo}, {hi})")


def _record_to_material(key: str, record: Mapping[str, Any], where: str) -> Material:
    record = dict(record)
    sources = record.pop("sources", {}) or {}
    description = record.pop("description", "")
    for required in ("youngs_modulus_Pa", "poissons_ratio"):
        if required not in record:
            raise MaterialError(f"{where}: material '{key}' lacks '{required}'")
    E = record.pop("youngs_modulus_Pa")
    nu = record.pop("poissons_ratio")
    return Material(key=key, youngs_modulus_Pa=E, poissons_ratio=nu, properties=record,
                    sources=dict(sources), description=description)


def contact_modulus_Pa(*records: Material) -> float:
    """E* of bodies pressed together in plane strain, 1/E* = sum_i (1 - nu_i^2)/E_i [Pa] (Hertz, Johnson)."""
    return 1.0 / sum((1 - m.poissons_ratio ** 2) / m.youngs_modulus_Pa for m in records)


@cache
def library() -> dict[str, Material]:
    """All records of ``library.toml``, validated, by key."""
    with LIBRARY_PATH.open("rb") as fh:
        data = tomllib.load(fh)
    out = {}
    for key, record in data.items():
        material = _record_to_material(key, record, str(LIBRARY_PATH))
        missing = [k for k in ("youngs_modulus_Pa", "poissons_ratio", *material.properties)
                   if k not in material.sources]
        if missing:
            raise MaterialError(f"{LIBRARY_PATH}: material '{key}' has no source for {', '.join(missing)}")
        out[key] = material
    return out


def names() -> list[str]:
    """Keys of the library records."""
    return list(library())


def get(key: str) -> Material:
    """The library record ``key``; MaterialError listing the known keys otherwise."""
    try:
        return library()[key]
    except KeyError:
        raise MaterialError(f"unknown material '{key}' (known: {', '.join(names())})") from None


def from_mapping(table: Mapping[str, Any], where: str = "<inline>") -> Material:
    """A material from an inline table with at least ``youngs_modulus_Pa`` and ``poissons_ratio``."""
    return _record_to_material("<inline>", table, where)


def format_table() -> str:
    """The library as a text table (for ``ecmsim materials``)."""
    rows = [("key", "E [GPa]", "nu [-]", "description / modulus source")]
    for key, m in library().items():
        rows.append((key, f"{m.youngs_modulus_Pa / 1e9:.4g}", f"{m.poissons_ratio:.3g}",
                     f"{m.description}; E: {m.sources['youngs_modulus_Pa']}"))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]}" for r in rows]
    lines.insert(1, "-" * min(120, len(lines[0])))
    return "\n".join(lines)


def format_record(key: str) -> str:
    """Every value of one record with its unit-bearing key and source."""
    m = get(key)
    lines = [f"{key}: {m.description}"]
    values = {"youngs_modulus_Pa": m.youngs_modulus_Pa, "poissons_ratio": m.poissons_ratio, **m.properties}
    width = max(len(k) for k in values)
    for name, value in values.items():
        lines.append(f"  {name:<{width}} = {value:<12.6g} {m.sources.get(name, '')}")
    return "\n".join(lines)
