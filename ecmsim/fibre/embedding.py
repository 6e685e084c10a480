r"""The fibre's embedding in the cell as a process in time: assembly, press, hold at 60 °C.

Architecture level D, reduced model (docs/fbg_cell.md, "Embedding"). The cell is assembled dry:
the 125 µm fibre lies on the flat foil (thickness :math:`t_f`), the membrane (:math:`t_m`) and the
counter foil (:math:`t_c`) go on top, the plunger presses at p and the cell is held at 60 °C.
Per unit length of fibre, with the fibre rigid (silica is 14-180x stiffer than the layers):

1. **The membrane bridges the fibre** (the top stack as a plate of rigidity :math:`D_p`, loaded by
   p, propped by the fibre at the standoff :math:`h` above the foil, resting on the foil beyond its
   landing point). The plate equation :math:`D_p w'''' = -p` with symmetry at the prop and zero
   deflection, slope and moment at the landing gives (per side)

   .. math:: \ell = (72\, D_p\, h / p)^{1/4}, \qquad f = \tfrac{4}{3}\, p\, \ell,

   the landing distance and the line load on the fibre (both sides). The fibre carries at least the
   pressure on its own diameter, :math:`f \ge p\,D`.
2. **The fibre sinks into both layers by squeeze flow.** Each layer is a film between the fibre
   and a flat rigid backing (the plunger below the foil; the counter foil above the membrane), of
   thickness :math:`h_c = t - d` under the fibre (:math:`d` the depth sunk), parabolic beside it,
   :math:`h(x) = h_c + x^2/(2R)`, no slip on either side. A film of power-law material with a
   yield threshold (:class:`FlowLaw`: :math:`\dot\gamma = B\,(\tau - \tau_y)^n` above
   :math:`\tau_y`) carries the flux :math:`q(G, h)` of :func:`film_flux` under a pressure
   gradient G; the squeezed volume leaves sideways, :math:`q(x) = V x`, so G(x) and the pressure
   :math:`p(x) = \int_x^\infty G` follow from the sinking speed V, and the load
   :math:`f(V) = 2\int_0^\infty p\,dx` (:func:`squeeze_load`; Newtonian closed form
   :math:`f = 3\sqrt2\,\pi\,\mu V (R/h_c)^{3/2}`, Reynolds lubrication).
   Both films carry the same load f (the fibre is in equilibrium), which fixes the two speeds.
3. **The standoff closes**, :math:`h = D - d_f - d_m`, and the plate's rigidity relaxes where its
   layers creep (stress relaxation at fixed curvature of each layer's Norton law); both lower f.

Outputs in time: the depths :math:`d_f, d_m` (the groove depths), the standoff, the landing
distance, the fibre load, and the film pressures on the fibre's rim, from which the core stress
follows by the Michell solution (:func:`ecmsim.fibre.cell.disc_centre_stress`). Every layer law
comes from its material record at the cell temperature: Li and the Li–Sn composite
(:func:`composite_law`) from cited creep data, the membrane from ``creep_*`` keys (a Newtonian
viscosity where ``creep_stress_exponent = 1``).

Limits (stated in the docs): the lubrication film is exact for :math:`h_c \ll R` and
approximate early on, when the fibre first presses into the full foil; the plate is elastic in
bending up to its relaxation; the layers' elastic indentation (well under a micrometre at these
loads) is left out; the fibre's own contact with the bottom plunger ends the sinking
(:data:`MIN_FILM_M`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy import integrate

from ecmsim.core.errors import MaterialError

#: Thinnest film left under the fibre [m]: it cannot sink through its layer.
MIN_FILM_M = 0.2e-6
#: Quadrature points of the film integrals.
_FILM_POINTS = 160


@dataclass(frozen=True)
class FlowLaw:
    """Power-law flow with a threshold, at one temperature.

    Equivalent (von Mises) creep rate :math:`\\dot\\varepsilon = A' ((\\sigma - \\sigma_y)_+ / \\sigma_0)^n`;
    in shear (:math:`\\sigma = \\sqrt3\\tau`, :math:`\\dot\\gamma = \\sqrt3\\dot\\varepsilon`):
    :math:`\\dot\\gamma = B (\\tau - \\tau_y)_+^n` with :math:`B = \\sqrt3 A' (\\sqrt3/\\sigma_0)^n`,
    :math:`\\tau_y = \\sigma_y/\\sqrt3`.

    Attributes:
        rate_per_s: A' = A exp(-Q/RT) [1/s].
        stress_exponent: n [-].
        reference_stress_Pa: sigma_0 [Pa].
        threshold_Pa: sigma_y [Pa] (0: pure Norton).
    """

    rate_per_s: float
    stress_exponent: float
    reference_stress_Pa: float
    threshold_Pa: float = 0.0

    @classmethod
    def from_norton(cls, law, temperature_K: float) -> FlowLaw:
        """From a :class:`~ecmsim.materials.creep.NortonLaw` at a temperature."""
        return cls(law.rate_factor_per_s(temperature_K), law.stress_exponent, law.reference_stress_Pa)

    @property
    def shear_coefficient(self) -> float:
        """B of :math:`\\dot\\gamma = B \\tau^n` [1/(s Pa^n)]."""
        n = self.stress_exponent
        return math.sqrt(3.0) * self.rate_per_s * (math.sqrt(3.0) / self.reference_stress_Pa) ** n

    @property
    def shear_threshold_Pa(self) -> float:
        return self.threshold_Pa / math.sqrt(3.0)

    def creeps(self) -> bool:
        return self.rate_per_s > 0


def film_flux(G, h, law: FlowLaw):
    """Flux per unit length [m²/s] of a film of thickness ``h`` [m] between two no-slip walls under a
    pressure gradient ``G`` = -dp/dx > 0 [Pa/m] (numpy arrays welcome).

    Shear stress :math:`\\tau = G\\zeta` at distance ζ from the mid-plane; a plug where
    :math:`\\tau < \\tau_y`; with :math:`s_w = G h/2 - \\tau_y`,
    :math:`q = 2 B s_w^{n+1} \\zeta_y / ((n+1) G) + 2 B s_w^{n+2} / ((n+2) G^2)`, zero if
    :math:`s_w \\le 0` (Newtonian: :math:`q = h^3 G / (12\\mu)`).
    """
    n, B, ty = law.stress_exponent, law.shear_coefficient, law.shear_threshold_Pa
    G = np.asarray(G, dtype=float)
    sw = np.maximum(G * h / 2 - ty, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = 2 * B * sw ** (n + 1) * (ty / G) / ((n + 1) * G) + 2 * B * sw ** (n + 2) / ((n + 2) * G * G)
    return np.where(sw > 0, q, 0.0)


def _gradient(q, h, law: FlowLaw) -> np.ndarray:
    """The pressure gradient G > 0 that drives the flux q through thickness h (inverse of :func:`film_flux`)."""
    n, B, ty = law.stress_exponent, law.shear_coefficient, law.shear_threshold_Pa
    q = np.asarray(q, dtype=float)
    h = np.broadcast_to(np.asarray(h, dtype=float), q.shape)
    # without a threshold the flux is a power of G: exact
    G = (q * (n + 2) / (2 * B * (h / 2) ** (n + 2))) ** (1.0 / n)
    if ty == 0.0:
        return G
    # with one: G lies above the yield gradient 2 tau_y / h; bisection in log G (q grows with G)
    lo = np.log(2 * ty / h)
    hi = np.log(np.maximum(G, 2 * ty / h) * 4 + 2 * ty / h)
    while np.any(film_flux(np.exp(hi), h, law) < q):
        hi = np.where(film_flux(np.exp(hi), h, law) < q, hi + 1.0, hi)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        low = film_flux(np.exp(mid), h, law) < q
        lo, hi = np.where(low, mid, lo), np.where(low, hi, mid)
    return np.exp(0.5 * (lo + hi))


def _film_grid(h_c: float, radius_m: float, extent_m: float | None = None) -> np.ndarray:
    """Points 0 <= x <= extent along the film, dense near the axis (the contact scale sqrt(2 R h_c)).

    The film ends at the fibre's flank, x = R (default ``extent_m``): beyond it the squeezed
    material is free to rise beside the fibre, no longer a thin film."""
    extent = radius_m if extent_m is None else extent_m
    scale = min(math.sqrt(2 * radius_m * h_c), extent)
    s = np.linspace(0.0, 1.0, _FILM_POINTS)
    # cubic spacing out to the contact scale and on to the end: both ends resolved
    return np.concatenate([scale * s[:-1] ** 2, scale + (extent - scale) * s ** 2]) if extent > scale \
        else extent * s ** 2


def film_pressure(V: float, h_c: float, radius_m: float, law: FlowLaw,
                  extent_m: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(x [m], pressure [Pa]) of the squeeze film under a fibre sinking at ``V`` [m/s], 0 <= x <= extent
    (default the fibre's radius: the film's end, where the pressure is zero)."""
    x = _film_grid(h_c, radius_m, extent_m)
    h = h_c + x * x / (2 * radius_m)
    G = _gradient(V * x, h, law) if V > 0 else np.zeros_like(x)
    # p(x) = int_x^inf G: cumulative trapezoid from the far end
    seg = 0.5 * (G[1:] + G[:-1]) * np.diff(x)
    p = np.concatenate([np.cumsum(seg[::-1])[::-1], [0.0]])
    return x, p


