"""Strain profile along the fibre: the input of the virtual FBG.

A :class:`StrainProfile` holds, at increasing positions z along the fibre, the elastic strain
tensor of the core in the fibre frame (x, y transverse, z along the fibre; tensor shear
components, e_xy = gamma_xy / 2) and optionally the temperature. Between the samples the
profile is piecewise linear; :meth:`StrainProfile.section_means` averages it exactly over the
sections of the transfer matrix, so a profile finer than the sections is not aliased and a
coarser one is interpolated.

CSV format (one header line, ``#`` comment lines allowed)::

    z_m,exx,eyy,ezz,exy,exz,eyz,T_K,step
    0.000,-1.2e-4,-1.2e-4,7.0e-4,0,0,0,333.15,0

``z_m, exx, eyy, ezz`` are required; ``exy, exz, eyz`` default to 0; ``T_K`` (temperature [K])
to the grating's reference temperature; ``step`` (whole number) splits one file into a time
series, one profile per step.
"""

from __future__ import annotations

import csv
import glob
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ecmsim.core.errors import InputFileError
from ecmsim.fbg.csvfile import read_numeric_csv

REQUIRED_COLUMNS = ("z_m", "exx", "eyy", "ezz")
SHEAR_COLUMNS = ("exy", "exz", "eyz")
STRAIN_COLUMNS = ("exx", "eyy", "ezz", *SHEAR_COLUMNS)
ALL_COLUMNS = (*REQUIRED_COLUMNS, *SHEAR_COLUMNS, "T_K", "step")
#: Largest strain accepted [-]: silica fibres break near 1-5 %, and the linear strain-optic
#: model is a small-strain model.
MAX_STRAIN = 0.05
#: Largest |z| accepted [m]: a grating is millimetres to centimetres long; positions beyond this
#: are a unit mistake (and would overflow the section integrals).
MAX_POSITION_M = 100.0
#: Temperature range accepted [K].
T_RANGE_K = (1.0, 2000.0)


