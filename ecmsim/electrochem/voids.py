r"""Voids that persist from cycle to cycle, and porous dead Li: the interface's memory at the cell scale.

Mean field per unit interface area (docs/electrochem.md, "Voids that persist"). The void height
g [m] (void volume per nominal area) at a point of the interface obeys

.. math:: \dot g = v_s - v_c - v_d - v_n, \qquad g \ge 0, \qquad
   v_s = \max(-i, 0)\,\frac{\Omega_{Li}}{F}, \qquad v_c = \ell\,\dot\varepsilon_c(p), \qquad
   v_d = C\,\frac{p B}{\ell^2}, \qquad v_n = i_n\,\frac{\Omega_{Li}}{F},

- :math:`v_s` the stripping flux (i > 0 plating, as everywhere in ecmsim): Li leaves the interface
  at :math:`i\,\Omega/F`; plating adds Li at the contacts and does **not** fill the voids (they are
  not in contact with the electrolyte: Kasemchainan et al., Nat. Mater. 18, 1105 (2019), dendrites
  on plating after voids on stripping);
- :math:`v_c` the creep inflow: the electrode's Norton law (:class:`~ecmsim.materials.creep.NortonLaw`,
  with its size effect at :math:`\ell`) at the local compressive pressure p, times the supply length
  :math:`\ell` (``cycling.void_supply_length_m``);
- :math:`v_d` the supply of Li diffusing along the interface (``cycling.interface_diffusion_m3_s`` = D_i delta_i,
  the contact window's; 0 without): the steady state of a patch of half width :math:`\ell` stripping beside an
  unstripped contact as wide, mirror sides, :math:`B\,p'' = v - \bar v` with
  :math:`B = D_i\delta_i\,\Omega_{Li}/(R T)`, keeps contact up to :math:`v = C p B/\ell^2`, C = 4
  (:data:`DIFFUSION_PATCH_CONSTANT`; the contact window's stripped patch measures 4.19-4.39 against 4.36 for its
  ramp, tests/test_interface_diffusion.py). Linear in p, where creep goes as p^n. The same interface and the same
  D_i delta_i as the window's, so the voids beside the fibre feel the supply that keeps the window in contact;
- :math:`v_n` the supply of a mixed-conducting skeleton (Li-Sn: the Li22Sn5 network carries Li from the
  electrode's bulk to the interface point that strips, docs/electrochem.md "The Li-Sn skeleton's supply"):
  the current density :math:`i_n` it can feed (the record key ``skeleton_network_current_A_m2``,
  :func:`network_current_A_m2`; 0 for Li). Stripping slower than :math:`i_n` opens no void.

The window's voids on stripping (:class:`~ecmsim.electrochem.cycling.CyclingProblem`, ``cycling.interface_voids``)
take the same supply, :meth:`InterfaceVoids.supply_velocity`, at their contacts' pressure p/c (the window's
``void_supply`` is the object the fibre read-out takes).

With i and p constant over a step the solution is exact: :math:`g(t + \Delta t) = \max(g + (v_s - v_c - v_d -
v_n) \Delta t, 0)` (a void that has closed stays closed while the supply outruns stripping).
The critical stripping current at pressure p is :math:`i_c = F\,(v_c(p) + v_d(p))/\Omega + i_n`; over a symmetric
cycle (strip :math:`t_s`, then plate or rest :math:`t_p`, same |i|, no skeleton) the void grows by
:math:`v_s t_s - (v_c + v_d) (t_s + t_p)` if positive: voids accumulate from cycle to cycle for
:math:`|i| > i_c\,(1 + t_p/t_s)` and otherwise close before the next strip.

Dead Li (``cycling.irreversible_fraction`` of every plated increment) is porous: a dense-equivalent
thickness :math:`h_d` occupies :math:`h_d / (1 - \phi_d)` (``cycling.dead_li_porosity`` =
:math:`\phi_d`), so the foil's surface rises by :math:`h_d\,\phi_d/(1 - \phi_d)` more than the dense
count. Pure numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecmsim.core.constants import FARADAY_C_PER_MOL, GAS_CONSTANT_J_PER_MOL_K

#: Omega_Li [m³/mol] when the electrode's record has no ``molar_volume_m3_mol``: 6.941 g/mol over 0.534 g/cm³
LI_MOLAR_VOLUME_M3_MOL = 13.0e-6

#: C of the interface diffusion's supply v_d = C p B / l^2 (module docstring): 4 for a patch of half width l with a
#: sharp edge beside an unstripped contact of the same width (the 1D steady state, B p'' = v - v_bar, mean p = P)
DIFFUSION_PATCH_CONSTANT = 4.0


def molar_volume_m3_mol(electrode) -> float:
    """The electrode material's molar volume [m³/mol] (its record's, else Li's)."""
    return electrode.properties.get("molar_volume_m3_mol", LI_MOLAR_VOLUME_M3_MOL)