def squeeze_load(V: float, h_c: float, radius_m: float, law: FlowLaw, extent_m: float | None = None) -> float:
    """Line load [N/m] of a fibre (radius R) sinking at ``V`` [m/s] into a film of minimum thickness
    ``h_c`` [m] (both sides of the axis; the film ends at ``extent_m``, default R). V -> 0 with a
    threshold: the yield load, the largest the film holds without flowing."""
    x, p = film_pressure(V, h_c, radius_m, law, extent_m)
    return float(2.0 * integrate.trapezoid(p, x))


def squeeze_load_newtonian(V: float, h_c: float, radius_m: float, viscosity_Pa_s: float) -> float:
    """Reynolds' closed form of a cylinder approaching a wall through a Newtonian film [N/m]."""
    return 3 * math.sqrt(2) * math.pi * viscosity_Pa_s * V * (radius_m / h_c) ** 1.5


def squeeze_velocity(f: float, h_c: float, radius_m: float, law: FlowLaw, table=None) -> float:
    """The sinking speed [m/s] at which the film carries the line load ``f`` [N/m]; 0 if it holds f
    without flowing (threshold) or does not creep. ``table``: a :class:`SqueezeTable` of the law
    (threshold laws; built on the fly otherwise, which is slow)."""
    if f <= 0 or not law.creeps():
        return 0.0
    n = law.stress_exponent
    if law.threshold_Pa == 0.0:
        # f ~ V^(1/n) exactly: one evaluation at V = 1 m/s scales
        return float((f / squeeze_load(1.0, h_c, radius_m, law)) ** n)
    table = table or SqueezeTable(law, radius_m, h_c, h_c)
    return table.velocity(f, h_c)


