r"""Current distribution on an interface window: electrolyte potential with Butler–Volmer kinetics.

Find the electrolyte potential :math:`\phi` [V] on the electrolyte part :math:`\Omega_e` of the
window such that

.. math::

    \nabla\cdot(\kappa\nabla\phi) = 0 \ \text{in}\ \Omega_e, \qquad
    \kappa\nabla\phi\cdot n = i_\mathrm{app} \ \text{on the counter boundary (``bottom``)}, \qquad
    -\kappa\nabla\phi\cdot n = a\, i_{BV}(\eta) \ \text{on the interface},

and zero flux elsewhere (voids, window sides, separated contact). n is the outward normal of the
electrolyte, the ionic current density is :math:`-\kappa\nabla\phi`, so the second condition says
that the current :math:`i_\mathrm{app}` enters through the counter boundary and the third that
the current leaving into the electrode is the Butler–Volmer plating current
(:mod:`ecmsim.electrochem.kinetics`) with :math:`\eta = -\phi + \Omega_{Li}\,p/F` (electrode at
:math:`\phi_s = 0`, optional stress coupling with the interface pressure p). :math:`a \in [0, 1]`
is the contact activity: 1 where electrode and electrolyte touch, 0 where they are separated.
Weak form:

.. math::

    \int_{\Omega_e} \kappa\nabla\phi\cdot\nabla v\,dx - \int_{bottom} i_\mathrm{app}\, v\,ds
    + \int_{interface} a\, i_{BV}(\eta)\, v\,ds = 0 .

Taking v = 1 shows the discrete charge balance :math:`\int a\,i_{BV}\,ds = i_\mathrm{app}\,|bottom|`
exactly (to the Newton tolerance) when the metrics integrate with the form's own quadrature,
which they do (the same measure). Newton (PETSc SNES) with backtracking; the problem is
monotone, so Newton converges from :math:`\phi = 0`.

The contact activity and the pressure are DG0 fields on the electrolyte cells: a facet takes the
value of the electrolyte cell it bounds (set from callables evaluated at the facet midpoints).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ecmsim.core.constants import FARADAY_C_PER_MOL
from ecmsim.electrochem.kinetics import ButlerVolmer
from ecmsim.core.errors import MeshError, SolverError
from ecmsim.core.fem import (MPI, POTENTIAL_SOLVER_OPTIONS, destroy_petsc, dolfinx, fem, options_prefix, snes_reason,
                        ufl)
from ecmsim.mesh import TaggedMesh, restrict

#: Quadrature degree of the interface integrals (the Butler–Volmer exponential is not a
#: polynomial: fix the rule so that form and metrics use the same points).
INTERFACE_QUADRATURE_DEGREE = 6


@dataclass
class CurrentProfile:
    """Local plating current density along the interface, at facet midpoints (gathered, rank 0 order).

    Attributes:
        x_m, y_m: facet midpoints [m].
        current_density_A_m2: local plating current density a*i_BV [A/m²] (positive plating).
        potential_V: electrolyte potential phi at the midpoint [V].
        active: 1 where in contact, 0 where separated.
        length_m: facet lengths [m].
    """

    x_m: np.ndarray
    y_m: np.ndarray
    current_density_A_m2: np.ndarray
    potential_V: np.ndarray
    active: np.ndarray
    length_m: np.ndarray

    def to_csv(self, path) -> None:
        order = np.argsort(self.x_m, kind="stable")
        table = np.column_stack([self.x_m, self.y_m, self.current_density_A_m2, self.potential_V, self.active,
                                 self.length_m])[order]
        np.savetxt(path, table, delimiter=",", comments="",
                   header="x_m,y_m,current_density_A_m2,potential_V,in_contact,facet_length_m")


@dataclass
class CurrentSolution:
    """The solved potential, with the integrals behind the metrics."""

    phi: object  # fem.Function [V] on the electrolyte part
    part: TaggedMesh
    metrics: dict[str, float]
    profile: CurrentProfile
    info: dict = field(default_factory=dict)


class PotentialProblem:
    """The electrolyte potential of a window, built once, solved for any current and interface state.

    Args:
        tmesh: the window mesh (cells ``electrode``, ``electrolyte``; facets ``interface``, ``bottom``).
        kinetics: Butler–Volmer of the electrode/electrolyte pair.
        conductivity_S_m: ionic conductivity of the electrolyte [S/m].
        electrolyte_regions: cell tags that conduct ions.
        interface_facet: facet group of electrode/electrolyte contact.
        counter_facet: facet group where the applied current enters.
        molar_volume_m3_mol: Omega of the plated metal [m³/mol] (stress coupling).
        stress_coupling: include Omega p / F in the overpotential.
        degree: Lagrange degree of phi.
    """

    def __init__(self, tmesh: TaggedMesh, kinetics: ButlerVolmer, conductivity_S_m: float, *,
                 electrolyte_regions: tuple[str, ...] = ("electrolyte",), interface_facet: str = "interface",
                 counter_facet: str = "bottom", molar_volume_m3_mol: float = 13.0e-6, stress_coupling: bool = False,
                 degree: int = 1, petsc_options: dict | None = None):
        if not conductivity_S_m > 0:
            raise SolverError(f"ionic conductivity must be > 0 S/m (got {conductivity_S_m!r})")
        for name in (interface_facet, counter_facet):
            if name not in tmesh.facet_ids:
                raise MeshError(f"the current distribution needs a facet group '{name}' (the mesh has: "
                                f"{', '.join(tmesh.facet_ids)})")
        self.kinetics = kinetics
        self.kappa = conductivity_S_m
        self.part, self.cell_map = restrict(tmesh, tuple(electrolyte_regions))
        part = self.part
        msh = part.mesh
        self.V = fem.functionspace(msh, ("Lagrange", degree))
        self.phi = fem.Function(self.V, name="electrolyte_potential_V")
        Q = fem.functionspace(msh, ("DG", 0))
        self.activity = fem.Function(Q, name="contact_activity")
        self.activity.x.array[:] = 1.0
        self.pressure = fem.Function(Q, name="interface_pressure_Pa")
        self.i_app = fem.Constant(msh, 0.0)
        self.c_kappa = fem.Constant(msh, float(conductivity_S_m))
        self.c_i0 = fem.Constant(msh, kinetics.exchange_current_density_A_m2)
        self.c_alpha = fem.Constant(msh, kinetics.charge_transfer_coefficient)
        self.c_f = fem.Constant(msh, kinetics.f_per_V)
        self.c_omega_over_F = fem.Constant(msh, molar_volume_m3_mol / FARADAY_C_PER_MOL if stress_coupling else 0.0)
        self.stress_coupling = stress_coupling

        ds = ufl.Measure("ds", domain=msh, subdomain_data=part.facet_tags)
        self._ds_itf = ds(part.facet_ids[interface_facet], metadata={"quadrature_degree": INTERFACE_QUADRATURE_DEGREE})
        self._ds_ctr = ds(part.facet_ids[counter_facet])
        phi, v = self.phi, ufl.TestFunction(self.V)
        self._i_local = self.activity * self._bv(phi)
        F = (self.c_kappa * ufl.inner(ufl.grad(phi), ufl.grad(v)) * ufl.dx
             - self.i_app * v * self._ds_ctr + self._i_local * v * self._ds_itf)
        options = {**POTENTIAL_SOLVER_OPTIONS, **(petsc_options or {})}
        self.problem = fem.petsc.NonlinearProblem(F, phi, petsc_options_prefix=options_prefix("potential"),
                                                  petsc_options=options)
        one = fem.Constant(msh, 1.0)
        self._mean = fem.Constant(msh, 0.0)
        self._integrals = {
            "current": fem.form(self._i_local * self._ds_itf),
            "current_deviation_sq": fem.form(self.activity * (self._bv(phi) - self._mean) ** 2 * self._ds_itf),
            "active_length": fem.form(self.activity * self._ds_itf),
            "interface_length": fem.form(one * self._ds_itf),
            "counter_potential": fem.form(phi * self._ds_ctr),
            "counter_length": fem.form(one * self._ds_ctr),
            "electrolyte_area": fem.form(one * ufl.dx),
        }
        self._itf_facets = part.facets(interface_facet)
        self._midpoints, self._mid_cells, self._lengths = self._facet_midpoints(self._itf_facets)

    def _bv(self, phi):
        """a-free Butler–Volmer plating current density of the UFL potential phi."""
        eta = -phi + self.c_omega_over_F * self.pressure
        return self.c_i0 * (ufl.exp(-self.c_alpha * self.c_f * eta) - ufl.exp((1 - self.c_alpha) * self.c_f * eta))

    # -- interface state ---------------------------------------------------------------------------

    def set_current_density(self, applied_A_m2: float) -> None:
        """Applied current density on the counter boundary [A/m²] (positive: plating on the window's electrode)."""
        self.i_app.value = float(applied_A_m2)

    def set_interface_state(self, active: Callable[[np.ndarray], np.ndarray] | None = None,
                            pressure_Pa: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
        """Contact activity (0/1) and compressive normal pressure [Pa] along the interface, each a
        callable of points (N, 3) [m] evaluated at the interface facet midpoints; None keeps 1 / 0."""
        cells = self._mid_cells
        if active is not None:
            self.activity.x.array[cells] = np.clip(np.asarray(active(self._midpoints), dtype=float), 0.0, 1.0)
        if pressure_Pa is not None:
            self.pressure.x.array[cells] = np.asarray(pressure_Pa(self._midpoints), dtype=float)
        self.activity.x.scatter_forward()
        self.pressure.x.scatter_forward()

    # -- solve -------------------------------------------------------------------------------------

    def solve(self) -> CurrentSolution:
        comm = self.part.comm
        if self._sum("active_length") <= 0:
            raise SolverError("no electrode/electrolyte contact is left on the interface: the current has nowhere "
                              "to go")
        self.problem.solve()
        snes = self.problem.solver
        reason = snes.getConvergedReason()
        if reason <= 0:
            raise SolverError(f"current distribution: Newton did not converge ({snes_reason(snes)}, "
                              f"{snes.getIterationNumber()} iterations, applied {self.i_app.value:g} A/m²)")
        self.phi.x.scatter_forward()
        info = {"potential_dofs": self.V.dofmap.index_map.size_global, "potential_newton_iterations":
                snes.getIterationNumber(), "mpi_ranks": comm.size}
        return CurrentSolution(self.phi, self.part, self.metrics(), self.profile(), info)

    def close(self) -> None:
        """Collective PETSc teardown (see :func:`ecmsim.core.fem.destroy_petsc`)."""
        destroy_petsc(self.problem)

    # -- results -----------------------------------------------------------------------------------

    def _sum(self, name: str) -> float:
        return self.part.comm.allreduce(fem.assemble_scalar(self._integrals[name]), op=MPI.SUM)

    def metrics(self) -> dict[str, float]:
        """Current-distribution metrics over the contacting interface (SI names)."""
        total = self._sum("current")
        active = self._sum("active_length")
        mean = total / active
        self._mean.value = mean  # the variance about the mean, not E[i^2] - mean^2 (cancellation)
        var = self._sum("current_deviation_sq") / active
        counter_length = self._sum("counter_length")
        window_voltage = self._sum("counter_potential") / counter_length
        i_max = self._local_current_max()
        return {
            "applied_current_density_A_m2": float(self.i_app.value),
            "current_density_mean_A_m2": mean,
            "current_density_max_A_m2": i_max,
            "current_density_cv": float(np.sqrt(var) / abs(mean)) if mean else 0.0,
            "interface_current_A_m": total,
            "applied_current_A_m": float(self.i_app.value) * counter_length,
            "interface_active_fraction": active / self._sum("interface_length"),
            "window_voltage_V": window_voltage,
            "electrolyte_mean_thickness_m": self._sum("electrolyte_area") / counter_length,
            "ionic_conductivity_S_m": self.kappa,
        }

    def _local_current_max(self) -> float:
        """Max of the local current density over the interface quadrature points (owned facets)."""
        import basix

        msh = self.part.mesh
        fdim = msh.topology.dim - 1
        n_owned = msh.topology.index_map(fdim).size_local
        facets = self._itf_facets[self._itf_facets < n_owned]
        local = -np.inf
        if len(facets):
            ref, _ = basix.make_quadrature(basix.CellType.interval if fdim == 1 else basix.CellType.triangle,
                                           INTERFACE_QUADRATURE_DEGREE)
            nodes = dolfinx.mesh.entities_to_geometry(msh, fdim, facets)
            X = msh.geometry.x
            cells = self._facet_cells(facets)
            base = X[nodes[:, 0]]
            pts = np.concatenate([base + sum(q[k] * (X[nodes[:, k + 1]] - base) for k in range(fdim)) for q in ref])
            cells_rep = np.tile(cells, len(ref))
            phi = self.phi.eval(pts, cells_rep)[:, 0]
            act = self.activity.x.array[cells_rep]
            p = self.pressure.x.array[cells_rep]
            eta = -phi + float(self.c_omega_over_F.value) * p
            local = float(np.max(act * self.kinetics.current_density(eta)))
        return self.part.comm.allreduce(local, op=MPI.MAX)

    def profile(self) -> CurrentProfile:
        """Local current density and potential at every interface facet midpoint, gathered on all ranks."""
        msh = self.part.mesh
        n_owned = msh.topology.index_map(msh.topology.dim - 1).size_local
        own = self._itf_facets < n_owned
        pts, cells, length = self._midpoints[own], self._mid_cells[own], self._lengths[own]
        phi = self.phi.eval(pts, cells)[:, 0] if len(pts) else np.empty(0)
        act = self.activity.x.array[cells]
        eta = -phi + float(self.c_omega_over_F.value) * self.pressure.x.array[cells]
        i = act * self.kinetics.current_density(eta)
        comm = self.part.comm
        cat = lambda a: np.concatenate(comm.allgather(np.asarray(a, dtype=float)))  # noqa: E731
        return CurrentProfile(cat(pts[:, 0]), cat(pts[:, 1]), cat(i), cat(phi), cat(act), cat(length))

    def _facet_cells(self, facets: np.ndarray) -> np.ndarray:
        msh = self.part.mesh
        f2c = msh.topology.connectivity(msh.topology.dim - 1, msh.topology.dim)
        return np.array([f2c.links(f)[0] for f in facets], dtype=np.int32)

    def _facet_midpoints(self, facets: np.ndarray):
        msh = self.part.mesh
        fdim = msh.topology.dim - 1
        X = msh.geometry.x
        if len(facets) == 0:
            return np.empty((0, 3)), np.empty(0, dtype=np.int32), np.empty(0)
        nodes = dolfinx.mesh.entities_to_geometry(msh, fdim, facets)
        mid = X[nodes].mean(axis=1)
        if fdim == 1:
            length = np.linalg.norm(X[nodes[:, 1]] - X[nodes[:, 0]], axis=1)
        else:
            length = 0.5 * np.linalg.norm(np.cross(X[nodes[:, 1]] - X[nodes[:, 0]], X[nodes[:, 2]] - X[nodes[:, 0]]),
                                          axis=1)
        return mid, self._facet_cells(facets), length


def cell_overpotential_V(metrics: dict[str, float], membrane_thickness_m: float) -> float:
    r"""Overpotential of a symmetric cell whose two interfaces behave like the window's [V].

    The window's voltage is the ohmic drop across its own electrolyte plus the interface drop
    (kinetics and constriction): :math:`V_w = i h/\kappa + \Delta V_{itf}`. A symmetric cell with
    a membrane of thickness L has two such interfaces (plating and stripping, equal in magnitude
    for alpha = 1/2) and the bulk drop :math:`i L/\kappa`:
    :math:`\eta_{cell} = 2\,(V_w - i h/\kappa) + i L/\kappa`.
    """
    i = metrics["applied_current_density_A_m2"]
    kappa = metrics["ionic_conductivity_S_m"]
    interface_drop = metrics["window_voltage_V"] - i * metrics["electrolyte_mean_thickness_m"] / kappa
    return 2.0 * interface_drop + i * membrane_thickness_m / kappa