def network_current_A_m2(electrode) -> float:
    """i_n [A/m²]: the stripping current density an electrode's mixed-conducting skeleton supplies from its bulk
    (its record's ``skeleton_network_current_A_m2``; 0 without: Li)."""
    return float(electrode.properties.get("skeleton_network_current_A_m2", 0.0))


def supply_length_m(void_supply_length_m, characteristic_length_m, deposition_layer_thickness_m) -> float:
    """l [m]: ``cycling.void_supply_length_m``, else ``creep.characteristic_length_m``, else the deposition
    layer's thickness (the window's voids and the voids beside the fibre take the same l)."""
    return void_supply_length_m or characteristic_length_m or deposition_layer_thickness_m


def supply_diffusion_m3_s(void_diffusion_m3_s, interface_diffusion_m3_s) -> float:
    """D_i delta_i [m^3/s] of the voids' diffusion supply: ``cycling.void_diffusion_m3_s``, else the contact
    window's ``interface_diffusion_m3_s``, else 0 (the window's voids and the voids beside the fibre take the same)."""
    return float((interface_diffusion_m3_s if void_diffusion_m3_s is None else void_diffusion_m3_s) or 0.0)


@dataclass(frozen=True)
class InterfaceVoids:
    """The void height ODE of the module docstring.

    Attributes:
        law: the electrode's Norton law (size effect applied at the supply length); None: no creep,
            voids never close.
        supply_length_m: l [m].
        temperature_K: T [K].
        molar_volume_m3_mol: Omega_Li [m³/mol].
        network_current_A_m2: i_n [A/m²], the skeleton's supply from the bulk (0: none, Li).
        diffusion_m3_s: D_i delta_i [m³/s] of Li along the interface (0: none).
    """

    law: object | None
    supply_length_m: float
    temperature_K: float
    molar_volume_m3_mol: float = LI_MOLAR_VOLUME_M3_MOL
    network_current_A_m2: float = 0.0
    diffusion_m3_s: float = 0.0

    @classmethod
    def of_electrode(cls, electrode, supply_m: float, temperature_K: float, creep: bool = True,
                     diffusion_m3_s: float = 0.0) -> InterfaceVoids:
        """The voids of an electrode material: its Norton law with the size effect at l (None without creep),
        its molar volume, its skeleton's supply (:func:`network_current_A_m2`) and D_i delta_i of the interface."""
        from ecmsim.materials.creep import law_of

        return cls(law_of(electrode, supply_m) if creep else None, float(supply_m), float(temperature_K),
                   molar_volume_m3_mol(electrode), network_current_A_m2(electrode), float(diffusion_m3_s))

    def stripping_velocity(self, current_A_m2) -> np.ndarray:
        """v_s = max(-i, 0) Omega / F [m/s]."""
        return np.maximum(-np.asarray(current_A_m2, dtype=float), 0.0) * self.molar_volume_m3_mol / FARADAY_C_PER_MOL

    def closure_velocity(self, pressure_Pa) -> np.ndarray:
        """v_c = l eps_dot_c(max(p, 0)) [m/s]: the Li creep brings to the interface at compressive pressure p."""
        p = np.maximum(np.asarray(pressure_Pa, dtype=float), 0.0)
        if self.law is None:
            return np.zeros_like(p)
        return self.supply_length_m * self.law.rate_per_s(p, self.temperature_K)

    def diffusion_velocity(self, pressure_Pa) -> np.ndarray:
        """v_d = C max(p, 0) B / l^2 [m/s], B = D_i delta_i Omega / (R T): the Li that diffusion along the interface
        brings to a stripped patch of half width l at compressive pressure p (module docstring)."""
        p = np.maximum(np.asarray(pressure_Pa, dtype=float), 0.0)
        mobility = self.diffusion_m3_s * self.molar_volume_m3_mol / (GAS_CONSTANT_J_PER_MOL_K * self.temperature_K)
        return DIFFUSION_PATCH_CONSTANT * mobility / self.supply_length_m ** 2 * p

    def network_velocity(self) -> float:
        """v_n = i_n Omega / F [m/s]: the Li the skeleton brings to the interface from the electrode's bulk."""
        return self.network_current_A_m2 * self.molar_volume_m3_mol / FARADAY_C_PER_MOL

    def supply_velocity(self, pressure_Pa) -> np.ndarray:
        """v_c + v_d + v_n [m/s]: all the Li that reaches the interface at compressive pressure p."""
        return self.closure_velocity(pressure_Pa) + self.diffusion_velocity(pressure_Pa) + self.network_velocity()

    def critical_current_A_m2(self, pressure_Pa) -> np.ndarray:
        """i_c = F (v_c(p) + v_d(p) + v_n) / Omega [A/m²]: stripping faster than this opens voids."""
        return self.supply_velocity(pressure_Pa) * FARADAY_C_PER_MOL / self.molar_volume_m3_mol

    def describe(self, pressure_Pa: float) -> str:
        """The supply in words for a progress line: what supplies the voids and the critical stripping current at
        ``pressure_Pa``."""
        parts = [f"creep over {self.supply_length_m:g} m"] if self.law is not None else []
        if self.diffusion_m3_s:
            parts.append(f"interface diffusion (D_i delta_i {self.diffusion_m3_s:g} m^3/s)")
        if self.network_current_A_m2:
            parts.append(f"the skeleton {self.network_current_A_m2 / 10:g} mA/cm2")
        by = " and ".join([", ".join(parts[:-1]), parts[-1]] if len(parts) > 1 else parts) or "nothing (no creep)"
        ic = float(self.critical_current_A_m2(pressure_Pa))
        return f"supplied by {by}: critical stripping current {ic / 10:.3g} mA/cm2 at {pressure_Pa / 1e6:g} MPa"

    def advance(self, void_m, current_A_m2, pressure_Pa, dt_s: float) -> np.ndarray:
        """The void height after dt with the current and the pressure held (exact for constant rates)."""
        g = np.asarray(void_m, dtype=float)
        rate = self.stripping_velocity(current_A_m2) - self.supply_velocity(pressure_Pa)
        return np.maximum(g + rate * dt_s, 0.0)


