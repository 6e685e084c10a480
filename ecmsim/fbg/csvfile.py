"""Numeric CSV tables (strain profiles, spectra) read with errors that name file, line and column."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecmsim.core.errors import InputFileError


@dataclass(frozen=True)
class Table:
    """A numeric CSV: ``header`` names, ``header_line`` (1-based), ``columns`` by name and the
    1-based ``lines`` of the data rows (for messages)."""

    header: list[str]
    header_line: int
    columns: dict[str, np.ndarray]
    lines: np.ndarray


def read_numeric_csv(path: str | Path, kind: str) -> Table:
    """Read a CSV whose first non-comment line is a header and every other value a finite number.

    Blank lines and lines starting with ``#`` are skipped. ``kind`` ("profile", "spectrum")
    words the messages. Raises InputFileError for a missing, unreadable or empty file, a repeated
    column, a row with the wrong number of fields, and a value that is not a finite number.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark (Excel "CSV UTF-8") is fine
    except FileNotFoundError:
        raise InputFileError(f"{path}: {kind} file not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputFileError(f"{path}: cannot read: {err}") from None
    rows = [(i + 1, line) for i, line in enumerate(text.splitlines())
            if line.strip() and not line.lstrip().startswith("#")]
    if not rows:
        raise InputFileError(f"{path}: empty {kind} file (no header line)")
    header_line, header_text = rows[0]
    header = [h.strip() for h in next(csv.reader([header_text]))]
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise InputFileError(f"{path}: line {header_line}: column {repeated[0]!r} appears twice")
    values: dict[str, list[float]] = {name: [] for name in header}
    lines = []
    for (line_no, _), fields in zip(rows[1:], csv.reader(r[1] for r in rows[1:])):
        if len(fields) != len(header):
            raise InputFileError(f"{path}: line {line_no}: {len(fields)} fields, the header has {len(header)}")
        for name, raw in zip(header, fields):
            try:
                v = float(raw)
            except ValueError:
                raise InputFileError(f"{path}: line {line_no}: column {name} = {raw.strip()!r} "
                                     f"is not a number") from None
            if not math.isfinite(v):
                raise InputFileError(f"{path}: line {line_no}: column {name} = {raw.strip()!r}: "
                                     f"must be a finite number")
            values[name].append(v)
        lines.append(line_no)
    return Table(header, header_line, {k: np.array(v) for k, v in values.items()}, np.array(lines, dtype=int))
