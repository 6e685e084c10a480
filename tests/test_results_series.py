"""Time-dependent results where people look: the field time series (series.pvd), fields.pvd labelled
with its time, and ecmsim.results.load reaching the fields at every time and history.csv."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SCENARIOS, run_cli

from ecmsim import results
from ecmsim.io.vtu import read_pvd


@pytest.fixture(scope="module")
def creep_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("series") / "creep"
    proc = run_cli("run", str(SCENARIOS / "li_creep_hold.toml"), "-o", str(out), "-q", "--set", "mesh.size_m=5e-6",
                   "--set", "mesh.interface_size_m=2.5e-6", "--set", 'protocol.steps=["Hold for 1 s", "Rest for 1 s"]',
                   "--set", "protocol.cycles=2", "--set", "output.plots=false")
    assert proc.returncode == 0, proc.stderr
    return out


def test_fields_pvd_names_the_end_time_of_the_state_it_holds(creep_dir):
    entries = read_pvd(creep_dir / "fields" / "fields.pvd")
    assert [(t, p.name) for t, p in entries] == [(4.0, "fields.vtu")]


def test_series_has_one_entry_per_time_each_with_the_stress_tensor(creep_dir):
    entries = read_pvd(creep_dir / "fields" / "series.pvd")
    times = np.array([t for t, _ in entries])
    assert times[0] == 0.0 and times[-1] == 4.0
    assert np.all(np.diff(times) > 0), times           # no second (empty) entry at t = 0
    import pyvista as pv

    first = pv.read(entries[0][1])
    for _, path in entries:
        grid = pv.read(path)
        assert grid.n_cells == first.n_cells > 0
        assert grid.cell_data["stress_Pa"].shape == (grid.n_cells, 6)
        names = grid.GetCellData().GetArray("stress_Pa")
        assert [names.GetComponentName(k) for k in range(6)] == ["XX", "YY", "ZZ", "XY", "YZ", "XZ"]
        assert {"principal_stress_Pa", "von_mises_Pa", "equivalent_creep_strain", "region"} <= set(grid.cell_data)
        assert "displacement_m" in grid.point_data
    # the last snapshot is the final state of fields.vtu
    last, final = pv.read(entries[-1][1]), pv.read(creep_dir / "fields" / "fields.vtu")
    assert np.array_equal(last.cell_data["stress_Pa"], final.cell_data["stress_Pa"])


def test_load_reaches_the_fields_at_every_time_and_the_history(creep_dir):
    r = results.load(creep_dir)
    assert r.times[0] == 0.0 and r.times[-1] == pytest.approx(r.metrics["time_s"], rel=1e-12, abs=0)
    assert len(r.times) == len(r.series) >= 5
    start, end = r.fields_at(0.0), r.fields_at(index=-1)
    # Li creeps: no creep strain at t = 0, some at the end; its stress relaxes
    electrode = r.cell_tags["electrode"]
    li = end.cell_data["region"] == electrode
    assert start.cell_data["equivalent_creep_strain"].max() == 0.0
    assert end.cell_data["equivalent_creep_strain"][li].max() > 0.0
    assert end.cell_data["von_mises_Pa"][li].mean() < start.cell_data["von_mises_Pa"][li].mean()
    assert r.fields_at(1.9).n_cells == end.n_cells
    # history.csv: one row per accepted step, the last one the run's metrics
    assert r.history["time_s"][-1] == pytest.approx(4.0, rel=1e-12, abs=0)
    assert r.history["electrode_von_mises_mean_Pa"][-1] == r.metrics["electrode_von_mises_mean_Pa"]
    assert r.history["protocol_step"][0] == "apply the loads"
    assert r.spectra is None and r.profiles is None      # no fibre, no plating


def test_load_reads_spectra_and_profiles_as_written(tmp_path):
    """The readers follow the writers: spectra_history.csv as ecmsim.io.readout writes it,
    spectrum.csv as Spectrum.write_csv, interface_profiles.csv as ecmsim.io.cycling."""
    import json

    from ecmsim.fbg.spectra import Spectrum
    from ecmsim.io.cycling import write_profiles

    lam = np.linspace(1549.5e-9, 1550.5e-9, 101)
    steps, times = np.array([0, 3, 7]), np.array([0.0, 3600.0, 7200.0])
    R = np.array([np.exp(-((lam - 1550e-9 - k * 20e-12) / 0.1e-9) ** 2) for k in range(3)])
    header = "step,time_s," + ",".join(f"{w:.4f}" for w in lam * 1e9)
    np.savetxt(tmp_path / "spectra_history.csv", np.column_stack([steps, times, R]), delimiter=",", header=header,
               comments="", fmt="%.6g")
    Spectrum(lam, R[-1], R[-1], R[-1]).write_csv(tmp_path / "spectrum.csv")
    write_profiles(tmp_path / "interface_profiles.csv", [np.array([[0, 0.0, 1e-6, -2e6], [1, 5.0, 1e-6, -3e6]])],
                   "step,time_s,x_m,sigma_nn_Pa")
    (tmp_path / "summary.json").write_text(json.dumps({"metrics": {"time_s": 7200.0}, "mesh": {}}))
    r = results.load(tmp_path)
    s = r.spectra
    assert np.array_equal(s.step, steps) and np.array_equal(s.time_s, times)
    assert np.allclose(s.wavelength_nm, lam * 1e9, rtol=0, atol=5e-5)
    assert s.R.shape == (3, 101) and np.allclose(s.R, R, rtol=1e-5, atol=0)
    assert np.array_equal(s.final["R"], R[-1]) and list(s.final) == ["wavelength_nm", "R_x", "R_y", "R"]
    assert list(r.profiles) == ["step", "time_s", "x_m", "sigma_nn_Pa"] and r.profiles["sigma_nn_Pa"][1] == -3e6
    (tmp_path / "spectra_history.csv").unlink()         # a fibre-cell run: its one spectrum at the end time
    one = results.load(tmp_path).spectra
    assert one.R.shape == (1, 101) and one.time_s[0] == 7200.0


@pytest.mark.mpi
@pytest.mark.fem
def test_fields_and_series_under_mpi_equal_the_serial_ones(creep_dir, tmp_path, have_mpirun):
    """fields.vtu and every snapshot of series.pvd gathered from 2 ranks: the same cells, the same
    stress tensor to solver tolerance (measured 7e-13 of the largest component)."""
    from conftest import run_cli_mpi

    out = tmp_path / "mpi"
    proc = run_cli_mpi(2, "run", str(SCENARIOS / "li_creep_hold.toml"), "-o", str(out), "-q", "--set", "mesh.size_m=5e-6",
                       "--set", "mesh.interface_size_m=2.5e-6", "--set",
                       'protocol.steps=["Hold for 1 s", "Rest for 1 s"]', "--set", "protocol.cycles=2", "--set",
                       "output.plots=false")
    assert proc.returncode == 0, proc.stderr
    serial, parallel = results.load(creep_dir), results.load(out)
    assert np.allclose(serial.times, parallel.times, rtol=1e-12, atol=0)
    pairs = [(serial.fields, parallel.fields)] + [(serial.fields_at(index=k), parallel.fields_at(index=k))
                                                  for k in (0, len(serial.times) // 2, -1)]
    for a, b in pairs:
        ca, cb = a.cell_centers().points, b.cell_centers().points
        ia, ib = np.lexsort(np.round(ca.T[::-1], 12)), np.lexsort(np.round(cb.T[::-1], 12))
        assert np.allclose(ca[ia], cb[ib], rtol=0, atol=1e-12)
        scale = np.abs(a.cell_data["stress_Pa"]).max()
        assert np.allclose(a.cell_data["stress_Pa"][ia] / scale, b.cell_data["stress_Pa"][ib] / scale, rtol=0, atol=1e-8)
        assert np.array_equal(a.cell_data["region"][ia], b.cell_data["region"][ib])