class SqueezeTable:
    """log f(log h_c, log V) of a threshold law on a grid, for fast inversion V(f, h_c) [SI].

    The film's load grows monotonically with V from its yield load (V -> 0); below that load the
    film holds the fibre (V = 0). Linear interpolation in log space; the grid spans the film
    thicknesses ``h_min``..``h_max`` and 24 decades of V around the Norton (no threshold) speed."""

    def __init__(self, law: FlowLaw, radius_m: float, h_min: float, h_max: float, n_h: int = 24, n_v: int = 64):
        self.law, self.R = law, radius_m
        self.log_h = np.linspace(math.log(h_min), math.log(max(h_max, h_min * 1.0001)), n_h)
        self.log_v = np.linspace(-20.0, 16.0, n_v) * math.log(10.0)
        self.log_f = np.empty((n_h, n_v))
        self.yield_load = np.empty(n_h)
        for i, lh in enumerate(self.log_h):
            h_c = math.exp(lh)
            loads = np.array([squeeze_load(math.exp(lv), h_c, radius_m, law) for lv in self.log_v])
            self.log_f[i] = np.log(np.maximum(loads, 1e-300))
            self.yield_load[i] = squeeze_load(math.exp(self.log_v[0] - 10.0), h_c, radius_m, law)

    def velocity(self, f: float, h_c: float) -> float:
        lh = min(max(math.log(h_c), self.log_h[0]), self.log_h[-1])
        i = min(int(np.searchsorted(self.log_h, lh)), len(self.log_h) - 1)
        i0 = max(i - 1, 0)
        w = 0.0 if i == i0 else (lh - self.log_h[i0]) / (self.log_h[i] - self.log_h[i0])
        fy = (1 - w) * self.yield_load[i0] + w * self.yield_load[i]
        if f <= fy * (1 + 1e-9):
            return 0.0
        # the load above the yield load grows as a power of V: interpolate log V against its log,
        # and beyond the table follow the power law of the flowing part (excess ~ V^(1/n))
        excess = np.maximum((1 - w) * np.exp(self.log_f[i0]) + w * np.exp(self.log_f[i]) - fy, 1e-300)
        le, lx = np.log(excess), math.log(f - fy)
        ok = np.concatenate([[True], np.diff(le) > 0])
        le, lv = le[ok], self.log_v[ok]
        if lx >= le[-1]:
            return float(math.exp(lv[-1] + self.law.stress_exponent * (lx - le[-1])))
        if lx <= le[0]:
            return float(math.exp(lv[0] + self.law.stress_exponent * (lx - le[0])))
        return float(math.exp(np.interp(lx, le, lv)))


