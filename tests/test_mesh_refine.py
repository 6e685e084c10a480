"""Large 2D windows: gmsh at 2^L times the sizes, split L times in dolfinx with the tags carried
(ecmsim.mesh.refine); serial and ``mpirun -n 2``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import SCENARIOS, assert_same_metrics, read_summary, run_cli, run_cli_mpi

pytestmark = pytest.mark.fem


def _measures(tm) -> dict[str, float]:
    """Region areas and tagged facet lengths, integrated over the mesh (every rank's share summed)."""
    from ecmsim.core.fem import MPI, fem, ufl

    comm = tm.comm
    one = fem.Constant(tm.mesh, 1.0)
    dx = ufl.Measure("dx", domain=tm.mesh, subdomain_data=tm.cell_tags)
    dS = ufl.Measure("dS", domain=tm.mesh, subdomain_data=tm.facet_tags)
    ds = ufl.Measure("ds", domain=tm.mesh, subdomain_data=tm.facet_tags)
    out = {r: fem.assemble_scalar(fem.form(one * dx(i))) for r, i in tm.cell_ids.items()}
    out.update({f: fem.assemble_scalar(fem.form(one * (dS(i) if f == "interface" else ds(i))))
                for f, i in tm.facet_ids.items()})
    return {k: comm.allreduce(float(v), op=MPI.SUM) for k, v in out.items()}


def test_auto_levels_and_coarse_options():
    from ecmsim.mesh import MeshOptions
    from ecmsim.mesh.refine import REFINE_MIN_CELLS, auto_refine_levels, coarse_options

    assert auto_refine_levels(REFINE_MIN_CELLS - 1) == 0
    assert auto_refine_levels(REFINE_MIN_CELLS) == 1          # 25 000 coarse triangles
    assert auto_refine_levels(230_000) == 1                   # 57 500 (at 2 levels 14 400: too coarse)
    assert auto_refine_levels(260_000) == 2                   # 16 250 (the 10^6-dof window)
    assert auto_refine_levels(1_000_000) == 2                 # 62 500
    assert auto_refine_levels(1e8) == 2                       # never more than MAX_AUTO_LEVELS
    c = coarse_options(MeshOptions(size_m=1e-6, interface_size_m=0.25e-6), 2)
    assert (c.size_m, c.interface_size_m, c.tip_size_m) == pytest.approx((4e-6, 1e-6, 0.5e-6))
    assert c.refine_distance_m == pytest.approx(2.5e-6)       # the band keeps its width


def test_tags_carried_as_dolfinx_does():
    """On an unghosted mesh dolfinx's own transfer works: ours gives the same cells and facets."""
    from ecmsim.core.fem import MPI, dolfinx
    from ecmsim.mesh.refine import _transfer

    msh = dolfinx.mesh.create_unit_square(MPI.COMM_SELF, 5, 3)
    msh.topology.create_entities(1)
    msh.topology.create_connectivity(2, 1)
    mid = dolfinx.mesh.compute_midpoints(msh, 2, np.arange(msh.topology.index_map(2).size_local, dtype=np.int32))
    cells = dolfinx.mesh.meshtags(msh, 2, np.arange(len(mid), dtype=np.int32), 1 + (mid[:, 0] > 0.5).astype(np.int32))
    f = dolfinx.mesh.locate_entities(msh, 1, lambda x: np.isclose(x[1], 1 / 3, atol=1e-8) | np.isclose(x[0], 0.0, atol=1e-8))
    facets = dolfinx.mesh.meshtags(msh, 1, f, (3 + np.arange(len(f)) % 2).astype(np.int32))
    fine, parent_cell, parent_facet = dolfinx.mesh.refine(
        msh, option=dolfinx.mesh.RefinementOption.parent_cell_and_facet)
    fine.topology.create_entities(1)
    ours = _transfer(msh, fine, cells, facets, parent_cell, parent_facet)
    theirs = (dolfinx.mesh.transfer_meshtag(cells, fine, parent_cell),
              dolfinx.mesh.transfer_meshtag(facets, fine, parent_cell, parent_facet))
    for a, b in zip(ours, theirs, strict=True):
        assert np.array_equal(a.indices, b.indices) and np.array_equal(a.values, b.values)
    assert len(ours[1].indices) == 2 * len(f)                 # every tagged edge split in two


@pytest.mark.parametrize("levels", [1, 2])
def test_refined_window_keeps_areas_lengths_and_angles(tmp_path, levels):
    """A sinusoidal window (polygonal: midpoints stay on the boundary): the same region areas and
    tagged lengths as gmsh's own mesh at the fine size, 4^L times the coarse mesh's triangles, and
    the coarse mesh's smallest angle (split triangles are similar to their parent)."""
    from ecmsim.core.fem import MPI
    from ecmsim.geometry import generators
    from ecmsim.mesh import MeshOptions, mesh_geometry

    geo = generators.sinusoidal(40e-6, 15e-6, 20e-6, 3e-6, 20e-6)
    fine = MeshOptions(size_m=2e-6, interface_size_m=1e-6)
    direct = mesh_geometry(geo, fine, MPI.COMM_SELF)
    refined = mesh_geometry(geo, MeshOptions(size_m=2e-6, interface_size_m=1e-6, refine_levels=levels),
                            MPI.COMM_SELF, msh_path=tmp_path / "r.msh")
    coarse = mesh_geometry(geo, MeshOptions(size_m=2e-6 * 2**levels, interface_size_m=2**levels * 1e-6,
                                            refine_distance_m=10e-6, tip_size_m=2**levels * 0.5e-6),
                           MPI.COMM_SELF, msh_path=tmp_path / "c.msh")
    a, b = _measures(direct), _measures(refined)
    assert a.keys() == b.keys() and {"electrode", "electrolyte", "interface", "top"} <= a.keys()
    for key, value in a.items():
        assert b[key] == pytest.approx(value, rel=1e-12, abs=0), key
    assert refined.refine_levels == levels and refined.stats()["refine_levels"] == levels
    assert refined.num_cells_global() == 4**levels * coarse.num_cells_global()
    rep_r = json.loads((tmp_path / "r.report.json").read_text())
    rep_c = json.loads((tmp_path / "c.report.json").read_text())
    assert rep_r["cells"] == refined.num_cells_global()                 # the file is the mesh computed on
    assert rep_r["min_angle_deg"] == pytest.approx(rep_c["min_angle_deg"], rel=1e-9, abs=0)
    assert rep_r["refined_uniformly"]["levels"] == levels


def test_flat_patch_on_a_refined_mesh_is_exact(tmp_path):
    """Loads, supports and both materials come through the split by their tags: the flat bilayer's
    uniform stress (sigma_yy = -p in both layers) holds to round-off on the refined mesh."""
    out = tmp_path / "r"
    proc = run_cli("run", str(SCENARIOS / "flat_bilayer.toml"), "-o", str(out), "-q", "--set", "mesh.size_m=4e-6",
                   "--set", "mesh.interface_size_m=2e-6", "--set", "mesh.refine_levels=1",
                   "--set", "output.plots=false", "--set", "output.fields=false")
    assert proc.returncode == 0, proc.stderr
    s = read_summary(out)
    p = s["metrics"]["stack_pressure_Pa"]
    assert s["mesh"]["refine_levels"] == 1
    for key in ("interface_normal_stress_mean_Pa", "interface_normal_stress_min_Pa", "interface_normal_stress_max_Pa"):
        assert s["metrics"][key] == pytest.approx(-p, rel=1e-9, abs=0), key
    assert s["metrics"]["interface_shear_stress_max_abs_Pa"] < 1e-8 * p
    assert s["metrics"]["interface_length_m"] == pytest.approx(40e-6, rel=1e-12, abs=0)


@pytest.mark.mpi
@pytest.mark.parametrize("linear", ["auto", "iterative"])
def test_refined_mesh_in_parallel_equals_serial(tmp_path, have_mpirun, linear):
    """Direct (auto at this size) and iterative, the latter started from the coarse mesh's solution
    (each rank prolongates its own cells' dofs)."""
    args = [str(SCENARIOS / "sinusoidal_interface.toml"), "-q", "--set", "mesh.refine_levels=1",
            "--set", "output.plots=false", "--set", f"solver.linear={linear}"]
    p1 = run_cli("run", args[0], "-o", str(tmp_path / "serial"), *args[1:])
    assert p1.returncode == 0, p1.stderr
    p2 = run_cli_mpi(2, "run", args[0], "-o", str(tmp_path / "parallel"), *args[1:])
    assert p2.returncode == 0, p2.stderr + p2.stdout
    a, b = read_summary(tmp_path / "serial"), read_summary(tmp_path / "parallel")
    assert a["mesh"]["cells"] == b["mesh"]["cells"] and b["mesh"]["refine_levels"] == 1
    assert ("initial_guess" in b["solver"]) == (linear == "iterative")
    rel = 1e-8 if linear == "auto" else 1e-6   # CG + GAMG's tolerance (another partition, another AMG)
    assert_same_metrics(a, b, rel=rel)


@pytest.mark.parametrize("levels", [1, 2])
def test_solution_on_refined_mesh_within_discretisation_error(tmp_path, levels):
    """The sinusoidal window on gmsh's own mesh at h and on gmsh's mesh at 2^L h split L times: two
    different meshes at about the same size, so their results differ by a discretisation error,
    which must be far below the change from 2h to h on gmsh's own meshes (the error at 2h).

    Measured (h = 1.2 um, interface 0.15 um): interface mean and std of the normal stress, von Mises
    mean per region differ by 0.01-0.05 of the 2h -> h change at L = 1, 0.005-0.17 at L = 2 (there
    the coarse mesh at 4h keeps a node at every interface vertex: 21 280 triangles against 14 018, so
    the std differs most). Pointwise extremes (min/max stress) are
    not converged at this size (2h -> h moves them by 3-9 %) and differ between the two meshes by as
    much; they are not compared here (docs/geometry.md "Large meshes")."""
    def run(name, size, levels):
        out = tmp_path / name
        proc = run_cli("run", str(SCENARIOS / "sinusoidal_interface.toml"), "-o", str(out), "-q",
                       "--set", f"mesh.size_m={size:g}", "--set", f"mesh.interface_size_m={size / 8:g}",
                       "--set", "mesh.refine_distance_m=10e-6", "--set", f"mesh.refine_levels={levels}",
                       "--set", "output.plots=false", "--set", "output.fields=false")
        assert proc.returncode == 0, proc.stderr
        return read_summary(out)

    h = 1.2e-6
    direct, coarse, refined = run("direct", h, 0), run("coarse", 2 * h, 0), run("refined", h, levels)
    assert refined["mesh"]["refine_levels"] == levels
    if levels == 1:
        assert refined["mesh"]["cells"] == 4 * coarse["mesh"]["cells"]
    # about as fine (the coarse mesh keeps a node at every vertex of the interface polyline, so the
    # split mesh has a few more: 16 680 (L = 1) and 21 280 (L = 2) vs 14 018 triangles)
    assert 1 <= refined["mesh"]["cells"] / direct["mesh"]["cells"] < 1.6
    for key in ("interface_normal_stress_mean_Pa", "interface_normal_stress_std_Pa", "von_mises_mean_electrode_Pa",
                "von_mises_mean_electrolyte_Pa"):
        d, r, c = direct["metrics"][key], refined["metrics"][key], coarse["metrics"][key]
        assert abs(r - d) <= 0.2 * abs(c - d), (key, d, r, c)


# --- the coarse mesh as the iterative solve's start (nested meshes) ---------------------------------

def _sinusoid_split(levels: int = 1):
    from ecmsim.core.fem import MPI
    from ecmsim.geometry import generators
    from ecmsim.mesh import MeshOptions, mesh_geometry

    geo = generators.sinusoidal(40e-6, 15e-6, 20e-6, 3e-6, 20e-6)
    return mesh_geometry(geo, MeshOptions(size_m=2e-6, interface_size_m=1e-6, refine_levels=levels), MPI.COMM_WORLD)


@pytest.mark.parametrize("levels", [1, 2])
def test_a_coarse_quadratic_field_comes_to_the_split_mesh_exactly(levels):
    """P2 on the coarse mesh lies in P2 on the split one (nested meshes): prolongate gives the fine
    interpolant of the same quadratic field to round-off, every dof of this rank, ghosts included."""
    from ecmsim.core.fem import fem
    from ecmsim.mesh.refine import prolongate

    tm = _sinusoid_split(levels)
    assert tm.coarse is not None and len(tm.ancestor) == tm.mesh.topology.index_map(2).size_local

    def field(x):
        X, Y = x[0] * 1e5, x[1] * 1e5
        return np.vstack([X**2 - 2 * X * Y + 3 * Y + 1, 0.5 * Y**2 + X])

    V_c = fem.functionspace(tm.coarse.mesh, ("Lagrange", 2, (2,)))
    V_f = fem.functionspace(tm.mesh, ("Lagrange", 2, (2,)))
    u_c, u_f = fem.Function(V_c), fem.Function(V_f)
    u_c.interpolate(field)
    u_f.interpolate(field)
    values = prolongate(u_c, V_f, tm.ancestor)
    assert np.abs(values - u_f.x.array).max() <= 1e-12 * np.abs(u_f.x.array).max()


def test_the_coarse_start_gives_the_same_solution_in_fewer_iterations():
    """CG + GAMG on a split sinusoidal window from zero and from the coarse mesh's solution: the same
    displacement to the solver's tolerance, fewer iterations (the window has discretisation error: the
    coarse solution is not the fine one)."""
    from ecmsim.mechanics.elasticity import stack_pressure_problem
    from ecmsim.mesh.refine import prolongate
    from ecmsim import materials

    mats = {"electrode": materials.get("Li"), "electrolyte": materials.get("PLL")}
    tm = _sinusoid_split(1)
    fine = stack_pressure_problem(tm, mats, 2.4e6, linear="iterative")
    zero = fine.solve()
    u0, n0 = zero.u.x.array.copy(), zero.info["ksp_iterations"]
    assert "initial_guess" not in zero.info
    coarse = stack_pressure_problem(tm.coarse, mats, 2.4e6)
    start = prolongate(coarse.solve().u, fine.V, tm.ancestor)
    assert np.abs(start - u0).max() > 1e-4 * np.abs(u0).max()          # a start, not the answer
    fine.set_initial_guess(start)
    started = fine.solve()
    n1 = started.info["ksp_iterations"]
    assert started.info["initial_guess"] == "given" and 0 < n1 < n0, (n0, n1)
    assert np.abs(started.u.x.array - u0).max() <= 1e-7 * np.abs(u0).max()
    fine.set_initial_guess(None)
    assert fine.solve().info["ksp_iterations"] == n0                    # from zero again
    coarse.close()
    fine.close()


def test_a_split_window_solved_iteratively_starts_from_its_coarse_mesh(tmp_path):
    """``ecmsim run`` with a split mesh and the iterative solver: summary.json says where the solve
    started, and the metrics are those of the direct solve on the same mesh."""
    def run(name, linear):
        out = tmp_path / name
        proc = run_cli("run", str(SCENARIOS / "sinusoidal_interface.toml"), "-o", str(out), "-q",
                       "--set", "mesh.refine_levels=1", "--set", f"solver.linear={linear}",
                       "--set", "output.plots=false", "--set", "output.fields=false")
        assert proc.returncode == 0, proc.stderr
        return read_summary(out)

    iterative, direct = run("iterative", "iterative"), run("direct", "direct")
    assert "before its 1 split" in iterative["solver"]["initial_guess"]
    assert "initial_guess" not in direct["solver"]
    for key in ("interface_normal_stress_mean_Pa", "interface_normal_stress_std_Pa", "von_mises_max_Pa"):
        a, b = iterative["metrics"][key], direct["metrics"][key]
        assert a == pytest.approx(b, rel=1e-6, abs=0), key
