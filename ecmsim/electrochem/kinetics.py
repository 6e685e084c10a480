r"""Butler–Volmer kinetics of Li plating/stripping and the electrolyte's ionic conductivity.

Sign conventions (used everywhere in ecmsim):

- The electrode (Li or Li–Sn) is an equipotential at :math:`\phi_s = 0`; the electrolyte
  potential is :math:`\phi` [V].
- The overpotential is :math:`\eta = \phi_s - \phi - U`, with the open-circuit potential of Li
  against Li, :math:`U = 0` in a stress-free state.
- The local current density :math:`i` [A/m²] is **positive for plating** (Li⁺ + e⁻ → Li, a
  cathodic current at the electrode, ions flowing from the electrolyte into the electrode) and
  negative for stripping:

  .. math::

     i = i_0\left[\exp\!\left(-\frac{\alpha F}{RT}\eta\right) - \exp\!\left(\frac{(1-\alpha)F}{RT}\eta\right)\right],

  with the exchange current density :math:`i_0` and the (cathodic) charge-transfer coefficient
  :math:`\alpha`; the anodic one is :math:`1-\alpha`. Plating needs :math:`\eta < 0`, i.e. an
  electrolyte potential above the electrode's.
- Stress coupling (Monroe & Newman, J. Electrochem. Soc. 152, A396 (2005), the pressure term of
  their eq. for the electrochemical potential of Li): a compressive normal stress
  :math:`p = -\sigma_n > 0` on the electrode raises the chemical potential of Li in it by
  :math:`\Omega_{Li}\,p`, which lowers the equilibrium potential by :math:`\Omega_{Li} p/F`:
  :math:`\eta = \phi_s - \phi + \Omega_{Li}\,p/F`. Compression therefore makes plating harder
  (more overpotential for the same current) and stripping easier; 1 MPa shifts
  :math:`\eta` by 0.135 mV for :math:`\Omega_{Li} = 13.0` cm³/mol.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from ecmsim.core.constants import FARADAY_C_PER_MOL, GAS_CONSTANT_J_PER_MOL_K
from ecmsim.core.errors import MaterialError
from ecmsim.materials import Material


@dataclass(frozen=True)
class ButlerVolmer:
    """Butler–Volmer kinetics of one electrode/electrolyte pair at one temperature.

    Attributes:
        exchange_current_density_A_m2: i0 [A/m²] (> 0).
        charge_transfer_coefficient: cathodic alpha [-] (0 < alpha < 1); anodic 1 - alpha.
        temperature_K: T [K].
    """

    exchange_current_density_A_m2: float
    charge_transfer_coefficient: float
    temperature_K: float

    def __post_init__(self) -> None:
        if not (self.exchange_current_density_A_m2 > 0 and math.isfinite(self.exchange_current_density_A_m2)):
            raise MaterialError(f"exchange_current_density_A_m2 = {self.exchange_current_density_A_m2!r} must be > 0")
        if not 0 < self.charge_transfer_coefficient < 1:
            raise MaterialError(f"charge_transfer_coefficient = {self.charge_transfer_coefficient!r} must be in (0, 1)")
        if not self.temperature_K > 0:
            raise MaterialError(f"temperature_K = {self.temperature_K!r} must be > 0")

    @property
    def f_per_V(self) -> float:
        """F/(RT) [1/V]."""
        return FARADAY_C_PER_MOL / (GAS_CONSTANT_J_PER_MOL_K * self.temperature_K)

    @property
    def charge_transfer_resistance_ohm_m2(self) -> float:
        """Linear (small-eta) area-specific resistance RT/(F i0) [Ω m²]."""
        return 1.0 / (self.f_per_V * self.exchange_current_density_A_m2)

    def current_density(self, eta_V):
        """Plating current density i(eta) [A/m²] (positive plating) for overpotential eta [V]."""
        a, f = self.charge_transfer_coefficient, self.f_per_V
        eta = np.asarray(eta_V, dtype=float)
        return self.exchange_current_density_A_m2 * (np.exp(-a * f * eta) - np.exp((1 - a) * f * eta))

    def overpotential(self, current_density_A_m2: float) -> float:
        """The eta [V] that carries the plating current density i [A/m²] (inverse of :meth:`current_density`)."""
        i = float(current_density_A_m2)
        if i == 0.0:
            return 0.0
        a = self.charge_transfer_coefficient
        if a == 0.5:  # closed form: i = -2 i0 sinh(f eta / 2)
            return -2.0 / self.f_per_V * math.asinh(i / (2 * self.exchange_current_density_A_m2))
        # i(eta) is monotone decreasing; bracket by the Tafel asymptotes
        span = (abs(math.log(abs(i) / self.exchange_current_density_A_m2 + 1.0)) + 1.0) / (min(a, 1 - a) * self.f_per_V)
        return brentq(lambda e: float(self.current_density(e)) - i, -span, span, xtol=1e-15, rtol=1e-14)


def butler_volmer(material: Material, temperature_K: float) -> ButlerVolmer:
    """The kinetics of an electrode material record (keys ``exchange_current_density_A_m2`` and
    ``charge_transfer_coefficient``) at ``temperature_K``."""
    return ButlerVolmer(material.get("exchange_current_density_A_m2"), material.get("charge_transfer_coefficient"),
                        temperature_K)


def ionic_conductivity_S_m(material: Material, temperature_K: float) -> float:
    r"""Ionic conductivity [S/m] of an electrolyte record at ``temperature_K`` (Arrhenius).

    .. math:: \kappa(T) = \kappa_\mathrm{ref}\exp\!\left[-\frac{E_a}{R}\left(\frac1T - \frac1{T_\mathrm{ref}}\right)\right]

    with ``ionic_conductivity_S_m`` (kappa_ref) at ``ionic_conductivity_reference_temperature_K``
    and ``ionic_conductivity_activation_energy_J_per_mol`` (E_a; absent means no temperature
    dependence).
    """
    kappa = material.get("ionic_conductivity_S_m")
    props = material.properties
    if "ionic_conductivity_activation_energy_J_per_mol" not in props:
        return kappa
    t_ref = material.get("ionic_conductivity_reference_temperature_K")
    ea = material.get("ionic_conductivity_activation_energy_J_per_mol")
    return kappa * math.exp(-ea / GAS_CONSTANT_J_PER_MOL_K * (1.0 / temperature_K - 1.0 / t_ref))


def stress_overpotential_shift_V(pressure_Pa, molar_volume_m3_mol: float):
    """Omega p / F [V]: the overpotential shift of a compressive normal stress p [Pa] (positive in
    compression) on a metal of molar volume Omega [m³/mol]."""
    return molar_volume_m3_mol * np.asarray(pressure_Pa, dtype=float) / FARADAY_C_PER_MOL