def bridging(pressure_Pa: float, standoff_m: float, rigidity_N_m: float, diameter_m: float) -> tuple[float, float]:
    """(fibre line load f [N/m], landing distance from the fibre axis [m]) of a plate of rigidity
    ``rigidity_N_m`` pressed by ``pressure_Pa`` over a prop of height ``standoff_m``:
    :math:`\\ell = (72 D_p h / p)^{1/4}`, :math:`f = 4 p \\ell / 3`, at least :math:`p D`."""
    landing = (72.0 * rigidity_N_m * max(standoff_m, 0.0) / pressure_Pa) ** 0.25
    f = max(4.0 * pressure_Pa * landing / 3.0, pressure_Pa * diameter_m)
    return f, max(landing, 0.5 * diameter_m)


def plate_rigidity(youngs_modulus_Pa: float, poissons_ratio: float, thickness_m: float) -> float:
    """D = E t^3 / (12 (1 - nu^2)) [N m]."""
    return youngs_modulus_Pa * thickness_m ** 3 / (12.0 * (1.0 - poissons_ratio ** 2))


def neutral_axis(layers) -> tuple[float, list[tuple[float, float]]]:
    """(neutral axis height, [(bottom, top) of each layer]) of bonded layers (E, nu, t) stacked from z = 0 [m]."""
    z, bounds = 0.0, []
    for _, _, t in layers:
        bounds.append((z, z + t))
        z += t
    stiff = [E / (1 - nu * nu) * t for E, nu, t in layers]
    total = sum(stiff)
    z_n = sum(k * 0.5 * (lo + hi) for k, (lo, hi) in zip(stiff, bounds)) / total if total > 0 else 0.5 * z
    return z_n, bounds