@dataclass(frozen=True)
class StrainProfile:
    """Strain tensor (and temperature) sampled along the fibre.

    Attributes:
        z_m: positions along the fibre, strictly increasing, at least two [m].
        exx, eyy, ezz, exy, exz, eyz: tensor strain components at z_m [-].
        T_K: temperatures at z_m [K], or None (the grating's reference temperature).
        source: where the profile came from (file name), for messages.
        step: time step index of a series, or None.
    """

    z_m: np.ndarray
    exx: np.ndarray
    eyy: np.ndarray
    ezz: np.ndarray
    exy: np.ndarray = field(default=None)
    exz: np.ndarray = field(default=None)
    eyz: np.ndarray = field(default=None)
    T_K: np.ndarray | None = None
    source: str = "<profile>"
    step: int | None = None

    def __post_init__(self) -> None:
        z = as_real_array(self.z_m, "z_m", self.source)
        if z.ndim != 1 or z.size < 2:
            raise InputFileError(f"{self.source}: a profile needs at least two points along z_m (got "
                                 f"{z.size if z.ndim == 1 else f'shape {z.shape}'})")
        object.__setattr__(self, "z_m", z)
        for name in STRAIN_COLUMNS:
            value = getattr(self, name)
            arr = np.zeros_like(z) if value is None else _broadcast(as_real_array(value, name, self.source), z, name,
                                                                    self.source)
            object.__setattr__(self, name, arr)
        if self.T_K is not None:
            object.__setattr__(self, "T_K", _broadcast(as_real_array(self.T_K, "T_K", self.source), z, "T_K",
                                                       self.source))
        self._validate()

    def _validate(self) -> None:
        for name in ("z_m", *STRAIN_COLUMNS, *(("T_K",) if self.T_K is not None else ())):
            arr = getattr(self, name)
            bad = np.flatnonzero(~np.isfinite(arr))
            if bad.size:
                raise InputFileError(f"{self.source}: {name} = {arr[bad[0]]} at point {bad[0] + 1} (z_m = "
                                     f"{self.z_m[bad[0]]}): must be a finite number")
        i = int(np.argmax(np.abs(self.z_m)))
        if abs(self.z_m[i]) > MAX_POSITION_M:
            raise InputFileError(f"{self.source}: z_m = {self.z_m[i]} at point {i + 1}: positions along the fibre "
                                 f"must be within +-{MAX_POSITION_M:g} m")
        steps = np.diff(self.z_m)
        bad = np.flatnonzero(steps <= 0)
        if bad.size:
            i = bad[0]
            raise InputFileError(f"{self.source}: z_m must increase strictly: z_m = {self.z_m[i + 1]} at point "
                                 f"{i + 2} follows z_m = {self.z_m[i]}")
        for name in STRAIN_COLUMNS:
            arr = getattr(self, name)
            i = int(np.argmax(np.abs(arr)))
            if abs(arr[i]) > MAX_STRAIN:
                raise InputFileError(f"{self.source}: {name} = {arr[i]} at z_m = {self.z_m[i]}: strain must be in "
                                     f"[-{MAX_STRAIN}, {MAX_STRAIN}] (a silica fibre breaks below 5 %)")
        if self.T_K is not None:
            for i in (int(np.argmin(self.T_K)), int(np.argmax(self.T_K))):
                if not T_RANGE_K[0] <= self.T_K[i] <= T_RANGE_K[1]:
                    raise InputFileError(f"{self.source}: T_K = {self.T_K[i]} at z_m = {self.z_m[i]}: must be "
                                         f"in [{T_RANGE_K[0]:g}, {T_RANGE_K[1]:g}] K")

    @classmethod
    def uniform(cls, length_m: float, *, exx: float = 0.0, eyy: float = 0.0, ezz: float = 0.0,
                exy: float = 0.0, exz: float = 0.0, eyz: float = 0.0, T_K: float | None = None,
                start_m: float = 0.0, source: str = "<uniform profile>") -> StrainProfile:
        """A profile with the same strain (and temperature) from ``start_m`` to ``start_m + length_m``."""
        z = np.array([start_m, start_m + length_m])
        return cls(z_m=z, exx=exx, eyy=eyy, ezz=ezz, exy=exy, exz=exz, eyz=eyz,
                   T_K=None if T_K is None else T_K, source=source)

    @property
    def span_m(self) -> tuple[float, float]:
        """(first, last) z [m]."""
        return float(self.z_m[0]), float(self.z_m[-1])

    def section_means(self, edges_m: np.ndarray) -> dict[str, np.ndarray | None]:
        """Exact means of the piecewise-linear profile over [edges[i], edges[i+1]].

        Returns a mapping with every strain component and ``T_K`` (None if the profile has no
        temperature). The edges must lie inside the profile's z range.
        """
        out: dict[str, np.ndarray | None] = {}
        for name in (*STRAIN_COLUMNS, "T_K"):
            values = getattr(self, name)
            out[name] = None if values is None else _interval_means(self.z_m, values, edges_m)
        return out

    def with_strain_zeroed(self) -> StrainProfile:
        """The same positions and temperatures with no strain (a strain-free reference grating)."""
        return StrainProfile(z_m=self.z_m, exx=0.0, eyy=0.0, ezz=0.0, T_K=self.T_K,
                             source=f"{self.source} (strain-free reference)", step=self.step)

    def write_csv(self, path: str | Path) -> None:
        """Write the profile in the format :func:`read_profiles` reads (full float precision)."""
        names = ["z_m", *STRAIN_COLUMNS] + (["T_K"] if self.T_K is not None else [])
        columns = [getattr(self, n) for n in names]
        with Path(path).open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(names)
            for row in zip(*columns):
                writer.writerow([repr(float(v)) for v in row])


def as_real_array(value, name: str, source: str) -> np.ndarray:
    """``value`` as a float array, or InputFileError naming the column (text, complex, ragged)."""
    try:
        arr = np.asarray(value)
        if arr.dtype.kind == "c":
            raise TypeError("complex")
        return arr.astype(float)
    except (TypeError, ValueError) as err:
        raise InputFileError(f"{source}: {name} must hold real numbers ({' '.join(str(err).split())})") from None


def _broadcast(arr: np.ndarray, z: np.ndarray, name: str, source: str) -> np.ndarray:
    """A number or one value per z position."""
    if arr.shape not in ((), (1,), z.shape):
        raise InputFileError(f"{source}: {name} has {arr.size} value(s) for {z.size} positions z_m: give one "
                             "number or one value per position")
    return np.broadcast_to(arr, z.shape).copy()


