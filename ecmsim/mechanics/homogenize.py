r"""Homogenized elastic moduli of a meshed window (a composite: particles in a matrix), and the
closed forms they are checked against.

**Method** (:func:`effective_moduli`). Two plane-strain tests on the rectangular window, each a
uniaxial strain :math:`\bar\varepsilon` along one axis: the two faces normal to that axis are
displaced apart (normal displacement 0 and :math:`\bar\varepsilon L`), the other two held by
rollers (zero normal displacement), every shear traction zero. These mixed uniform boundary
conditions satisfy Hill's condition :math:`\langle\sigma:\varepsilon\rangle =
\langle\sigma\rangle:\langle\varepsilon\rangle`, so the window averages of the stress (voids
count as zero stress) give the effective in-plane moduli: along the strained axis
:math:`\langle\sigma_{ii}\rangle = (\lambda + 2\mu)^*\bar\varepsilon`, across it
:math:`\langle\sigma_{jj}\rangle = \lambda^*\bar\varepsilon`. The two tests are averaged (an
isotropic fit; their difference is reported as ``anisotropy``) and turned into
:math:`\mu^* = ((\lambda+2\mu)^* - \lambda^*)/2`, :math:`E^* = \mu^*(3\lambda^*+2\mu^*)/(\lambda^*+\mu^*)`,
:math:`\nu^* = \lambda^*/(2(\lambda^*+\mu^*))`: the isotropic material that a homogeneous window of
the same plane-strain model would need.

A 2D section in plane strain holds its particles as cylinders along z, not as spheres: the
moduli are those of a fibre composite loaded across its fibres. They are what ecmsim's 2D windows
see, which is the comparison that matters for choosing the matrix modulus of a meshed PLL; the
3D spheres of the real PLL are estimated by :func:`hashin_shtrikman_3d`.

**Closed forms.** Voigt/Reuss bounds (:func:`voigt_reuss`); the Hashin-Shtrikman bounds of a
two-phase isotropic composite in 2D (:func:`hashin_shtrikman_2d`: plane-strain bulk modulus
k = lambda + mu and in-plane shear modulus; Hashin, J. Mech. Phys. Solids 13, 119 (1965); Torquato,
*Random Heterogeneous Materials*, Springer 2002, eq. 21.10-21.11 for d = 2), whose lower bound
(the stiffer phase dispersed in the softer) is exact to first order in the particle fraction and
for k exact at any fraction for the composite-cylinder assemblage; and in 3D for spheres
(:func:`hashin_shtrikman_3d`; Hashin & Shtrikman, J. Mech. Phys. Solids 11, 127 (1963)).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ecmsim.core.fem import MPI, PETSc, fem, ufl
from ecmsim.materials import Material
from ecmsim.mechanics.elasticity import PlaneStrainElasticity, Support, sigma
from ecmsim.mesh import TaggedMesh


@dataclass(frozen=True)
class EffectiveModuli:
    """Homogenized isotropic moduli of a window [Pa] (plane strain, see the module docstring)."""

    youngs_modulus_Pa: float
    poissons_ratio: float
    lame_lambda_Pa: float
    shear_modulus_Pa: float
    constrained_modulus_Pa: float     # lambda + 2 mu: stress per strain along a confined axis
    anisotropy: float                 # |M_x - M_y| / mean of the two tests' constrained moduli
    area_fractions: Mapping[str, float]

    @property
    def plane_strain_bulk_Pa(self) -> float:
        """k = lambda + mu, the in-plane bulk modulus of plane strain [Pa]."""
        return self.lame_lambda_Pa + self.shear_modulus_Pa


def effective_moduli(tmesh: TaggedMesh, materials: Mapping[str, Material], strain: float = 1e-3,
                     degree: int = 2, problem: tuple | None = None) -> EffectiveModuli:
    """Homogenized moduli of the window ``tmesh`` (regions named as in ``materials``) by two
    uniaxial-strain tests (module docstring). ``problem``: the two solved problems of a previous
    call (:func:`strain_tests`), reused with new materials (forms compiled once)."""
    tests = problem or strain_tests(tmesh, materials, strain, degree)
    for test in tests:
        test.set_materials(materials)
    (myy, lyx), (mxx, lxy) = (test.average_stress() / strain for test in tests)
    m, lam = 0.5 * (myy + mxx), 0.5 * (lyx + lxy)
    mu = 0.5 * (m - lam)
    return EffectiveModuli(youngs_modulus_Pa=mu * (3 * lam + 2 * mu) / (lam + mu),
                           poissons_ratio=lam / (2 * (lam + mu)), lame_lambda_Pa=lam, shear_modulus_Pa=mu,
                           constrained_modulus_Pa=m, anisotropy=abs(mxx - myy) / m,
                           area_fractions=tests[0].area_fractions)


class _StrainTest:
    """One uniaxial-strain test (``axis`` 0: x, 1: y) on a window; re-solvable with new materials."""

    def __init__(self, tmesh: TaggedMesh, materials: Mapping[str, Material], strain: float, axis: int,
                 degree: int):
        msh = tmesh.mesh
        x = msh.geometry.x
        comm = msh.comm
        lo = np.array([comm.allreduce(float(x[:, i].min()) if len(x) else math.inf, op=MPI.MIN) for i in (0, 1)])
        hi = np.array([comm.allreduce(float(x[:, i].max()) if len(x) else -math.inf, op=MPI.MAX) for i in (0, 1)])
        self.area = float(np.prod(hi - lo))
        length = float(hi[axis] - lo[axis])
        far, near = (("right", "left"), ("top", "bottom"))[axis]
        sides = (("top", "bottom"), ("right", "left"))[axis]
        value = (lambda x, a=axis, e=strain, x0=lo[axis], L=length:
                 np.stack([(x[a] - x0) * e if i == a else np.zeros(x.shape[1]) for i in range(2)]))
        supports = [Support(near, (axis,)), Support(far, (axis,), value=value)]
        supports += [Support(s, (1 - axis,)) for s in sides]
        missing = [s.facet for s in supports if s.facet not in tmesh.facet_ids]
        if missing:
            from ecmsim.core.errors import GeometryError
            raise GeometryError(f"homogenization needs the window sides top, bottom, left and right (missing: "
                                f"{', '.join(missing)}: a void reaches that side)")
        self.problem = PlaneStrainElasticity(tmesh, materials, supports, degree=degree, linear="direct")
        u = self.problem.u
        s = sigma(u, self.problem.lam, self.problem.mu)
        self.forms = [fem.form(s[0, 0] * ufl.dx), fem.form(s[1, 1] * ufl.dx)]
        self.axis = axis
        self.comm = comm
        self.tmesh = tmesh
        one = fem.Constant(msh, PETSc.ScalarType(1.0))
        self.area_fractions = {}
        dx = ufl.Measure("dx", domain=msh, subdomain_data=tmesh.cell_tags)
        for region, tag in tmesh.cell_ids.items():
            a = comm.allreduce(fem.assemble_scalar(fem.form(one * dx(tag))), op=MPI.SUM)
            self.area_fractions[region] = float(a / self.area)
        self.area_fractions["void"] = max(0.0, 1.0 - sum(self.area_fractions.values()))

    def set_materials(self, materials: Mapping[str, Material]) -> None:
        for region in self.tmesh.cell_ids:
            cells = self.tmesh.cells(region)
            self.problem.lam.x.array[cells] = materials[region].lame_lambda_Pa
            self.problem.mu.x.array[cells] = materials[region].lame_mu_Pa

    def average_stress(self) -> np.ndarray:
        """(<sigma_along>, <sigma_across>) over the window [Pa] after a solve."""
        self.problem.solve()
        sxx, syy = (self.comm.allreduce(fem.assemble_scalar(f), op=MPI.SUM) / self.area for f in self.forms)
        return np.array([syy, sxx]) if self.axis == 1 else np.array([sxx, syy])


def strain_tests(tmesh: TaggedMesh, materials: Mapping[str, Material], strain: float = 1e-3,
                 degree: int = 2) -> tuple:
    """The two uniaxial-strain tests (y, then x) of :func:`effective_moduli`, built once."""
    return tuple(_StrainTest(tmesh, materials, strain, axis, degree) for axis in (1, 0))


def matrix_modulus_for(target_E_Pa: float, tmesh: TaggedMesh, particle: Material, matrix_poissons_ratio: float,
                       matrix_region: str = "electrolyte", particle_region: str = "particle",
                       degree: int = 2, rtol: float = 1e-4) -> tuple[float, EffectiveModuli, list]:
    """The matrix Young's modulus [Pa] that makes the window's homogenized E equal ``target_E_Pa``,
    the moduli there, and the evaluations (matrix E, composite E) [Pa]. The composite's E grows
    with the matrix's: Brent's method on log E_m between 1e-4 and 1 times the target (particles
    only stiffen). A window whose particles carry the load alone (a connected skeleton: E above
    the target even with a matrix 1e4 times softer) has no answer: GeometryError."""
    from scipy.optimize import brentq

    from ecmsim.core.errors import GeometryError

    def mats(E_m: float) -> dict[str, Material]:
        m = Material(key="matrix", youngs_modulus_Pa=E_m, poissons_ratio=matrix_poissons_ratio)
        return {matrix_region: m, particle_region: particle}

    tests = strain_tests(tmesh, mats(target_E_Pa), degree=degree)
    history: list[tuple[float, float]] = []

    def mismatch(log_E: float) -> float:
        eff = effective_moduli(tmesh, mats(math.exp(log_E)), problem=tests)
        history.append((math.exp(log_E), eff.youngs_modulus_Pa))
        return math.log(eff.youngs_modulus_Pa / target_E_Pa)

    lo, hi = math.log(1e-4 * target_E_Pa), math.log(target_E_Pa)
    f_lo, f_hi = mismatch(lo), mismatch(hi)
    if f_lo > 0:
        raise GeometryError(f"the window is stiffer than {target_E_Pa:g} Pa even with a matrix of "
                            f"{math.exp(lo):g} Pa: its particles form a connected skeleton")
    if f_hi < 0:
        raise GeometryError(f"the window is softer than {target_E_Pa:g} Pa with a matrix that stiff: voids?")
    log_E = brentq(mismatch, lo, hi, xtol=rtol)
    E_m = math.exp(log_E)
    return E_m, effective_moduli(tmesh, mats(E_m), problem=tests), history


# ------------------------------------------------------------------------------ closed forms

def voigt_reuss(c: float, m1: float, m2: float) -> tuple[float, float]:
    """Reuss (lower) and Voigt (upper) bounds of a modulus of two phases, phase 2 at fraction ``c``."""
    return 1.0 / ((1 - c) / m1 + c / m2), (1 - c) * m1 + c * m2


def hashin_shtrikman_2d(c: float, k1: float, mu1: float, k2: float, mu2: float) -> dict[str, tuple[float, float]]:
    """Hashin-Shtrikman bounds in 2D (isotropic in-plane: plane-strain bulk k = lambda + mu, shear
    mu) of phase 2 at area fraction ``c`` in phase 1; phase 2 the stiffer in both moduli.

    k_L = k1 + c / (1/(k2 - k1) + (1 - c)/(k1 + mu1)),
    mu_L = mu1 + c / (1/(mu2 - mu1) + (1 - c)(k1 + 2 mu1) / (2 mu1 (k1 + mu1)));
    the upper bounds swap the phases (Torquato 2002, eq. 21.10-21.11 with d = 2). Returns
    {"k": (lower, upper), "mu": (lower, upper)} [Pa].
    """
    def bound(c2, ka, ma, kb, mb):
        k = ka + c2 / (1.0 / (kb - ka) + (1 - c2) / (ka + ma))
        mu = ma + c2 / (1.0 / (mb - ma) + (1 - c2) * (ka + 2 * ma) / (2 * ma * (ka + ma)))
        return k, mu

    lo, hi = bound(c, k1, mu1, k2, mu2), bound(1 - c, k2, mu2, k1, mu1)
    return {"k": (lo[0], hi[0]), "mu": (lo[1], hi[1])}


def hashin_shtrikman_3d(c: float, K1: float, mu1: float, K2: float, mu2: float) -> dict[str, tuple[float, float]]:
    """Hashin-Shtrikman bounds in 3D (bulk K, shear mu) of spheres-or-any isotropic phase 2 at
    volume fraction ``c`` in phase 1, phase 2 the stiffer:

    K_L = K1 + c / (1/(K2 - K1) + 3 (1 - c)/(3 K1 + 4 mu1)),
    mu_L = mu1 + c / (1/(mu2 - mu1) + 6 (1 - c)(K1 + 2 mu1) / (5 mu1 (3 K1 + 4 mu1)))
    (Hashin & Shtrikman 1963); the upper bounds swap the phases. {"K": (lower, upper), "mu": ...}."""
    def bound(c2, Ka, ma, Kb, mb):
        K = Ka + c2 / (1.0 / (Kb - Ka) + 3 * (1 - c2) / (3 * Ka + 4 * ma))
        mu = ma + c2 / (1.0 / (mb - ma) + 6 * (1 - c2) * (Ka + 2 * ma) / (5 * ma * (3 * Ka + 4 * ma)))
        return K, mu

    lo, hi = bound(c, K1, mu1, K2, mu2), bound(1 - c, K2, mu2, K1, mu1)
    return {"K": (lo[0], hi[0]), "mu": (lo[1], hi[1])}


def youngs_from_bulk_shear_3d(K: float, mu: float) -> tuple[float, float]:
    """E and nu of an isotropic 3D material from its bulk and shear moduli."""
    return 9 * K * mu / (3 * K + mu), (3 * K - 2 * mu) / (2 * (3 * K + mu))


def matrix_modulus_hs_3d(target_E_Pa: float, c: float, particle: Material, matrix_poissons_ratio: float) -> float:
    """The matrix E [Pa] whose Hashin-Shtrikman lower bound in 3D (spheres at volume fraction ``c``)
    has Young's modulus ``target_E_Pa``: the 3D estimate beside the 2D mesh's answer."""
    from scipy.optimize import brentq

    Kp = particle.youngs_modulus_Pa / (3 * (1 - 2 * particle.poissons_ratio))
    mp = particle.lame_mu_Pa

    def f(log_E):
        E = math.exp(log_E)
        nu = matrix_poissons_ratio
        b = hashin_shtrikman_3d(c, E / (3 * (1 - 2 * nu)), E / (2 * (1 + nu)), Kp, mp)
        return math.log(youngs_from_bulk_shear_3d(b["K"][0], b["mu"][0])[0] / target_E_Pa)

    return math.exp(brentq(f, math.log(target_E_Pa) - 5, math.log(target_E_Pa) + 1))