def section_rigidity(layers) -> float:
    """Bending rigidity [N m] of bonded layers (E [Pa], nu, t [m]) about their neutral axis:
    sum of E' (t^3/12 + t (z_i - z_n)^2), E' = E / (1 - nu^2)."""
    if not layers:
        return 0.0
    z_n, bounds = neutral_axis(layers)
    return sum(E / (1 - nu * nu) * (t ** 3 / 12 + t * (0.5 * (lo + hi) - z_n) ** 2)
               for (E, nu, t), (lo, hi) in zip(layers, bounds))


# ---- the Li–Sn composite ---------------------------------------------------------------------------

SKELETON_MODES = ("none", "isolated", "connected")


def composite_law(matrix: FlowLaw, fraction: float, mode: str, skeleton_hardness_Pa: float) -> FlowLaw:
    """The flow law of a Li matrix with a non-creeping intermetallic skeleton of volume ``fraction``.

    - ``isolated`` particles: dilute rigid inclusions stiffen the flow by the linear (Einstein)
      factor :math:`\\sigma_0 \\to \\sigma_0 (1 + 2.5\\varphi)` (a lower bound for a non-linear matrix).
    - ``connected`` skeleton, continuous in the foil's plane (the calendered and folded foil of the
      reference): the skeleton carries its volume share in parallel with the matrix (Voigt bound),
      so the matrix flows only once the skeleton yields, a threshold
      :math:`\\sigma_y = \\varphi\\,\\sigma_{ys}` with the skeleton's yield stress from its hardness,
      :math:`\\sigma_{ys} = H/3` (Tabor); on top of the isolated-particle stiffening. (An open-cell
      foam of the same fraction would hold far less: :math:`0.3\\sigma_{ys}\\varphi^{3/2}`, Gibson & Ashby,
      Cellular Solids, 2nd ed. 1997.)
    - ``none`` or fraction 0: the matrix law itself.
    """
    if mode not in SKELETON_MODES:
        raise MaterialError(f"skeleton mode must be one of {SKELETON_MODES} (got {mode!r})")
    if mode == "none" or fraction == 0.0:
        return matrix
    law = replace(matrix, reference_stress_Pa=matrix.reference_stress_Pa * (1.0 + 2.5 * fraction))
    if mode == "connected":
        law = replace(law, threshold_Pa=fraction * skeleton_hardness_Pa / 3.0)
    return law


def skeleton_frame_modulus_Pa(skeleton_modulus_Pa: float, fraction: float, mode: str) -> float:
    """In-plane Young's modulus that a connected skeleton keeps when the matrix has crept away:
    phi E_s (continuous lamellae, Voigt); 0 for isolated particles."""
    return skeleton_modulus_Pa * fraction if mode == "connected" else 0.0


def relaxed_fraction(law: FlowLaw, modulus_Pa: float, initial_stress_Pa: float, time_s: float) -> float:
    """sigma(t) / sigma(0) of a layer held at fixed strain (stress relaxation) [-].

    :math:`\\dot\\sigma = -E A' (\\sigma/\\sigma_0)^n`: exponential for n = 1, else
    :math:`\\sigma = \\sigma_0 [ (\\sigma_i/\\sigma_0)^{1-n} + (n-1) E A' t / \\sigma_0 ]^{1/(1-n)}`.
    The threshold is left out (the layer relaxes towards it, a small stress here)."""
    if not law.creeps() or time_s <= 0 or initial_stress_Pa <= 0:
        return 1.0
    n, s0, k = law.stress_exponent, law.reference_stress_Pa, modulus_Pa * law.rate_per_s
    if n == 1.0:
        return math.exp(-k * time_s / s0)
    s = s0 * ((initial_stress_Pa / s0) ** (1 - n) + (n - 1) * k * time_s / s0) ** (1.0 / (1 - n))
    return s / initial_stress_Pa