def _interval_means(z: np.ndarray, f: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Means of the piecewise-linear interpolant of (z, f) over consecutive intervals of ``edges``."""
    dz = np.diff(z)
    slope = np.diff(f) / dz
    cumulative = np.concatenate([[0.0], np.cumsum(0.5 * (f[:-1] + f[1:]) * dz)])
    k = np.clip(np.searchsorted(z, edges, side="right") - 1, 0, z.size - 2)
    t = edges - z[k]
    integral = cumulative[k] + f[k] * t + 0.5 * slope[k] * t * t
    return np.diff(integral) / np.diff(edges)


# ---- reading -------------------------------------------------------------------------------

def read_profiles(paths: str | Path | list[str | Path]) -> list[StrainProfile]:
    """Profiles from CSV files, directories (their ``*.csv``, natural order) or glob patterns.

    One profile per file, or per ``step`` of a file with a step column; the result is in the
    order given (files) and in increasing step order within a file.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files: list[Path] = []
    for item in paths:
        p = Path(item)
        if p.is_dir():
            found = sorted(p.glob("*.csv"), key=_natural_key)
            if not found:
                raise InputFileError(f"{p}: directory has no *.csv profile files")
            files += found
        elif p.exists():
            files.append(p)
        elif any(ch in str(item) for ch in "*?["):
            found = sorted((Path(s) for s in glob.glob(str(item))), key=_natural_key)
            if not found:
                raise InputFileError(f"{item}: no file matches this pattern")
            files += found
        else:
            raise InputFileError(f"{p}: profile file not found")
    profiles: list[StrainProfile] = []
    for f in files:
        profiles += read_profile_csv(f)
    return profiles


def _natural_key(path: Path) -> list:
    """Sort key with numbers compared as numbers: step2 before step10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def read_profile_csv(path: str | Path) -> list[StrainProfile]:
    """The profile(s) of one CSV file (several if it has a ``step`` column).

    Raises InputFileError naming the file, line, column and value for: a missing or unreadable
    file, a missing required column, an unknown or repeated column, a row with the wrong number
    of fields, a value that is not a number or not finite, z not increasing, fewer than two
    points, a strain beyond +-5 %, a temperature outside 1-2000 K, a step that is not a whole number.
    """
    path = Path(path)
    table = read_numeric_csv(path, "profile")
    header = table.header
    unknown = [h for h in header if h not in ALL_COLUMNS]
    if unknown:
        raise InputFileError(f"{path}: line {table.header_line}: unknown column {unknown[0]!r} "
                             f"(allowed: {', '.join(ALL_COLUMNS)})")
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise InputFileError(f"{path}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                             f"(found: {', '.join(header)}; required: {', '.join(REQUIRED_COLUMNS)})")
    if not table.lines.size:
        raise InputFileError(f"{path}: no data rows below the header")
    arrays = table.columns
    line_numbers = table.lines
    if "step" in arrays:
        steps = arrays["step"]
        frac = np.flatnonzero(steps != np.round(steps))
        if frac.size:
            raise InputFileError(f"{path}: line {line_numbers[frac[0]]}: step = {steps[frac[0]]} is not a whole number")
        groups = [(int(s), np.flatnonzero(steps == s)) for s in np.unique(steps)]
    else:
        groups = [(None, np.arange(line_numbers.size))]
    profiles = []
    for step, idx in groups:
        where = f"{path}" if step is None else f"{path} (step {step})"
        z = arrays["z_m"][idx]
        back = np.flatnonzero(np.diff(z) <= 0)
        if back.size:
            i = back[0]
            raise InputFileError(f"{where}: line {line_numbers[idx[i + 1]]}: z_m = {z[i + 1]} does not increase "
                                 f"(previous z_m = {z[i]}); z_m must increase strictly")
        kwargs = {name: arrays[name][idx] for name in STRAIN_COLUMNS if name in arrays}
        profiles.append(StrainProfile(z_m=z, T_K=arrays["T_K"][idx] if "T_K" in arrays else None,
                                      source=where, step=step, **kwargs))
    return profiles
