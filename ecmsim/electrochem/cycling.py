r"""Plating and stripping cycles that load the interface: current -> plated thickness -> growth eigenstrain.

A time-loop problem (:mod:`ecmsim.run.timeloop`) advanced *before* the mechanics in every step
(staggered coupling). In a ``plate``/``strip`` step of current density :math:`i_{app}` (positive
plating, :mod:`ecmsim.scenario.steps`):

1. the potential problem (:class:`~ecmsim.electrochem.potential.PotentialProblem`, built once) is
   solved with :math:`i_{app}` and the interface state of the last accepted step: contact activity
   :math:`a_k` (reduced where porous Li sits) and, with ``stress_coupling``, the interface pressure
   of the mechanics;
2. the local current :math:`i_k` of every interface facet k (the exact facet integral of the
   Butler–Volmer current over the facet length, so that :math:`\sum_k i_k L_k = i_{app} W` to the
   Newton tolerance: charge conservation) gives the plated thickness increment
   :math:`\Delta h_k = i_k\,\Omega_{Li}/F\,\Delta t`;
3. of a plated increment a fraction :math:`f_{irr}` (``cycling.irreversible_fraction``) becomes
   porous, dead Li (:math:`h^{dead}_k`, never stripped); the rest and every stripped increment
   change the dense plated thickness :math:`h^{live}_k` (which may turn negative: stripping takes
   Li from the original electrode);
4. the electrode's quadrature points within :math:`\delta` (``cycling.deposition_layer_thickness_m``)
   of the interface form the deposition layer; each belongs to its nearest facet k, with the
   facet's unit normal :math:`n_k`, and carries the growth eigenstrain

   .. math:: \varepsilon_g = \frac{h^{live}_k + h^{dead}_k}{\bar\delta}\; n_k\otimes n_k ,
      \qquad \bar\delta = \frac{\sum_k A_k}{\sum_k L_k},

   :math:`A_k` the layer area that belongs to facet k (the sum of its points' quadrature weights);
   (with ``growth_smoothing_length_m`` s > 0 a weighted mean of the facets' growth along the interface
   instead, :func:`~ecmsim.electrochem.growth.smoothing_operator`, rows summing to 1 and columns to :math:`A_k`);
   :math:`\bar\delta` = delta for a flat interface, and then :math:`\int \mathrm{tr}\,\varepsilon_g\,dA
   = \sum_k h_k L_k` is exactly the plated volume per unit depth. On a rough interface this holds for
   the mean (a per-facet :math:`L_k/A_k` would be exact for every facet, but :math:`A_k` shrinks to
   nothing at concave corners and void tips, where it made the eigenstrain and the creep Newton
   blow up). The mechanics subtracts it from the strain in its
   constitutive update (:class:`~ecmsim.mechanics.creep.CreepProblem.eigenstrain`; creeping and
   elastic regions alike) without recompiling forms;
5. the porous volume fraction of the layer, :math:`\phi_k = h^{dead}_k/\bar\delta` (at most 0.9),
   softens the layer (both Lamé parameters times :math:`(1-\phi)^m`, ``cycling.porous_modulus_exponent``,
   m = 2: Gibson–Ashby open-cell foams) and blocks contact: :math:`a_k = \max(1-\phi_k, a_{min})`.

6. with ``cycling.interface_voids``, stripping opens voids where it outruns the Li that reaches the
   interface (the critical stripping current regime, docs/electrochem.md "Voids on stripping"): a
   facet in contact opens when the stripping velocity :math:`v_{s,k} = \max(-i_k, 0)\,\Omega_{Li}/F`
   exceeds the supply of the read-out's voids (:class:`~ecmsim.electrochem.voids.InterfaceVoids`, one law)
   at the contacts' pressure,

   .. math:: u_k = v_c\!\left(\frac{\max(-\sigma_{nn,k}, 0)}{c}\right) + v_n, \qquad
      v_c(p) = \ell\,\dot\varepsilon_c(p), \qquad v_n = i_n\,\frac{\Omega_{Li}}{F}, \qquad
      g_k \leftarrow \max(v_{s,k} - u_k, 0)\,\Delta t,

   :math:`\ell` the supply length (``cycling.void_supply_length_m``), :math:`\dot\varepsilon_c` the
   electrode's Norton law, :math:`i_n` the skeleton's supply (Li-Sn's ``skeleton_network_current_A_m2``,
   0 for Li) and :math:`c` the length fraction of the interface still in contact
   (:math:`g_k = 0`): the load of the open facets goes to the closed ones (mean field), which makes
   the contact fraction self-limiting and is solved for per step (bisection on c). The skeleton's
   :math:`v_n` is per unit area of contact and does not grow as c falls (it is not a load; and i_n was
   shown with the whole face in contact). What reaches the closed facets beyond their stripping,
   :math:`\sum_k \max(u_k - v_{s,k}, 0) L_k`, spreads into the open voids (shared by length) and closes
   them. An open facet
   passes no current (its activity is ``VOID_ACTIVITY``, 1e-6) and keeps the layer's envelope: the growth
   eigenstrain takes :math:`h^{live}_k + h^{dead}_k + g_k`, so the receding Li leaves a void instead of
   pulling the electrolyte (no tension across an open interface); pressure and the skeleton close it again
   through :math:`u_k` in every later step, current or rest. The critical stripping current of a flat
   interface at stack pressure p is :math:`i_c = F\,(\ell\,\dot\varepsilon_c(p) + v_n)/\Omega_{Li}
   = i_{c,creep} + i_n`.

7. with a contact interface (the mechanics a :class:`~ecmsim.mechanics.creep_contact.CreepContactMechanics`
   with a gap offset, ``interface.model = "contact"``), the plated Li moves the electrode's surface in the
   contact gap instead of loading a layer: :math:`g_N = g(u) - h_k`, :math:`h_k = h^{live}_k +
   h^{dead}_k/(1-\phi_d)` (no eigenstrain, no mean-field voids), and the activity follows the contact
   state of the last accepted step, :math:`a_k = \max(1-\phi_k, a_{min})\,\max(e^{-g_k/g_0}, 10^{-6})`
   with :math:`g_k` the facet's mean Nitsche gap and :math:`g_0` ``cycling.contact_activity_gap_m``
   (docs/electrochem.md, "Contact + creep + plating in the cycling window"). An electrode with a skeleton
   (``bulk_plating``, Li-Sn) takes the deposit into its bulk: the surface moves as a rigid lift
   :math:`g_N = g(u) - \bar h\,e_y\cdot\nu`, :math:`\bar h = \sum_k h_k L_k / \sum_k L_k n_{y,k}`. The lag of the
   activity is the step's error indicator (:meth:`CyclingProblem.error_indicator`).

Rest (and hold) steps pass no current: the plated state stays, the mechanics relaxes by creep.
The interface normal stress :math:`\sigma_{nn,k}` used for the coupling and the outputs is the
weighted mean of :math:`n_k\cdot\sigma\cdot n_k` over the electrode's quadrature points attached to
facet k within 1.5 facet lengths of the interface (end of the last accepted step).

Limits: plane strain (2D) windows; bonded (voids enter through the envelope and the activity, not as
free surfaces of the mesh) unless the contact option (7.) is set; small strain (the eigenstrain of one
half cycle is :math:`h/\delta`, 0.19 for 1.9 µm in a 10 µm layer); the interface does not move.
"""