# ---- the embedding in time ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Layer:
    """A layer of the cell for the embedding: thickness, elasticity and flow law at the cell temperature."""

    name: str
    thickness_m: float
    youngs_modulus_Pa: float
    poissons_ratio: float
    law: FlowLaw
    #: modulus of a part that does not relax (a connected skeleton's frame) [Pa]
    frame_modulus_Pa: float = 0.0

    @property
    def plane_strain_modulus_Pa(self) -> float:
        """E / (1 - nu^2) [Pa] (as :attr:`ecmsim.materials.Material.plane_strain_modulus_Pa`)."""
        return self.youngs_modulus_Pa / (1 - self.poissons_ratio ** 2)


@dataclass(frozen=True)
class EmbeddingState:
    """The embedded state at one time."""

    time_s: float
    depth_electrode_m: float
    depth_electrolyte_m: float
    standoff_m: float
    landing_m: float
    fibre_line_load_N_per_m: float
    plate_rigidity_N_m: float
    sinking_rate_electrode_m_per_s: float
    sinking_rate_electrolyte_m_per_s: float

    def metrics(self) -> dict[str, float]:
        return {"fibre_depth_in_electrode_m": self.depth_electrode_m,
                "fibre_depth_in_electrolyte_m": self.depth_electrolyte_m,
                "fibre_standoff_m": self.standoff_m, "membrane_landing_m": self.landing_m,
                "fibre_line_load_N_per_m": self.fibre_line_load_N_per_m,
                "top_stack_rigidity_N_m": self.plate_rigidity_N_m,
                "fibre_sinking_rate_electrode_m_per_s": self.sinking_rate_electrode_m_per_s,
                "fibre_sinking_rate_electrolyte_m_per_s": self.sinking_rate_electrolyte_m_per_s}


