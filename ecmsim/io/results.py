"""Open an ``ecmsim run`` result folder in Python: ``ecmsim.results.load(DIR)``.

::

    from ecmsim import results
    r = results.load("results/flat_bilayer")
    r.metrics["von_mises_max_Pa"]                 # summary.json metrics (dict)
    r.interface["normal_stress_Pa"]               # interface_profile.csv columns (numpy arrays)
    r.fields                                      # pyvista.UnstructuredGrid: displacement, stress, regions
    r.region("electrode")                         # the electrode cells only
    r.times, r.fields_at(3600.0)                  # a time-dependent run: the fields at every snapshot
    r.history["time_s"]                           # history.csv columns
    r.spectra.R[-1]                               # spectra (spectrum.csv, spectra_history.csv)
    r.profiles                                    # interface_profiles.csv (cycling), column -> array
    r.plot("stress")                              # matplotlib figures (ecmsim.io.result_plots)

Needs no dolfinx and no ADIOS2: the fields come from ``fields/fields.vtu`` and the time series
``fields/series.pvd`` (pyvista reads them directly), the mesh of a run without fields from
``mesh.msh`` (through meshio).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ecmsim.core.errors import InputFileError


@dataclass(frozen=True)
class Spectra:
    """Reflected spectra of a run: ``R[k]`` is the spectrum at ``time_s[k]`` (step ``step[k]``).

    Attributes:
        wavelength_nm: the common wavelength grid [nm].
        R: reflectance the interrogator reads [-], shape (steps, wavelengths).
        time_s, step: time [s] and time-step number of each row (a run without a read-out over
            time has one row, its spectrum.csv, at the run's end time).
        final: spectrum.csv (``wavelength_nm, R_x, R_y, R``: both polarisation eigenmodes) if written.
    """

    wavelength_nm: np.ndarray
    R: np.ndarray
    time_s: np.ndarray
    step: np.ndarray
    final: dict[str, np.ndarray] | None = None


@dataclass
class Results:
    """A result folder, read.

    Attributes:
        folder: where it was read from.
        summary: summary.json as a dict.
        interface: interface_profile.csv, column name -> array (x_m, y_m, normal_stress_Pa,
            shear_stress_Pa, weight_m).
        contact: contact_profile.csv the same way (contact runs only, else None).
        fields: pyvista.UnstructuredGrid of fields/fields.vtu (point data ``displacement_m``; cell
            data ``region``, ``stress_Pa``, ``von_mises_Pa``, ``von_mises_max_Pa``); for a run
            without fields, the mesh from mesh.msh with cell data ``region``; None if neither.
        boundaries: the tagged facets (fields/boundaries.vtu, cell data ``boundary``) or None.
        history: history.csv (time-dependent runs), column name -> array (text columns as str
            arrays), else None.
        spectra: the reflected spectra (:class:`Spectra`) of a run with the fibre, else None.
        profiles: interface_profiles.csv of a plating/stripping run (every accepted step), column
            name -> array, else None.
        current: current_profile.csv of a current-distribution run, else None.
        series: (time [s], VTU file) of every snapshot of fields/series.pvd (empty without one).
    """

    folder: Path
    summary: dict[str, Any]
    interface: dict[str, np.ndarray]
    contact: dict[str, np.ndarray] | None
    fields: Any
    boundaries: Any
    history: dict[str, np.ndarray] | None = None
    spectra: Spectra | None = None
    profiles: dict[str, np.ndarray] | None = None
    current: dict[str, np.ndarray] | None = None
    series: list[tuple[float, Path]] = field(default_factory=list)

    @property
    def metrics(self) -> dict[str, float]:
        return self.summary["metrics"]

    @property
    def cell_tags(self) -> dict[str, int]:
        """Region name -> id (the ``region`` cell data)."""
        return self.summary.get("mesh", {}).get("cell_tags", {})

    @property
    def facet_tags(self) -> dict[str, int]:
        """Boundary name -> id (the ``boundary`` cell data of :attr:`boundaries`)."""
        return self.summary.get("mesh", {}).get("facet_tags", {})

    @property
    def times(self) -> np.ndarray:
        """Times [s] of the field snapshots (fields/series.pvd); a run without a series has one,
        the time of fields.vtu."""
        if self.series:
            return np.array([t for t, _ in self.series])
        return np.array([float(self.metrics.get("time_s", 0.0))]) if self.fields is not None else np.zeros(0)

    def fields_at(self, time_s: float | None = None, index: int | None = None):
        """The fields (pyvista grid, the arrays of fields.vtu) of the snapshot nearest ``time_s`` [s],
        or number ``index`` of :attr:`times`; without a series, :attr:`fields`."""
        if not self.series:
            if self.fields is None:
                raise InputFileError(f"{self.folder}: no fields (run with output.fields = true)")
            return self.fields
        times = self.times
        if index is None:
            index = int(np.argmin(np.abs(times - (times[-1] if time_s is None else float(time_s)))))
        import pyvista as pv
        return pv.read(self.series[index][1])

    def plot(self, what: str = "stress", ax=None, **kwargs):
        """A matplotlib figure of this result: ``"stress"`` (a field on the mesh; ``component=``,
        ``time_s=``), ``"interface"`` (normal stress along the interface), ``"history"`` (a column
        of history.csv against time; ``column=``), ``"spectrum"`` (the reflected spectrum;
        ``step=``, ``measured=`` a spectrum file drawn over it). Returns the axes."""
        from ecmsim.io.result_plots import plot_result
        return plot_result(self, what, ax=ax, **kwargs)

    def region(self, name: str):
        """The cells of one region (``electrode``, ``electrolyte``...) as a pyvista grid."""
        if self.fields is None:
            raise InputFileError(f"{self.folder}: no fields and no mesh.msh to take region '{name}' from")
        if name not in self.cell_tags:
            raise InputFileError(f"{self.folder}: no region '{name}' (regions: {', '.join(self.cell_tags)})")
        return self.fields.extract_cells(np.flatnonzero(self.fields.cell_data["region"] == self.cell_tags[name]))

    def boundary(self, name: str):
        """The facets of one boundary (``interface``, ``top``...) as a pyvista grid."""
        if self.boundaries is None:
            raise InputFileError(f"{self.folder}: no fields/boundaries.vtu (run with output.fields = true)")
        if name not in self.facet_tags:
            raise InputFileError(f"{self.folder}: no boundary '{name}' (boundaries: {', '.join(self.facet_tags)})")
        ids = self.boundaries.cell_data["boundary"]
        return self.boundaries.extract_cells(np.flatnonzero(ids == self.facet_tags[name]))


def load(folder: str | Path) -> Results:
    """Read an ``ecmsim run`` result folder (InputFileError with one line if it is not one)."""
    folder = Path(folder)
    summary_path = folder / "summary.json"
    if not summary_path.is_file():
        raise InputFileError(f"{folder}: not an ecmsim run result (no summary.json)")
    try:
        summary = json.loads(summary_path.read_text())
    except (OSError, ValueError) as err:
        raise InputFileError(f"{summary_path}: cannot read: {err}") from None
    process_cell = "embedding" in summary      # the fibre cell's process route: no mesh, no fields
    if "metrics" not in summary or ("mesh" not in summary and not process_cell):
        raise InputFileError(f"{summary_path}: not an ecmsim run summary (an `ecmsim fbg` result?)")
    # windows without an electrode have no interface_profile.csv: interface is then an empty dict
    interface = read_csv(folder / "interface_profile.csv") if (folder / "interface_profile.csv").is_file() else {}
    contact = read_csv(folder / "contact_profile.csv") if (folder / "contact_profile.csv").is_file() else None
    fields = boundaries = None
    import pyvista as pv

    if (folder / "fields" / "fields.vtu").is_file():
        fields = pv.read(folder / "fields" / "fields.vtu")
        boundaries = pv.read(folder / "fields" / "boundaries.vtu")
    elif (folder / "mesh.msh").is_file():
        fields = _msh_as_grid(folder / "mesh.msh")
    series = []
    if (folder / "fields" / "series.pvd").is_file():
        from ecmsim.io.vtu import read_pvd
        series = read_pvd(folder / "fields" / "series.pvd")
    history = None
    if (folder / "history.csv").is_file():
        from ecmsim.io.history import read_history_csv
        history = read_history_csv(folder / "history.csv")
    optional = {name: read_csv(folder / f"{name}.csv") if (folder / f"{name}.csv").is_file() else None
                for name in ("interface_profiles", "current_profile")}
    return Results(folder, summary, interface, contact, fields, boundaries, history=history,
                   spectra=read_spectra(folder, float(summary["metrics"].get("time_s", 0.0))),
                   profiles=optional["interface_profiles"], current=optional["current_profile"], series=series)


def read_spectra(folder: Path, end_time_s: float = 0.0) -> Spectra | None:
    """spectra_history.csv (``step, time_s``, then one column per wavelength [nm]) and spectrum.csv
    of a result folder as :class:`Spectra`; None if it has neither."""
    final = read_csv(folder / "spectrum.csv") if (folder / "spectrum.csv").is_file() else None
    path = folder / "spectra_history.csv"
    if path.is_file():
        header = path.read_text().split("\n", 1)[0].strip().split(",")
        try:
            data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
            wavelength_nm = np.array([float(h) for h in header[2:]])
        except ValueError as err:
            raise InputFileError(f"{path}: cannot read the spectra ({err})") from None
        return Spectra(wavelength_nm, data[:, 2:], data[:, 1], data[:, 0].astype(int), final)
    if final is None:
        return None
    return Spectra(final["wavelength_nm"], final["R"][None, :], np.array([end_time_s]), np.array([0]), final)


def read_csv(path: Path) -> dict[str, np.ndarray]:
    """A CSV with one header line: column name -> float array."""
    if not path.is_file():
        raise InputFileError(f"{path}: missing")
    names = path.read_text().split("\n", 1)[0].strip().split(",")
    data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    return {name: data[:, k] for k, name in enumerate(names)}


def _msh_as_grid(path: Path):
    """The triangles of a gmsh file with their physical group id as cell data ``region``."""
    import meshio
    import pyvista as pv

    msh = meshio.read(path)
    blocks = [(k, b) for k, b in enumerate(msh.cells) if b.type == "triangle"]
    physical = msh.cell_data.get("gmsh:physical")
    cells = np.concatenate([b.data for _, b in blocks])
    region = np.concatenate([physical[k] for k, _ in blocks]).astype(np.int32)
    points = msh.points if msh.points.shape[1] == 3 else np.column_stack([msh.points, np.zeros(len(msh.points))])
    grid = pv.UnstructuredGrid({pv.CellType.TRIANGLE: cells}, points)
    grid.cell_data["region"] = region
    return grid


__all__ = ["Results", "Spectra", "load", "read_csv", "read_spectra"]


def weighted_percentile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The q-th percentile (0-100) of ``values`` where each value counts with its weight (e.g. a length).

    Each value sits at the middle of its weight on the cumulative axis (the centred convention: a
    uniformly sampled linear profile gives its exact percentiles)."""
    values, weights = np.asarray(values, dtype=float), np.asarray(weights, dtype=float)
    order = np.argsort(values)
    w = weights[order]
    mid = np.cumsum(w) - 0.5 * w
    return float(np.interp(q / 100 * w.sum(), mid, values[order]))


def final_interface_pressure(folder: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The last step of a cycling run's ``interface_profiles.csv``: x [m], compressive normal stress
    (−σ_nn) [Pa] and weights [m] for percentiles along the interface, sorted by x. The weights are
    the facet lengths (column ``facet_length_m``); files without it give each point its share of
    the window width (half-way to its neighbours)."""
    path = Path(folder) / "interface_profiles.csv"
    try:
        d = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    except (OSError, ValueError) as err:
        raise InputFileError(f"{path}: cannot read the interface profiles ({err})") from None
    if d.size == 0:
        raise InputFileError(f"{path}: no interface profile rows")
    last = d[d[:, 0] == d[:, 0].max()]
    last = last[np.argsort(last[:, 2])]
    x, p = last[:, 2], -last[:, 5]
    if last.shape[1] >= 10:
        return x, p, last[:, 9]
    if len(x) < 2:
        return x, p, np.ones_like(x)
    w = np.abs(np.gradient(x))
    w[[0, -1]] *= 0.5
    return x, p, w
