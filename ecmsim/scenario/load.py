"""Reading scenario files: TOML -> ``--set`` overrides -> :class:`~ecmsim.scenario.schema.Scenario`,
with one line naming file, key, value and range for anything wrong; the list of every key."""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ecmsim.core.errors import EcmsimError, ScenarioError
from ecmsim.scenario.geometry import GEOMETRY_KINDS, FlatGeometry
from ecmsim.scenario.schema import Scenario


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
        try:
            load_cell(scn.fibre_readout.cell_scenario, path.parent)
        except ScenarioError as err:
            raise ScenarioError(f"{path}: {err}") from None
    return scn


def read_toml(path: Path, what: str = "scenario", error: type[EcmsimError] = ScenarioError) -> dict[str, Any]:
    """The raw TOML mapping of a scenario file (or of another TOML input: ``what`` names it in
    the messages, ``error`` is the error class raised); every way it can fail is one line."""
    if not path.is_file():
        raise error(f"{path}: {what} file not found")
    try:
        text = path.read_bytes().decode("utf-8-sig")  # a byte-order mark (some Windows editors) is fine
        return tomllib.loads(text)
    except UnicodeDecodeError as err:
        raise error(f"{path}: not a text file in UTF-8 (byte 0x{err.object[err.start]:02x} at offset "
                    f"{err.start}): a {what} is a TOML text file") from None
    except tomllib.TOMLDecodeError as err:
        raise error(f"{path}: not valid TOML: {err}") from None
    except RecursionError:
        raise error(f"{path}: tables or arrays nested too deeply to be a {what} file") from None
    except OSError as err:
        raise error(f"{path}: cannot read: {err.strerror}") from None


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
    except RecursionError:
        raise ScenarioError(f"--set {dotted.strip()}=...: the value is nested too deeply") from None
    node = data
    for k in keys[:-1]:
        child = node.setdefault(k, {})
        if not isinstance(child, dict):
            raise ScenarioError(f"--set {item!r}: '{k}' in {path} is a value, not a section")
        node = child
    node[keys[-1]] = value


def validate(data: dict[str, Any], path: Path | str = "<scenario>") -> Scenario:
    """A :class:`Scenario` from a raw mapping, or ScenarioError naming the first problem."""
    data = copy.deepcopy(data)
    if isinstance(data.get("geometry"), dict):
        data["geometry"].setdefault("kind", FlatGeometry.model_fields["kind"].default)  # as `run --keys` says
    try:
        return Scenario.model_validate(data)
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
    # compound units first: a key in m^3/s or 1/K must not read as one in s or K
    for suffix, unit in (("_m3_s", "[m3/s]"), ("_J_m2", "[J/m2]"), ("_per_K", "[1/K]"), ("_Pa", "[Pa]"),
                         ("_m", "[m]"), ("_K", "[K]"), ("_s", "[s]"), ("_px", "[px]"), ("_A_m2", "[A/m2]"),
                         ("_S_m", "[S/m]")):
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


def load_cell(cell_scenario: str | Path, base_dir: Path | None = None, overrides: Sequence[str] = (),
              where: str = "fibre_readout.cell_scenario"):
    """The cell scenario (a path relative to ``base_dir``), checked to be an fbg_cell scenario."""
    path = Path(cell_scenario)
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    if not path.is_file():
        raise ScenarioError(f"{where} = '{cell_scenario}': no such file ({path})")
    scn = load(path, list(overrides))
    if scn.geometry.kind != "fbg_cell":
        raise ScenarioError(f"{where} = '{cell_scenario}': must be a fibre-cell scenario (geometry.kind = "
                            f"'fbg_cell', got '{scn.geometry.kind}')")
    return scn, path


__all__ = ["load", "validate", "apply_override", "read_toml", "schema_keys", "section_class", "load_cell"]