def porous_dead_li_thickness_m(dead_dense_m, porosity: float):
    """The thickness that dead Li of dense-equivalent thickness ``dead_dense_m`` occupies at porosity phi_d:
    h_d / (1 - phi_d) [m]."""
    if not 0.0 <= porosity < 1.0:
        raise ValueError(f"dead Li porosity {porosity!r} outside [0, 1)")
    return np.asarray(dead_dense_m, dtype=float) / (1.0 - porosity)


def window_void_step(gap: np.ndarray, length: np.ndarray, stripping_m_s: np.ndarray, dt_s: float,
                     supply) -> np.ndarray:
    """The bonded window's facet voids [m] after dt, with the contact fraction c consistent with them: c = the
    length fraction of facets whose void is closed at the end of the step, found by bisection (the supply grows
    as c falls, so the fraction closed falls as c grows: one crossing).

    Args:
        gap: the facets' void thickness at the start of the step [m].
        length: the facets' lengths [m].
        stripping_m_s: the facets' stripping velocity max(-i, 0) Omega/F [m/s].
        dt_s: the step [s].
        supply: c -> the Li brought to each closed facet at contact fraction c [m/s] (v_c(p/c) + v_n).
    """
    closed = gap <= 0.0
    open_length = float(np.dot(~closed, length))
    fraction = lambda g: float(np.dot(g <= 0.0, length) / length.sum())  # noqa: E731

    def after(c):
        u = supply(c)
        # the Li that creep and the skeleton bring to the closed facets beyond what stripping takes
        # there spreads into the voids, shared by length
        surplus = float(np.dot(np.where(closed, np.maximum(u - stripping_m_s, 0.0), 0.0), length))
        filling = surplus / open_length if open_length > 0 else 0.0
        return np.where(closed, np.maximum(stripping_m_s - u, 0.0) * dt_s,
                        np.maximum(gap + (stripping_m_s - filling) * dt_s, 0.0))

    lo, hi = 1e-6, 1.0
    if fraction(after(hi)) >= hi:
        return after(hi)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if fraction(after(mid)) >= mid:
            lo = mid
        else:
            hi = mid
    # at the crossing: facets closed at lo but open at hi are balanced (supply = demand at c = lo);
    # as many of them stay closed, least stripped first, as keep the contact fraction at lo
    gap_lo, out = after(lo), after(hi)
    marginal = np.flatnonzero((gap_lo <= 0.0) & (out > 0.0))
    need = lo * length.sum() - float(np.dot(out <= 0.0, length))
    for k in marginal[np.argsort(stripping_m_s[marginal], kind="stable")]:
        if need <= 0.0:
            break
        out[k], need = 0.0, need - length[k]
    return out


__all__ = ["InterfaceVoids", "LI_MOLAR_VOLUME_M3_MOL", "molar_volume_m3_mol", "network_current_A_m2",
           "porous_dead_li_thickness_m", "supply_diffusion_m3_s", "supply_length_m", "window_void_step"]