class Embedding:
    """The fibre pressed into foil (below) and membrane (above) under a counter foil, in time.

    Args:
        diameter_m: fibre diameter D [m].
        foil, membrane, counter: the :class:`Layer` s (bottom foil, membrane, top foil).
        initial_depth_m: depth of first contact in each layer (the fibre laid on a flat foil) [m].

    :meth:`advance` integrates the two depths over a time step at a stack pressure (stiff ODE,
    implicit); :meth:`state` is the state after the last step.
    """

    def __init__(self, diameter_m: float, foil: Layer, membrane: Layer, counter: Layer,
                 initial_depth_m: float = 0.5e-6):
        self.D = diameter_m
        self.R = 0.5 * diameter_m
        self.foil, self.membrane, self.counter = foil, membrane, counter
        # threshold laws: V(f) from a table (built once here, a few seconds)
        self._tables = {lay.name: SqueezeTable(lay.law, self.R, MIN_FILM_M, lay.thickness_m)
                        for lay in (foil, membrane) if lay.law.creeps() and lay.law.threshold_Pa > 0}
        self.depths = np.array([initial_depth_m, initial_depth_m])
        self.t_s = 0.0
        self.loaded_s: float | None = None        # time the load was applied (plate relaxation clock)
        self._bending0: dict[str, float] = {}

    # -- pieces ---------------------------------------------------------------------------------

    def rigidity(self, pressure_Pa: float, since_load_s: float) -> float:
        """Bending rigidity of the top stack (membrane bonded to the counter foil) after ``since_load_s``
        of creep [N m]: the bonded section's rigidity about its neutral axis
        (:func:`section_rigidity`), each layer with its relaxed modulus: its own Norton law relaxes
        the initial bending stress, a connected skeleton's frame keeps its share."""
        layers = []
        for layer in (self.membrane, self.counter):
            if layer.thickness_m <= 0:
                continue
            keep = relaxed_fraction(layer.law, layer.youngs_modulus_Pa, self._bending0.get(layer.name, 0.0),
                                    since_load_s)
            modulus = layer.frame_modulus_Pa + (layer.youngs_modulus_Pa - layer.frame_modulus_Pa) * keep
            layers.append((modulus, layer.poissons_ratio, layer.thickness_m))
        return section_rigidity(layers)

    def _initial_bending(self, pressure_Pa: float) -> None:
        """The bending stress of each top layer when the load is first applied (elastic plate over the
        fibre): the moment at the prop, p l^2 / 6, over the bonded section, at each layer's outer face."""
        layers = [(lay.youngs_modulus_Pa, lay.poissons_ratio, lay.thickness_m) for lay in (self.membrane, self.counter)
                  if lay.thickness_m > 0]
        total = section_rigidity(layers)
        _, landing = bridging(pressure_Pa, self.standoff_m, total, self.D)
        moment = pressure_Pa * landing ** 2 / 6.0
        z_n, z = neutral_axis(layers)
        self._bending0 = {}
        for lay, (lo, hi) in zip([lay for lay in (self.membrane, self.counter) if lay.thickness_m > 0], z):
            curvature = moment / total
            far = max(abs(lo - z_n), abs(hi - z_n))
            self._bending0[lay.name] = lay.plane_strain_modulus_Pa * curvature * far

    @property
    def standoff_m(self) -> float:
        return max(self.D - float(self.depths.sum()), 0.0)

    def _rates(self, depths: np.ndarray, pressure_Pa: float, t_s: float) -> tuple[np.ndarray, float, float, float]:
        """(d depths/dt, fibre load, landing, rigidity) at a state."""
        h = max(self.D - float(depths[0] + depths[1]), 0.0)
        rigidity = self.rigidity(pressure_Pa, t_s - (self.loaded_s or 0.0))
        f, landing = bridging(pressure_Pa, h, rigidity, self.D)
        rates = np.zeros(2)
        if h > 0:
            for k, layer in enumerate((self.foil, self.membrane)):
                film = layer.thickness_m - depths[k]
                if film > MIN_FILM_M:
                    rates[k] = squeeze_velocity(f, film, self.R, layer.law, self._tables.get(layer.name))
        return rates, f, landing, rigidity

    # -- time -----------------------------------------------------------------------------------

    def advance(self, pressure_Pa: float, dt_s: float) -> EmbeddingState:
        """The state after ``dt_s`` at ``pressure_Pa`` (dt = 0: the load applied, no flow yet).

        The depths follow the stiff ODE of the module docstring (LSODA); it stops where a film reaches
        :data:`MIN_FILM_M` (the fibre on the backing) or the standoff closes, and continues with that
        layer held."""
        if self.loaded_s is None:
            self.loaded_s = self.t_s
            self._initial_bending(pressure_Pa)
        t_end = self.t_s + dt_s
        while t_end - self.t_s > 1e-12 * max(t_end, 1.0):
            limits = np.array([self.foil.thickness_m, self.membrane.thickness_m]) - MIN_FILM_M
            moving = (self.depths < limits * (1 - 1e-9)) & (self.standoff_m > 1e-9)
            if not moving.any():
                self.t_s = t_end
                break
            t0 = self.t_s

            def rhs(t, y):
                return np.where(moving, self._rates(np.minimum(np.maximum(y, 0.0), limits), pressure_Pa,
                                                    t0 + t)[0], 0.0)

            # a moving layer's film reaching its minimum, or the standoff closing, ends the piece
            events = [lambda t, y, k=k: limits[k] - y[k] for k in (0, 1) if moving[k]]
            events.append(lambda t, y: self.D - (y[0] + y[1]) - 1e-9)
            for ev in events:
                ev.terminal = True
                ev.direction = -1
            sol = integrate.solve_ivp(rhs, (0.0, t_end - t0), self.depths, method="LSODA", events=events,
                                      rtol=1e-6, atol=1e-12)
            self.depths = np.minimum(np.maximum(sol.y[:, -1], 0.0), limits)
            if sol.status == 1:          # an event: a layer that reached its limit stays on it
                self.depths = np.where(self.depths >= limits - 1e-6 * self.D, limits, self.depths)
                self.t_s = t0 + float(sol.t[-1])
            else:
                self.t_s = t_end
        return self.state(pressure_Pa)

    def state(self, pressure_Pa: float) -> EmbeddingState:
        rates, f, landing, rigidity = self._rates(self.depths, pressure_Pa, self.t_s)
        return EmbeddingState(self.t_s, float(self.depths[0]), float(self.depths[1]), self.standoff_m, landing, f,
                              rigidity, float(rates[0]), float(rates[1]))

    def tractions(self, pressure_Pa: float):
        """The film pressures on the fibre's rim (foil below, membrane above) as
        :class:`~ecmsim.fibre.cell.DiscTractions`, each integrating to the fibre load (the fibre in
        equilibrium), and the two loads [N/m] they integrate to."""
        from ecmsim.fibre.cell import DiscTractions

        st = self.state(pressure_Pa)
        f = st.fibre_line_load_N_per_m
        out, loads = [], []
        for k, (layer, rate, down) in enumerate(((self.foil, st.sinking_rate_electrode_m_per_s, True),
                                                 (self.membrane, st.sinking_rate_electrolyte_m_per_s, False))):
            film = max(layer.thickness_m - self.depths[k], MIN_FILM_M)
            x, p = self._rim_pressure(f, film, layer, rate)
            x, p = x[x < self.R], p[x < self.R]
            theta = np.arcsin(x / self.R)
            # the film pressure acts normal to the rim at angle -90 deg (below) or +90 deg (above) +- theta
            centre = -0.5 * math.pi if down else 0.5 * math.pi
            th = np.concatenate([centre + theta, centre - theta[1:]])
            pr = np.concatenate([p, p[1:]])
            # weights: rim arc per sample, ds = dx / cos(theta) (trapezoid on the half, mirrored)
            dx = np.gradient(x)
            w = dx / np.maximum(np.cos(theta), 1e-6)
            ww = np.concatenate([w, w[1:]])
            tr = DiscTractions(th, pr, ww, self.R)
            # scale to carry f exactly (the rim cut at |x| < R and the quadrature lose a little)
            carried = abs(tr.net_force_N_per_m[1])
            loads.append(carried)
            out.append(replace(tr, pressure_Pa=pr * (f / carried)) if carried > 0 else tr)
        return out[0], out[1], loads

    def _rim_pressure(self, f: float, film: float, layer: Layer, rate: float):
        """(x, pressure) along the rim from the axis: the squeeze film's profile while the layer flows;
        Hertz's elastic line contact (half width b = sqrt(4 R f / (pi E*)), E* = E / (1 - nu^2),
        p = 2 f / (pi b) sqrt(1 - x^2 / b^2)) where it holds the fibre without flowing."""
        if rate > 0:
            return film_pressure(rate, film, self.R, layer.law)
        e_star = layer.plane_strain_modulus_Pa
        b = min(math.sqrt(4 * self.R * f / (math.pi * e_star)), 0.99 * self.R)
        x = b * np.linspace(0.0, 1.0, _FILM_POINTS) ** 0.5
        return x, 2 * f / (math.pi * b) * np.sqrt(np.maximum(1 - (x / b) ** 2, 0.0))


__all__ = ["FlowLaw", "Layer", "Embedding", "EmbeddingState", "film_flux", "film_pressure", "squeeze_load",
           "squeeze_load_newtonian", "squeeze_velocity", "bridging", "plate_rigidity", "section_rigidity",
           "neutral_axis", "composite_law", "SqueezeTable",
           "skeleton_frame_modulus_Pa", "relaxed_fraction", "SKELETON_MODES", "MIN_FILM_M"]
