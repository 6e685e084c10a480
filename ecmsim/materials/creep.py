r"""Norton–Arrhenius power-law creep: the law, its parameters from a material record, closed forms.

Equivalent creep strain rate (von Mises stress :math:`\sigma_{vM}`, temperature T):

.. math::

    \dot\varepsilon_c = A\,\exp\!\left(-\frac{Q}{R T}\right)\left(\frac{\sigma_{vM}}{\sigma_0}\right)^{n},
    \qquad \dot{\boldsymbol\varepsilon}_c = \dot\varepsilon_c\,\frac{3}{2}\,\frac{\mathbf s}{\sigma_{vM}},

with the material keys ``creep_rate_prefactor_per_s`` (A), ``creep_stress_exponent`` (n),
``creep_activation_energy_J_per_mol`` (Q) and ``creep_reference_stress_Pa`` (:math:`\sigma_0`).
Optional size effect (thin Li is stronger, docs/creep.md): with ``creep_size_reference_length_m``
(:math:`L_{ref}`) and ``creep_size_exponent`` (m), a feature of size L < L_ref creeps with
:math:`\sigma_0 (L_{ref}/L)^m`.

Pure numpy: the finite-element integration is :mod:`ecmsim.mechanics.creep`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ecmsim.core.errors import MaterialError

GAS_CONSTANT_J_PER_MOL_K = 8.314462618
"""Molar gas constant R [J/(mol K)] (CODATA 2018, exact)."""

#: The four keys of the law: a record has all of them or none.
CREEP_KEYS = ("creep_rate_prefactor_per_s", "creep_stress_exponent", "creep_activation_energy_J_per_mol",
              "creep_reference_stress_Pa")
#: The optional size-effect keys.
SIZE_KEYS = ("creep_size_reference_length_m", "creep_size_exponent")


@dataclass(frozen=True)
class NortonLaw:
    """Norton–Arrhenius creep of one material.

    Attributes:
        prefactor_per_s: A [1/s].
        stress_exponent: n [-].
        activation_energy_J_per_mol: Q [J/mol].
        reference_stress_Pa: sigma_0 [Pa] (size effect already applied).
    """

    prefactor_per_s: float
    stress_exponent: float
    activation_energy_J_per_mol: float
    reference_stress_Pa: float

    def rate_factor_per_s(self, temperature_K: float) -> float:
        """A' = A exp(-Q/(R T)) [1/s]."""
        return self.prefactor_per_s * math.exp(-self.activation_energy_J_per_mol
                                               / (GAS_CONSTANT_J_PER_MOL_K * temperature_K))

    def rate_per_s(self, von_mises_Pa, temperature_K: float):
        """Equivalent creep rate [1/s] at a von Mises stress [Pa] (numpy arrays welcome)."""
        return self.rate_factor_per_s(temperature_K) * (abs(von_mises_Pa) / self.reference_stress_Pa) ** \
            self.stress_exponent

    def relaxation_stress_Pa(self, initial_stress_Pa: float, modulus_Pa: float, time_s, temperature_K: float):
        r"""Stress relaxing at fixed strain: :math:`\dot\sigma = -E\,\dot\varepsilon_c(\sigma)`, closed form

        :math:`\sigma(t) = \sigma_i\,[1 + (n-1)\,E A' \sigma_i^{n-1} t / \sigma_0^n]^{-1/(n-1)}` (n > 1).
        ``modulus_Pa`` is E for uniaxial stress, 3 mu for a fixed shear-like strain (docs/creep.md).
        """
        n = self.stress_exponent
        a = self.rate_factor_per_s(temperature_K)
        s0 = self.reference_stress_Pa
        return initial_stress_Pa * (1 + (n - 1) * modulus_Pa * a * (initial_stress_Pa / s0) ** (n - 1)
                                    / s0 * time_s) ** (-1 / (n - 1))

    def half_time_s(self, initial_stress_Pa: float, modulus_Pa: float, temperature_K: float) -> float:
        """Time for a stress relaxing at fixed strain to halve [s]: (2^(n-1) - 1) sigma_0^n / ((n-1) E A' sigma_i^(n-1))."""
        n = self.stress_exponent
        a = self.rate_factor_per_s(temperature_K)
        s0 = self.reference_stress_Pa
        if a == 0:
            return math.inf
        return (2 ** (n - 1) - 1) * s0 / ((n - 1) * modulus_Pa * a * (initial_stress_Pa / s0) ** (n - 1))


def law_of(material, characteristic_length_m: float | None = None) -> NortonLaw | None:
    """The :class:`NortonLaw` of a :class:`~ecmsim.materials.Material`, None if it has no creep keys.

    ``characteristic_length_m``: size of the creeping feature (layer thickness, pillar diameter);
    below the record's ``creep_size_reference_length_m`` the reference stress grows as (L_ref/L)^m.
    """
    props = material.properties
    given = [k for k in CREEP_KEYS if k in props]
    if not given:
        return None
    if len(given) != len(CREEP_KEYS):
        raise MaterialError(f"material '{material.key}': creep needs all of {', '.join(CREEP_KEYS)} "
                            f"(has {', '.join(given)})")
    s0 = props["creep_reference_stress_Pa"]
    if characteristic_length_m is not None and all(k in props for k in SIZE_KEYS):
        ratio = props["creep_size_reference_length_m"] / characteristic_length_m
        s0 *= max(ratio, 1.0) ** props["creep_size_exponent"]
    return NortonLaw(props["creep_rate_prefactor_per_s"], props["creep_stress_exponent"],
                     props["creep_activation_energy_J_per_mol"], s0)


__all__ = ["NortonLaw", "law_of", "CREEP_KEYS", "SIZE_KEYS", "GAS_CONSTANT_J_PER_MOL_K"]