from __future__ import annotations


import numpy as np
from scipy.spatial import cKDTree

from ecmsim.core.constants import FARADAY_C_PER_MOL
from ecmsim.core.errors import MeshError
from ecmsim.core.fem import MPI, dolfinx, fem, ufl
from ecmsim.electrochem.diffusion import COUPLING_TOLERANCE, InterfaceDiffusion
from ecmsim.electrochem.growth import smoothing_operator
from ecmsim.electrochem.voids import (InterfaceVoids, porous_dead_li_thickness_m, supply_diffusion_m3_s,
                                     window_void_step)

#: Largest porous volume fraction of the deposition layer (keeps the softened modulus positive).
MAX_POROUS_FRACTION = 0.9
#: Contact activity of a facet with an open void: no current crosses a gap (kept above zero only so
#: that the potential problem stays well posed when every facet is open).
VOID_ACTIVITY = 1e-6


class CyclingProblem:
    """The plated state of the interface, advanced before the mechanics in every step.

    Args:
        mechanics: the window's :class:`~ecmsim.mechanics.creep.CreepProblem`.
        potential: the :class:`~ecmsim.electrochem.potential.PotentialProblem` of the same window.
        deposition_layer_thickness_m: delta [m].
        irreversible_fraction: f_irr [-] of every plated increment that turns into porous, dead Li.
        porous_modulus_exponent: m of the softening (1 - phi)^m [-].
        min_contact_activity: a_min [-].
        molar_volume_m3_mol: Omega_Li [m³/mol].
        stress_coupling: pass the interface pressure to the potential problem.
        electrode_region: cell tag of the plated electrode.
        void_supply: the :class:`~ecmsim.electrochem.voids.InterfaceVoids` that closes voids (item 6 of the
            module docstring: the electrode's creep law over l, its skeleton's network current, D_i delta_i; the
            read-out's persistent voids take the same). None: no creep, no skeleton, l = 10 um and the window's
            ``interface_diffusion_m3_s``. With ``interface_voids`` and no supply at all, voids open and never close.
        interface_voids: open voids where stripping outruns the supply (creep and skeleton).
        temperature_K: temperature of the Norton law and of the interface diffusion [K].
        growth_smoothing_length_m: s [m] of the growth's smoothing along the interface (0: nearest facet).
        dead_li_porosity: phi_d [-]: dead Li of dense-equivalent thickness h takes h/(1 - phi_d) in the
            growth eigenstrain (0: dense).
        contact_activity_gap_m: g0 [m] of the activity exp(-g/g0) with a contact mechanics (item 7).
        bulk_plating: with a contact mechanics, the electrode's mixed-conducting skeleton (Li-Sn) carries the
            plated and stripped Li to and from its bulk: the interface moves as a rigid lift by the window's
            mean deposit instead of by each facet's own (item 7).
        interface_diffusion_m3_s: with a contact mechanics and no bulk plating, D_i delta_i [m^3/s] of Li
            diffusing along the interface down the contact pressure (:mod:`ecmsim.electrochem.diffusion`; 0: none).
        contact_modulus_Pa: E* of the electrode/electrolyte pair [Pa], the diffusion step's half-space stiffness.
        interface_energy_J_m2: gamma [J/m^2] of the deposit's surface in the diffusion's chemical potential.
    """

    name = "cycling"
    #: a contact mechanics (item 7); set in __init__
    contact = False

    def __init__(self, mechanics, potential, *, deposition_layer_thickness_m: float = 10e-6,
                 irreversible_fraction: float = 0.05, porous_modulus_exponent: float = 2.0,
                 min_contact_activity: float = 0.05, molar_volume_m3_mol: float = 13.0e-6,
                 stress_coupling: bool = False, electrode_region: str = "electrode",
                 interface_voids: bool = False, void_supply: InterfaceVoids | None = None,
                 temperature_K: float = 298.15, growth_smoothing_length_m: float = 0.0,
                 dead_li_porosity: float = 0.0, contact_activity_gap_m: float = 10e-9,
                 bulk_plating: bool = False, interface_diffusion_m3_s: float = 0.0, contact_modulus_Pa: float = 0.0,
                 interface_energy_J_m2: float = 0.0):
        self.mech, self.pot = mechanics, potential
        self.delta = float(deposition_layer_thickness_m)
        self.f_irr = float(irreversible_fraction)
        self.m = float(porous_modulus_exponent)
        self.a_min = float(min_contact_activity)
        self.omega = float(molar_volume_m3_mol)
        self.stress_coupling = stress_coupling
        self.voids = bool(interface_voids)
        #: the supply that closes voids, v_c + v_d + v_n: the same law as the read-out's persistent voids
        if void_supply is None:
            void_supply = InterfaceVoids(None, 10e-6, float(temperature_K), self.omega, 0.0,
                                         supply_diffusion_m3_s(None, interface_diffusion_m3_s))
        self.void_supply = void_supply
        self.smoothing = float(growth_smoothing_length_m)
        #: dead Li of dense-equivalent thickness h occupies h / (1 - porosity) (ecmsim.electrochem.voids)
        self.dead_porosity = float(dead_li_porosity)
        #: contact mode (item 7 of the module docstring): the mechanics is a creep + contact problem with a gap
        #: offset; the plated Li moves the electrode's surface in the gap instead of loading a layer
        self.contact = hasattr(mechanics, "set_gap_offset")
        if self.contact and self.voids:
            raise ValueError("cycling.interface_voids (the bonded window's mean-field voids) and a contact interface "
                             "exclude each other: with contact the gap is the void")
        #: g0 [m] of the contact activity exp(-g/g0)
        self.activity_gap = float(contact_activity_gap_m)
        #: contact: the deposit enters the electrode's bulk (a skeleton's network), the surface lifts rigidly
        self.bulk_plating = bool(bulk_plating)
        if self.bulk_plating and not self.contact:
            raise ValueError("bulk_plating needs a contact mechanics (interface.model = \"contact\")")
        comm = mechanics.tmesh.comm
        self.comm = comm
        if mechanics.tmesh.mesh.geometry.dim != 2:
            raise MeshError("plating/stripping cycles need a 2D (plane strain) window")

        # -- interface samples: one per facet, counted on the rank that owns its electrolyte cell --
        part = potential.part
        msh = part.mesh
        W = potential.activity.function_space
        w = ufl.TestFunction(W)
        self._i_form = fem.form(potential._i_local * w * potential._ds_itf)
        lengths = self._cell_vector(fem.form(w * potential._ds_itf))
        facets, cells = potential._itf_facets, potential._mid_cells
        n_owned_cells = msh.topology.index_map(msh.topology.dim).size_local
        own = cells < n_owned_cells
        X = msh.geometry.x
        nodes = dolfinx.mesh.entities_to_geometry(msh, 1, facets[own]) if own.any() else np.zeros((0, 2), int)
        t = X[nodes[:, 1], :2] - X[nodes[:, 0], :2] if len(nodes) else np.zeros((0, 2))
        normal = np.column_stack([-t[:, 1], t[:, 0]]) / np.maximum(np.linalg.norm(t, axis=1), 1e-300)[:, None]
        if own.any():           # oriented from the electrolyte (the potential's cell) into the electrode
            corners = dolfinx.mesh.entities_to_geometry(msh, msh.topology.dim, cells[own])
            outward = potential._midpoints[own, :2] - X[corners, :2].mean(axis=1)
            normal[np.einsum("ij,ij->i", normal, outward) < 0] *= -1.0
        self._own_cells = cells[own]
        self._cell_length = lengths
        cat = lambda a: np.concatenate(comm.allgather(np.asarray(a, dtype=float)))  # noqa: E731
        self.x = cat(potential._midpoints[own, 0])
        self.y = cat(potential._midpoints[own, 1])
        self.length = cat(potential._lengths[own])
        self.normal = cat(normal).reshape(-1, 2)
        if len(self.x) == 0:
            raise MeshError("plating/stripping cycles: the window has no electrode/electrolyte interface")
        self._tree = cKDTree(np.column_stack([self.x, self.y]))
        self.diffusion = None           # Li diffusion along a contact interface (ecmsim.electrochem.diffusion)
        if interface_diffusion_m3_s > 0:
            if not self.contact or self.bulk_plating:
                raise ValueError("cycling.interface_diffusion_m3_s needs interface.model = \"contact\" and an "
                                 "electrode without a skeleton (its deposit enters the bulk)")
            self.diffusion = InterfaceDiffusion(self.x, self.y, self.normal, self.length,
                                                diffusion_m3_s=interface_diffusion_m3_s, temperature_K=temperature_K,
                                                molar_volume_m3_mol=self.omega, contact_modulus_Pa=contact_modulus_Pa,
                                                interface_energy_J_m2=interface_energy_J_m2)
        self._pressure = np.zeros(len(self.x))   # contact: p_k of the last accepted state [Pa]
        self.counter_length = potential._sum("counter_length")

        # -- deposition layer: electrode quadrature points within delta of the interface --
        pts = mechanics.quadrature_points()
        dist, k = self._tree.query(pts[:, :2])
        electrode = np.isin(mechanics.cell_of_point, mechanics.tmesh.cells(electrode_region))
        self.layer = np.flatnonzero(electrode & (dist < self.delta))
        self.layer_k = k[self.layer]
        owned = mechanics._owned_points[self.layer]
        area = np.bincount(self.layer_k[owned], weights=mechanics._weights[self.layer][owned], minlength=len(self.x))
        self.layer_area = comm.allreduce(area, op=MPI.SUM)
        #: mean layer thickness: layer area over interface length (delta for a flat interface) [m]
        self.delta_eff = float(self.layer_area.sum() / self.length.sum())
        nk = np.zeros((len(self.x), 3, 3))
        nk[:, 0, 0], nk[:, 1, 1] = self.normal[:, 0] ** 2, self.normal[:, 1] ** 2
        nk[:, 0, 1] = nk[:, 1, 0] = self.normal[:, 0] * self.normal[:, 1]
        self._nn = nk
        self._smooth = self._smoothing_operator(pts[self.layer, :2], mechanics) if self.smoothing > 0 else None
        # points that sample the interface stress: within 1.5 facet lengths
        near = electrode & (dist < 1.5 * self.length[k])
        self._near = np.flatnonzero(near & mechanics._owned_points)
        self._near_k = k[self._near]
        wsum = np.bincount(self._near_k, weights=mechanics._weights[self._near], minlength=len(self.x))
        self._near_weight = comm.allreduce(wsum, op=MPI.SUM)
        self.n_cells_local = len(mechanics.cells)

        # -- state (committed and trial) --
        zeros = np.zeros(len(self.x))
        self.h_live, self.h_dead = zeros.copy(), zeros.copy()
        self.h_live_trial, self.h_dead_trial = zeros.copy(), zeros.copy()
        self.gap, self.gap_trial = zeros.copy(), zeros.copy()   # void thickness at the facet [m]
        self._closed = np.ones(len(self.x), dtype=bool)         # contact: facets that carry pressure
        #: contact: the share of the last step's current that the activity's lag misplaced (error_indicator)
        self.activity_change = 0.0
        #: with diffusion: the share of the step's move its coupling iterations left unconverged (iterate)
        self.diffusion_misplaced, self._diffusing = 0.0, False
        self.coupling_iterations = 0     # with diffusion: the mechanics' extra solves of the last step
        self.current = zeros.copy()              # local current of the last current step [A/m2]
        self.current_trial = zeros.copy()
        self.normal_stress = zeros.copy()        # interface sigma_nn at the samples [Pa]
        self._pot_metrics: dict[str, float] = {}
        self._pot_metrics_trial: dict[str, float] = {}
        self.applied = 0.0
        self.charge_error = 0.0
        self.plated_charge_C_m = 0.0             # net charge through the interface per unit depth [C/m]
        self._charge_trial = 0.0
        self.potential_iterations = 0
        self._apply_state()

    # -- helpers ---------------------------------------------------------------------------------

    def _cell_vector(self, form) -> np.ndarray:
        vec = fem.assemble_vector(form)
        vec.scatter_reverse(dolfinx.la.InsertMode.add)
        vec.scatter_forward()
        return vec.array.copy()

    def porous_fraction(self, h_dead: np.ndarray | None = None) -> np.ndarray:
        """phi_k: porous (dead) Li volume fraction of each facet's layer [-]."""
        h_dead = self.h_dead if h_dead is None else h_dead
        return np.clip(h_dead / self.delta_eff, 0.0, MAX_POROUS_FRACTION)

    def activity(self, gap: np.ndarray | None = None) -> np.ndarray:
        """a_k: 1 - porous fraction (at least a_min where dead Li covers the facet); VOID_ACTIVITY where a
        void is open (bonded) or, with contact, times exp(-g_k/g0) of the facet's gap (at least VOID_ACTIVITY).
        ``gap``: the facets' gaps [m] to use instead of the accepted state's."""
        gap = self.gap if gap is None else gap
        dense = np.maximum(1.0 - self.porous_fraction(), self.a_min)
        if self.contact:
            return dense * np.maximum(np.exp(-np.maximum(gap, 0.0) / self.activity_gap), VOID_ACTIVITY)
        return np.where(gap > 0.0, VOID_ACTIVITY, dense)

    def contact_fraction(self, gap: np.ndarray | None = None) -> float:
        """c: length fraction of the interface without a void (with contact: that carries pressure) [-]."""
        if self.contact and gap is None:
            return float(np.dot(self._closed, self.length) / self.length.sum())
        gap = self.gap if gap is None else gap
        return float(np.dot(gap <= 0.0, self.length) / self.length.sum())

    def supply_velocity(self, pressure_Pa, contact_fraction: float = 1.0) -> np.ndarray:
        """v_c(p/c) + v_d(p/c) + v_n: the Li brought to a contact [m/s] where the facet's compressive normal stress
        is ``pressure_Pa`` and a fraction c = ``contact_fraction`` of the interface carries the load:
        :meth:`InterfaceVoids.supply_velocity <ecmsim.electrochem.voids.InterfaceVoids.supply_velocity>` (the law
        of the read-out's voids) at the contacts' pressure p/c. Creep feels the load of the open part; the
        skeleton's supply v_n does not depend on c (per unit area of contact, item 6)."""
        p = np.maximum(np.nan_to_num(np.asarray(pressure_Pa, dtype=float)), 0.0)
        return self.void_supply.supply_velocity(p / max(contact_fraction, 1e-12))

    def critical_stripping_current_A_m2(self, pressure_Pa: float) -> float:
        """i_c = F (l eps_dot(p) + v_d(p) + v_n) / Omega = i_c,creep + i_c,diffusion + i_n: the stripping current
        that the creep, the interface diffusion (contact windows) and the skeleton's supply just keep up with on a
        flat interface at ``pressure_Pa`` [A/m2] (none of them: 0)."""
        return float(self.void_supply.critical_current_A_m2(pressure_Pa))

    def _void_step(self, stripping_m_s: np.ndarray, dt_s: float) -> np.ndarray:
        """The facets' void thickness after dt (:func:`~ecmsim.electrochem.voids.window_void_step`) with the
        facets' compressive normal stress (unknown samples: the length-weighted mean)."""
        sigma = -self.normal_stress if self.normal_stress.any() else np.full(len(self.x), np.nan)
        finite = np.isfinite(sigma)
        fill = float(np.dot(sigma[finite], self.length[finite]) / self.length[finite].sum()) if finite.any() else 0.0
        sigma = np.where(finite, sigma, fill)
        return window_void_step(self.gap, self.length, stripping_m_s, dt_s, lambda c: self.supply_velocity(sigma, c))

    def _smoothing_operator(self, points: np.ndarray, mechanics):
        """S[q, k] of :func:`~ecmsim.electrochem.growth.smoothing_operator` for this window's facets and layer."""
        S, self.smoothing_column_error = smoothing_operator(
            points, self._tree, self.x, self.y, self.length, self.smoothing,
            np.where(mechanics._owned_points[self.layer], mechanics._weights[self.layer], 0.0), self.layer_area,
            self.comm)
        return S

    def rigid_lift(self, h: np.ndarray) -> float:
        """h_bar [m]: the rigid lift of the electrode along y that holds the deposit sum_k h_k L_k,
        h_bar = sum_k h_k L_k / sum_k L_k n_y,k (n_k from the electrolyte into the electrode; the denominator
        is the interface's projected width)."""
        return float(np.dot(h, self.length) / np.dot(self.normal[:, 1], self.length))

    def plated_surface(self, h_live: np.ndarray, h_dead: np.ndarray) -> np.ndarray:
        """h_k: how far the electrode's surface has moved into the electrolyte by plating (< 0: stripping) [m]:
        dense Li plus dead Li at its porosity."""
        return h_live + porous_dead_li_thickness_m(h_dead, self.dead_porosity)

    def _apply_eigenstrain(self, h_live: np.ndarray, h_dead: np.ndarray, gap: np.ndarray | None = None) -> None:
        if self.contact:       # the plated Li moves the surface: g_N = g(u) - h_k, no eigenstrain
            h, tree = self.plated_surface(h_live, h_dead), self._tree
            if self.bulk_plating:
                self.mech.set_gap_lift(self.rigid_lift(h))
                return
            self.mech.set_gap_offset(lambda p: h[tree.query(p[:, :2])[1]] if len(p) else np.empty(0))
            return
        gap = self.gap if gap is None else gap
        g = (h_live + porous_dead_li_thickness_m(h_dead, self.dead_porosity) + gap) / self.delta_eff
        if self._smooth is None:
            self.mech.eigenstrain[self.layer] = g[self.layer_k, None, None] * self._nn[self.layer_k]
        else:
            eps = self._smooth @ (g[:, None] * self._nn.reshape(-1, 9))
            self.mech.eigenstrain[self.layer] = eps.reshape(-1, 3, 3)

    def _apply_state(self) -> None:
        """Committed state -> eigenstrain, softening of the mechanics, contact activity of the potential."""
        self._apply_eigenstrain(self.h_live, self.h_dead)
        phi_point = np.zeros(len(self.mech.cell_of_point))
        phi_point[self.layer] = self.porous_fraction()[self.layer_k]
        factor = (1.0 - phi_point) ** self.m
        self.mech.set_modulus_factor(factor.reshape(-1, self.mech.nq).mean(axis=1))
        activity, tree = self.activity(), self._tree
        self.pot.set_interface_state(lambda p: activity[tree.query(p[:, :2])[1]] if len(p) else np.empty(0),
                                     (lambda p: -self.normal_stress[tree.query(p[:, :2])[1]] if len(p)
                                      else np.empty(0)) if self.stress_coupling else None)

    def _interface_normal_stress(self) -> np.ndarray:
        s = self.mech.stress_q.x.array.reshape(-1, 3, 3)[self.mech.dofs][self._near]
        snn = np.einsum("nij,nij->n", s, self._nn[self._near_k])
        total = np.bincount(self._near_k, weights=self.mech._weights[self._near] * snn, minlength=len(self.x))
        total = self.comm.allreduce(total, op=MPI.SUM)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self._near_weight > 0, total / self._near_weight, np.nan)

    # -- the time loop's verbs ---------------------------------------------------------------------

    def advance(self, t_s: float, dt_s: float, step=None) -> int:
        self._diffusing, self.diffusion_misplaced = self.diffusion is not None and dt_s > 0, 0.0
        self.coupling_iterations = 0
        start = self.plated_surface(self.h_live, self.h_dead) if self._diffusing else None
        # a step passes current if it carries a current density (Plate/Strip, ecmsim.scenario.steps)
        if "current_density_A_m2" not in getattr(step, "values", {}) or dt_s <= 0:
            self.applied = 0.0
            self.h_live_trial, self.h_dead_trial = self.h_live.copy(), self.h_dead.copy()
            # pressure closes open voids in rest steps too
            self.gap_trial = self._void_step(np.zeros(len(self.x)), dt_s) if self.voids and dt_s > 0 else self.gap.copy()
            if self._diffusing:
                self.h_live_trial += self.diffusion.step(self._pressure, self._closed, dt_s, surface_m=start)
            if self.voids or self.diffusion is not None:
                self._apply_eigenstrain(self.h_live_trial, self.h_dead, self.gap_trial)
            self.current_trial = np.zeros_like(self.current)
            self._pot_metrics_trial = {}
            self._charge_trial = self.plated_charge_C_m
            self.charge_error = 0.0
            return 0
        self.applied = float(step.values["current_density_A_m2"])
        self.pot.set_current_density(self.applied)
        solution = self.pot.solve()
        self.potential_iterations = int(solution.info["potential_newton_iterations"])
        self._pot_metrics_trial = dict(solution.metrics)
        cell_current = self._cell_vector(self._i_form)          # facet integrals of a*i_BV per cell [A/m]
        local = cell_current[self._own_cells] / self._cell_length[self._own_cells]
        i_k = np.concatenate(self.comm.allgather(local))
        total = float(np.dot(i_k, self.length))
        applied_total = self.applied * self.counter_length
        self.charge_error = abs(total - applied_total) / abs(applied_total)
        dh = i_k * self.omega / FARADAY_C_PER_MOL * dt_s
        plated = np.maximum(dh, 0.0)
        self.h_dead_trial = self.h_dead + self.f_irr * plated
        self.h_live_trial = self.h_live + dh - self.f_irr * plated
        if self._diffusing:   # implicit in the whole move: the plating's own enters the pressure
            moved = self.plated_surface(self.h_live_trial, self.h_dead_trial) - start
            self.h_live_trial += self.diffusion.step(self._pressure, self._closed, dt_s, moved, start)
        self.current_trial = i_k
        self._charge_trial = self.plated_charge_C_m + total * dt_s
        stripping = np.maximum(-i_k, 0.0) * self.omega / FARADAY_C_PER_MOL
        self.gap_trial = self._void_step(stripping, dt_s) if self.voids else self.gap.copy()
        self._apply_eigenstrain(self.h_live_trial, self.h_dead_trial, self.gap_trial)
        return self.potential_iterations

    def error_indicator(self) -> float:
        """Bonded: 0 (the current is explicit and the plated thickness exact for a constant current: dt is
        bounded by ``protocol.dt_max_s``, checked by halving it, docs/electrochem.md). With contact, in a step
        that passes current, the share of the current that the activities' lag misplaced (the step's solve
        moved the gaps to g_k'), e = sum L_k |i_k| |a_k(g_k') - a_k| / a_k / sum L_k |i_k| (first order in dt),
        over the protocol's ``error_tolerance``. (What the coupling iterations of interface diffusion leave is
        not a time-discretization error: ``diffusion_misplaced`` in the history, and a warning.)"""
        self.activity_change = 0.0
        if not self.contact:
            return 0.0
        if self.applied != 0.0:
            a = self.activity()
            a_end = self.activity(np.maximum(self._contact_state()[0], 0.0))
            w = self.length * np.abs(self.current_trial)
            if w.sum() > 0:
                self.activity_change = float(np.dot(w, np.abs(a_end - a) / a) / w.sum())
        return self.activity_change / self.mech.error_tolerance

    def iterate(self) -> bool:
        """With interface diffusion: one coupling iteration after the step's solve (the time loop then solves
        the mechanics again if this returns True).

        The step's diffusion is corrected towards backward Euler in the solve's own end pressure
        (InterfaceDiffusion.correct) while the correction's share sum L_k |d_k| / sum L_k (|dh_e,k| + |dh_k|) of
        the step's move exceeds COUPLING_TOLERANCE x the error tolerance; the time loop stops after
        ``ecmsim.run.timeloop.MAX_COUPLING_ITERATIONS`` (what is left: ``diffusion_misplaced``)."""
        if not self._diffusing:
            return False
        pressure_end = self._contact_state()[1]
        d = self.diffusion.correct(pressure_end, pressure_end > 0)
        scale = float(np.dot(self.length, np.abs(self.diffusion.moved_e) + np.abs(self.diffusion.moved)))
        # one decision on every rank (the arrays are the same everywhere; a rounding difference must not split them)
        self.diffusion_misplaced = self.comm.allreduce(float(np.dot(self.length, np.abs(d))) / max(scale, 1e-300),
                                                       op=MPI.MAX)
        if self.diffusion_misplaced <= COUPLING_TOLERANCE * self.mech.error_tolerance:
            self.diffusion_misplaced = 0.0   # converged: the step keeps the move its mechanics was solved with
            return False
        self.h_live_trial += d
        self._apply_eigenstrain(self.h_live_trial, self.h_dead_trial, self.gap_trial)
        self.coupling_iterations += 1
        return True

    def accept(self) -> None:
        self.h_live, self.h_dead = self.h_live_trial.copy(), self.h_dead_trial.copy()
        self.gap = self.gap_trial.copy()
        self.current = self.current_trial.copy()
        self.plated_charge_C_m = self._charge_trial
        self._pot_metrics = self._pot_metrics_trial
        self._accepted_applied = self.applied
        # The mechanics accepts after this problem: the stress is refreshed in metrics(); the
        # softening and activity follow the new dead Li now (they act from the next step on).
        self._apply_state()

    def reject(self) -> None:
        self._apply_eigenstrain(self.h_live, self.h_dead)

    def _contact_state(self) -> tuple[np.ndarray, np.ndarray]:
        """g_k and p_k: the weighted means of the Nitsche gap g_N [m] and pressure [Pa] of the contact samples
        nearest each facet."""
        samples = self.mech.interface_samples()
        if samples is None:
            return self.gap, np.ones_like(self.gap)
        k = self._tree.query(np.column_stack([samples.x_m, samples.y_m]))[1]
        w = np.bincount(k, weights=samples.weight_m, minlength=len(self.x))
        mean = lambda f: np.where(w > 0, np.bincount(k, weights=samples.weight_m * f,  # noqa: E731
                                                     minlength=len(self.x)) / np.maximum(w, 1e-300), 0.0)
        return mean(samples.gap_m), mean(samples.contact_pressure_Pa)

    def metrics(self) -> dict[str, float]:
        self.normal_stress = self._interface_normal_stress()
        if self.contact:       # the contact state of the accepted step sets the activity of the next
            gap, pressure = self._contact_state()
            self.gap = np.maximum(gap, 0.0)
            self._closed, self._pressure = pressure > 0, pressure
        if self.stress_coupling or self.contact:
            self._apply_state()
        s = self.normal_stress[np.isfinite(self.normal_stress)]
        w = self.length[np.isfinite(self.normal_stress)]
        mean = float(np.dot(w, s) / w.sum()) if len(s) else float("nan")
        std = float(np.sqrt(np.dot(w, (s - mean) ** 2) / w.sum())) if len(s) else float("nan")
        centre, edge = self.centre_edge(s, w, self.x[np.isfinite(self.normal_stress)])
        h = self.h_live + self.h_dead
        L = self.length.sum()
        out = {
            "applied_current_density_A_m2": getattr(self, "_accepted_applied", 0.0),
            "current_density_mean_A_m2": self._pot_metrics.get("current_density_mean_A_m2", float("nan")),
            "current_density_max_A_m2": self._pot_metrics.get("current_density_max_A_m2", float("nan")),
            "current_density_cv": self._pot_metrics.get("current_density_cv", float("nan")),
            "window_voltage_V": self._pot_metrics.get("window_voltage_V", float("nan")),
            "interface_active_fraction": float(np.dot(self.activity(), self.length) / L),
            "charge_balance_error": self.charge_error,
            "passed_charge_C_m": self.plated_charge_C_m,
            "plated_volume_m2": float(np.dot(h, self.length)),
            "plated_thickness_mean_m": float(np.dot(h, self.length) / L),
            "plated_thickness_min_m": float(h.min()),
            "plated_thickness_max_m": float(h.max()),
            "dead_li_volume_m2": float(np.dot(self.h_dead, self.length)),
            "dead_li_thickness_mean_m": float(np.dot(self.h_dead, self.length) / L),
            "dead_li_thickness_max_m": float(self.h_dead.max()),
            "interface_contact_fraction": self.contact_fraction(),
            "void_thickness_mean_m": float(np.dot(self.gap, self.length) / L),
            "void_thickness_max_m": float(self.gap.max()),
            "interface_sigma_nn_mean_Pa": mean,
            "interface_sigma_nn_min_Pa": float(s.min()) if len(s) else float("nan"),
            "interface_sigma_nn_max_Pa": float(s.max()) if len(s) else float("nan"),
            "interface_sigma_nn_std_Pa": std,
            "interface_stress_heterogeneity": std / abs(mean) if mean else float("nan"),
            "interface_sigma_nn_centre_Pa": centre,
            "interface_sigma_nn_edge_Pa": edge,
        }
        if self.contact:
            out["contact_activity_change"] = self.activity_change
        if self.diffusion is not None:
            out["diffusion_misplaced"] = self.diffusion_misplaced
            out["diffusion_coupling_iterations"] = self.coupling_iterations
        return out

    def centre_edge(self, s, w, x) -> tuple[float, float]:
        """Length-weighted mean normal stress of the central half of the window and of the outer quarters [Pa]."""
        if len(s) == 0:
            return float("nan"), float("nan")
        lo, hi = self.x.min(), self.x.max()
        mid = np.abs(x - 0.5 * (lo + hi)) <= 0.25 * (hi - lo)
        mean = lambda m: float(np.dot(w[m], s[m]) / w[m].sum()) if m.any() else float("nan")  # noqa: E731
        return mean(mid), mean(~mid)

    # -- outputs -----------------------------------------------------------------------------------

    def profile_rows(self, step: int, t_s: float) -> np.ndarray:
        """One row per interface facet: step, time, x, y, current, sigma_nn, plated and dead thickness, activity,
        facet length (the weight of length-weighted means)."""
        n = len(self.x)
        return np.column_stack([np.full(n, step), np.full(n, t_s), self.x, self.y, self.current, self.normal_stress,
                                self.h_live + self.h_dead, self.h_dead, self.activity(), self.length, self.gap])

    PROFILE_HEADER = ("step,time_s,x_m,y_m,current_density_A_m2,normal_stress_Pa,plated_thickness_m,"
                      "dead_li_thickness_m,contact_activity,facet_length_m,void_thickness_m")

    # -- checkpoint --------------------------------------------------------------------------------

    _POT_KEYS = ("current_density_mean_A_m2", "current_density_max_A_m2", "current_density_cv", "window_voltage_V")

    def checkpoint_state(self) -> dict[str, np.ndarray]:
        """The committed plated state (global arrays, the same on every rank) and this rank's potential."""
        pot = np.array([self._pot_metrics.get(k, np.nan) for k in self._POT_KEYS] + [float(bool(self._pot_metrics))])
        return {"h_live": self.h_live, "h_dead": self.h_dead, "gap": self.gap, "current": self.current,
                "normal_stress": self.normal_stress, "pressure": self._pressure,
                "scalars": np.array([self.plated_charge_C_m, getattr(self, "_accepted_applied", 0.0),
                                     self.charge_error]), "potential_metrics": pot,
                "phi": self.pot.phi.x.array.copy()}     # Newton's start of the next potential solve (this rank)

    def restore_state(self, state: dict[str, np.ndarray]) -> None:
        self.h_live, self.h_dead = state["h_live"].copy(), state["h_dead"].copy()
        self.gap = state["gap"].copy() if "gap" in state else np.zeros_like(self.h_live)
        self.current, self.normal_stress = state["current"].copy(), state["normal_stress"].copy()
        if self.contact and "pressure" in state:
            self._pressure = state["pressure"].copy()
            self._closed = self._pressure > 0
        self.plated_charge_C_m, self._accepted_applied, self.charge_error = (float(v) for v in state["scalars"])
        self.pot.phi.x.array[:] = state["phi"]
        pot = state["potential_metrics"]
        self._pot_metrics = dict(zip(self._POT_KEYS, (float(v) for v in pot[:-1]))) if pot[-1] else {}
        self._apply_state()

    def close(self) -> None:
        self.pot.close()


__all__ = ["CyclingProblem", "MAX_POROUS_FRACTION", "VOID_ACTIVITY"]
