"""Measured spectra as interrogators and optical spectrum analysers export them.

A measured spectrum is a text table with a wavelength column and a signal column. Accepted:

- **Column names with their unit** in brackets, parentheses or after an underscore:
  ``Wavelength (nm)``, ``Wavelength [nm]``, ``wavelength_nm``, ``Lambda (um)``, ``wavelength_m``;
  ``Power (dBm)``, ``Reflection [dB]``, ``power_dBm``, ``dBm``, ``Power (mW)``, ``Intensity (a.u.)``,
  ``Reflectance (%)``, ``R``, ``reflectance``. Wavelength units nm, µm (um), pm, m; signal units
  dBm and dB (converted to linear by 10^(x/10)), W, mW, µW, nW, a.u., counts, % and none (linear).
  Names are matched without regard to case. A wavelength or power column without a unit is
  refused (1550 may be nm or a channel number, -20 may be dBm or µW): the message names the column.
- **Delimiters**: comma, semicolon, tab or spaces (read off the first data line); a decimal comma
  with semicolon, tab or space delimiters (``1550,125;-23,4``).
- **Preambles**: lines before the header (instrument, date, settings) are skipped: the header is
  the last line before the first row of numbers. Blank lines and lines starting with ``#`` or
  ``%`` are skipped anywhere.
- **Several signal columns** (channels): the first is read, and its name is kept with the spectrum.

An interrogator's dBm trace has an unknown absolute level (source power, losses): comparisons and
the decomposition use spectra normalised to their maximum.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecmsim.core.errors import InputFileError

#: Wavelength units -> metres.
WAVELENGTH_UNITS = {"nm": 1e-9, "um": 1e-6, "µm": 1e-6, "μm": 1e-6, "pm": 1e-12, "m": 1.0}
#: Signal units -> kind: "db" (10^(x/10)) or a linear factor.
SIGNAL_UNITS = {"dbm": "db", "db": "db", "w": 1.0, "mw": 1.0, "uw": 1.0, "µw": 1.0, "μw": 1.0, "nw": 1.0,
                "a.u.": 1.0, "au": 1.0, "arb. units": 1.0, "arb.u.": 1.0, "counts": 1.0, "%": 0.01, "": 1.0}
WAVELENGTH_NAMES = ("wavelength", "lambda", "λ", "wl")
SIGNAL_NAMES = ("power", "reflectance", "reflection", "reflectivity", "r", "intensity", "amplitude", "signal",
                "spectrum", "level", "dbm", "db")
#: Signal names that mean a linear, dimensionless quantity when no unit is given.
UNITLESS_LINEAR = ("r", "reflectance", "reflectivity", "intensity", "amplitude", "signal", "counts")


@dataclass(frozen=True)
class MeasuredSpectrum:
    """A measured spectrum: ``wavelength_m`` [m] and linear ``reflectance`` [-, or arbitrary linear
    units for a power trace]; ``source`` the file; ``column`` and ``unit`` the signal column read."""

    wavelength_m: np.ndarray
    reflectance: np.ndarray
    source: str
    column: str = ""
    unit: str = ""


def split_name(name: str) -> tuple[str, str]:
    """``"Wavelength (nm)"`` -> ("wavelength", "nm"); ``"power_dBm"`` -> ("power", "dbm"); ``"dBm"``
    -> ("dbm", "dbm"); ``"R"`` -> ("r", "")."""
    text = name.strip().strip('"').strip()
    m = re.match(r"^(.*?)\s*[\(\[]\s*([^\)\]]*?)\s*[\)\]]\s*$", text)
    if m:
        return m.group(1).strip().lower(), m.group(2).strip().lower()
    low = text.lower()
    if low in ("dbm", "db"):
        return low, low
    if "_" in low:
        base, unit = low.rsplit("_", 1)
        if unit in WAVELENGTH_UNITS or unit in SIGNAL_UNITS:
            return base, unit
    return low, ""


def _is_wavelength(base: str) -> bool:
    return any(base == w or base.startswith(w) for w in WAVELENGTH_NAMES)


def _is_signal(base: str, unit: str) -> bool:
    """A signal column: a signal word (``Power``, ``Reflection``...) or a signal unit (``CH1 (dBm)``)."""
    named = any(base == s or base.startswith((s + " ", s + "_")) for s in SIGNAL_NAMES)
    return named or (unit != "" and unit in SIGNAL_UNITS)


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputFileError(f"{path}: spectrum file not found") from None
    except OSError as err:
        raise InputFileError(f"{path}: cannot read: {err}") from None
    for encoding in ("utf-8-sig", "utf-16") if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else ("utf-8-sig", "latin-1"):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:
            return text
    raise InputFileError(f"{path}: not a text file (a spectrum is a CSV or text table)")


def _delimiter(line: str) -> str | None:
    """The delimiter of a data line: tab, semicolon, comma, else None (runs of spaces)."""
    for d in ("\t", ";", ","):
        if d in line:
            return d
    return None


def _fields(line: str, delimiter: str | None, decimal_comma: bool) -> list[str]:
    parts = line.split(delimiter) if delimiter else line.split()
    parts = [p.strip().strip('"').strip() for p in parts]
    if delimiter and parts and parts[-1] == "":   # a trailing delimiter
        parts = parts[:-1]
    return [p.replace(",", ".") for p in parts] if decimal_comma else parts


def _numeric(fields: list[str]) -> bool:
    if len(fields) < 2:
        return False
    try:
        [float(f) for f in fields]
    except ValueError:
        return False
    return True


def read_measured_csv(path: str | Path) -> MeasuredSpectrum:
    """A measured spectrum (module docstring: the layouts, units and delimiters accepted)."""
    path = Path(path)
    text = _read_text(path)
    lines = [(i + 1, ln) for i, ln in enumerate(text.splitlines())
             if ln.strip() and not ln.lstrip().startswith(("#", "%"))]
    # the first line of numbers fixes the delimiter and the decimal mark
    first = None
    for k, (_, ln) in enumerate(lines):
        d = _delimiter(ln)
        for decimal_comma in (False, True) if d != "," else (False,):
            if _numeric(_fields(ln, d, decimal_comma)):
                first, delimiter, comma = k, d, decimal_comma
                break
        if first is not None:
            break
    if first is None:
        raise InputFileError(f"{path}: no rows of numbers: a spectrum needs a header line and at least three "
                             f"samples")
    if first == 0:
        raise InputFileError(f"{path}: no header line naming the columns (e.g. 'Wavelength (nm),Power (dBm)')")
    header_no, header_line = lines[first - 1]
    width = len(_fields(lines[first][1], delimiter, comma))
    header = _fields(header_line, delimiter, False)
    if delimiter is None and len(header) != width:   # names with spaces: columns apart by 2+ spaces
        header = [h.strip('"') for h in re.split(r"\s{2,}", header_line.strip())]
    if len(header) != width:
        raise InputFileError(f"{path}: line {header_no}: the header has {len(header)} columns, the data "
                             f"{width} (line {lines[first][0]})")
    rows, numbers = [], []
    for line_no, ln in lines[first:]:
        fields = _fields(ln, delimiter, comma)
        if len(fields) != width:
            raise InputFileError(f"{path}: line {line_no}: {len(fields)} fields, the header has {width}")
        values = []
        for name, raw in zip(header, fields):
            try:
                v = float(raw)
            except ValueError:
                raise InputFileError(f"{path}: line {line_no}: column {name} = {raw!r} is not a number") from None
            if not math.isfinite(v):
                raise InputFileError(f"{path}: line {line_no}: column {name} = {raw!r}: must be a finite number")
            values.append(v)
        rows.append(line_no)
        numbers.append(values)
    if len(numbers) < 3:
        raise InputFileError(f"{path}: a spectrum needs a header line and at least three samples")
    data = np.array(numbers)
    return _measured(path, header, data)


def _measured(path: Path, header: list[str], data: np.ndarray) -> MeasuredSpectrum:
    split = [split_name(h) for h in header]
    wl = [k for k, (base, _) in enumerate(split) if _is_wavelength(base)]
    if not wl:
        raise InputFileError(f"{path}: missing a wavelength column (e.g. 'Wavelength (nm)' or wavelength_nm); "
                             f"found columns: {', '.join(header)}")
    k_wl = wl[0]
    unit = split[k_wl][1]
    if unit not in WAVELENGTH_UNITS:
        raise InputFileError(f"{path}: column {header[k_wl]!r}: " + (
            "no unit: name it with one, e.g. 'Wavelength (nm)'" if not unit else
            f"unknown wavelength unit {unit!r} (one of {', '.join(u for u in WAVELENGTH_UNITS if u != 'μm')})"))
    sig = [k for k, (base, unit) in enumerate(split) if k != k_wl and _is_signal(base, unit)]
    if not sig:
        raise InputFileError(f"{path}: missing a signal column (e.g. 'Power (dBm)', 'Reflectance', R or "
                             f"power_dBm); found columns: {', '.join(header)}")
    k_sig = sig[0]
    base, sunit = split[k_sig]
    if sunit not in SIGNAL_UNITS:
        raise InputFileError(f"{path}: column {header[k_sig]!r}: unknown unit {sunit!r} (dBm, dB, W, mW, µW, nW, "
                             f"a.u., counts or %)")
    if not sunit and base not in UNITLESS_LINEAR:
        raise InputFileError(f"{path}: column {header[k_sig]!r} has no unit: name it with one, e.g. "
                             f"'{header[k_sig].strip()} (dBm)' or '{header[k_sig].strip()} (mW)'")
    lam = data[:, k_wl] * WAVELENGTH_UNITS[unit]
    back = np.flatnonzero(np.diff(lam) <= 0)
    if back.size:
        raise InputFileError(f"{path}: wavelengths must increase strictly (sample {back[0] + 2}: "
                             f"{lam[back[0] + 1]:.9g} m after {lam[back[0]]:.9g} m)")
    if not (100e-9 < lam.min() and lam.max() < 10e-6):
        raise InputFileError(f"{path}: {header[k_wl]} spans {lam.min():.6g}-{lam.max():.6g} m: not an optical "
                             f"wavelength range (is the unit of the column name right?)")
    values = data[:, k_sig]
    kind = SIGNAL_UNITS[sunit]
    linear = 10.0 ** (values / 10.0) if kind == "db" else values * kind
    if not np.any(linear > 0):
        raise InputFileError(f"{path}: column {header[k_sig]!r} holds no positive value: nothing was reflected")
    return MeasuredSpectrum(lam, linear, str(path), column=header[k_sig].strip(), unit=sunit)


__all__ = ["MeasuredSpectrum", "read_measured_csv", "split_name"]
