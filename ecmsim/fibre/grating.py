r"""The fibre along the grating in a cycling cell, with the plunger's force balanced at every step.

Cell scale (docs/fibre_readout.md, "The cell along the grating"). The grating (length L) is cut
into N sections along the fibre; in each, the cross-section is the fibre cell's embedded state
after its hold (:class:`~ecmsim.fibre.model.ProcessCell`: the fibre on the plunger, standing
:math:`H` above it, the membrane plate of rigidity :math:`D_p` over it), changed by what the
cycling does next to the fibre:

1. **The foil's surface beside the fibre** rises by plating and falls by stripping:
   :math:`s(x) = t_f + \Delta(x)`, with :math:`\Delta` the Li the cycling left there (live plated Li
   and dead Li, the window's interface history, section j taking x-bin j of the window). The current
   follows ionic contact (:meth:`GratingCell.share`): none under the fibre's footprint, under the
   membrane's bridge to its landing or under an open gap; their share crowds into the contacts within
   about the membrane's thickness :math:`t_m` and the rest spreads over all contacts, so each section
   passes its current. The foil's profile sums the steps' deposits times that share (the plate's contact
   of the step before). Optionally the dead Li is porous (it takes :math:`h_d/(1-\phi_d)`) and the voids that
   stripping leaves beside the fibre persist: they keep the surface where the Li receded, and close by
   creep at the foil's pressure (:meth:`GratingCell.creep_pressure`, the void height ODE of
   :mod:`ecmsim.electrochem.voids`, integrated in :func:`ecmsim.fibre.readout.compute`).
   An electrode with a mixed-conducting skeleton (Li-Sn, ``spreading_m`` = the foil's thickness): the Li
   the interface strips or plates at x' comes from or goes into the electrode's bulk through the skeleton,
   so the foil's surface moves by the deposit spread over its thickness (:meth:`GratingCell.spread`).
2. **The membrane plate on that foundation** (:func:`plate_on_foundation`): Kirchhoff plate
   :math:`D_p w'''' = q - p` across the cell (x from the fibre's axis to the half width W, symmetry
   at x = 0), in one-sided contact with the fibre's top (:math:`w(0) \ge H`) and with the foil
   (:math:`w \ge s`): finite differences and an active set. The fibre's load is the prop's
   reaction, the foil carries the rest: their sum is the plunger's pressure on the half width,
   exactly (the discrete equilibrium), at every section and step. Where the foil falls faster
   than the plate can follow (a stripped trench), the plate spans it: a gap opens; pressure closes
   it again (a trench of half width a: the plate rests on its edges and lifts off the foil over
   1.064 a beyond each, sagging by :math:`0.0668\,p a^4/D_p`, 1.6 times the clamped span's; a deeper
   trench stays open, tests/test_fibre_grating.py). Beyond the half width W the plate rests flat
   on the foil (the far field): the equilibrium is exact when the foil is flat near W.
3. **The fibre's core** in each section: the held cell's core stresses scaled with the section's
   load (the same rim pressure shape), its axial strain from the anchors' and layers' shear lag
   along z with the section-wise Poisson strain (:func:`ecmsim.fibre.axial.axial_strain_profile`).

The interface away from the fibre is where the cycling window lives: its mean stress stays the
stack pressure (its far field), so a section never sees more than the plunger supplies; the
window's micro-scale stress heterogeneity does not load the fibre directly (it changes the foil's
surface, which does).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import solve_banded

#: grid points across the half width of the cell for the plate
PLATE_POINTS = 601
#: the crowding kernel's reach in membrane thicknesses (e^-12 = 6e-6: beyond it the foil's deposit is flat, so
#: the plate meets its flat far field at W; a tail of 1e-8 there cost 1e-8 of force balance)
CROWDING_REACH = 12.0


@dataclass(frozen=True)
class PlateResult:
    """The plate over the fibre and the foil at one state."""

    x_m: np.ndarray
    deflection_m: np.ndarray            # w(x): height of the plate's underside above the plunger
    foundation_m: np.ndarray            # s(x)
    reaction_Pa: np.ndarray             # foil's pressure on the plate (0 where a gap is open)
    fibre_load_N_per_m: float           # both sides of the fibre
    landing_m: float                    # first contact with the foil beyond the fibre
    gap_fraction: float                 # fraction of the half width with the plate off the foil
    contact: np.ndarray | None = None   # the nodes where the plate rests on the foil (active set)

    @property
    def force_balance_error(self) -> float:
        """|fibre (half) + foil reaction - p W| / (p W) (the plate's own equilibrium)."""
        return self._balance

    _balance: float = 0.0


def plate_on_foundation(pressure_Pa: float, rigidity_N_m: float, fibre_top_m: float, foundation_m,
                        half_width_m: float, points: int = PLATE_POINTS) -> PlateResult:
    """The membrane plate pressed by ``pressure_Pa`` over the fibre (top at ``fibre_top_m`` above the
    plunger, at x = 0) and the foil (surface ``foundation_m``: a callable x -> height [m] or an array
    on the grid), both one-sided; symmetric at x = 0, the foil flat beyond the half width W.

    Finite differences of the plate equation on x_i = i h (the 5-point stencil of the fourth
    derivative, second order), mirror nodes at x = 0, two nodes beyond W held on the foil; the
    contact sets (fibre, foil) by a primal-dual active set until no reaction pulls and no point
    penetrates. A concentrated prop force F at x = 0 is q_0 h in the stencil's row 0, so the fibre's
    load (both sides) is q_0 h."""
    x = np.linspace(0.0, half_width_m, points)
    h = x[1] - x[0]
    s = np.asarray(foundation_m(x) if callable(foundation_m) else foundation_m, dtype=float)
    s_far = float(s[-1])
    k = rigidity_N_m / h ** 4
    n = points
    # k * stencil in LAPACK's band storage (ab[2 + i - j, j] = A[i, j]), the mirror at x = 0 folded in
    # (w_-1 = w_1, w_-2 = w_2): A[0, 1] = -8k, A[0, 2] = 2k, A[1, 1] = 7k
    A = np.outer([k, -4 * k, 6 * k, -4 * k, k], np.ones(n))
    A[2 + 0 - 1, 1] += -4.0 * k
    A[2 + 0 - 2, 2] += 1.0 * k
    A[2, 1] += 1.0 * k
    rows = np.arange(n)[None, :] + np.arange(5)[:, None] - 2      # the row i of each band entry
    inside = (rows >= 0) & (rows < n)
    rows = np.clip(rows, 0, n - 1)
    A[~inside] = 0.0

    def apply(w):                           # A @ w from the bands
        out = np.zeros(n)
        for r in range(5):
            d = r - 2                       # entry (j + d, j): column j feeds row j + d
            lo, hi = max(0, -d), min(n, n - d)
            out[lo + d:hi + d] += A[r, lo:hi] * w[lo:hi]
        return out

    rhs0 = np.full(n, -pressure_Pa)
    rhs0[n - 2] -= k * s_far                # the ghost nodes beyond W on the flat foil
    rhs0[n - 1] -= k * (-4.0 + 1.0) * s_far

    # start from the closed form's landing (flat foil): the active set then settles in a few steps
    prop = True
    foil = np.zeros(n, dtype=bool)
    guess = (72.0 * rigidity_N_m * max(fibre_top_m - s_far, 0.0) / pressure_Pa) ** 0.25
    foil[x >= guess] = True
    seen: set[bytes] = set()
    single = False                      # after a cycle of the active set: one change per iteration
    for _ in range(300 + 4 * n):
        held = foil.copy()
        held[0] = prop
        values = s.copy()
        values[0] = fibre_top_m
        free = (~held).astype(float)
        v = np.where(held, values, 0.0)
        system = A * free[rows] * free[None, :]        # rows and columns of held nodes out, 1 on their diagonal
        system[2] += held
        w = solve_banded((2, 2), system, np.where(held, values, rhs0 - apply(v)), check_finite=False)
        q = apply(w) - rhs0                 # the reaction per area at every node (0 at free nodes)
        top = np.where(np.arange(n) == 0, fibre_top_m, s)
        pull = np.where(held, -q, 0.0) / pressure_Pa              # > 0: a held node pulls
        dip = np.where(held, 0.0, top - w) * k / pressure_Pa      # > 0: a free node penetrates
        dip[0] = (fibre_top_m - w[0]) * k / pressure_Pa if not prop else 0.0
        tol = 1e-12                         # of the pressure: round-off of the reactions and the penetration
        if single and pull.max() <= tol and dip.max() <= tol:
            break
        if not single:
            new_foil = np.where(foil, q > 0, w < s - 1e-15)
            new_foil[0] = False
            new_prop = bool(q[0] > 0) if prop else bool(w[0] < fibre_top_m - 1e-15)
            if np.array_equal(new_foil, foil) and new_prop == prop:
                break
            key = np.append(new_foil, new_prop).tobytes()
            if key in seen:                 # the primal-dual active set cycles (the plate's stencil is
                single = True               # not an M-matrix): change the worst node only from here on
            else:
                seen.add(key)
                foil, prop = new_foil, new_prop
                continue
        worst = int(np.argmax(np.maximum(pull, dip)))
        if worst == 0:
            prop = not prop
        else:
            foil[worst] = not foil[worst]
    else:
        raise RuntimeError("plate contact: the active set did not settle")
    reaction = np.where(foil, q, 0.0)
    fibre = float(q[0] * h) if prop else 0.0          # both sides (the mirrored row 0)
    beyond = np.flatnonzero(foil[1:]) + 1
    landing = float(x[beyond[0]]) if beyond.size else half_width_m
    gap = float(np.mean(~foil[beyond[0]:])) if beyond.size else 1.0
    result = PlateResult(x, w, s, reaction, fibre, landing, gap, foil.copy())
    # equilibrium of the half width: half the prop + the foil's reactions = p W (row sums of the
    # stencil telescope to the ends: the mirror at x = 0 and the flat foil beyond W carry no shear)
    foil_force = float(np.sum(reaction[1:]) * h)
    total = pressure_Pa * (half_width_m + 0.5 * h)
    object.__setattr__(result, "_balance", abs(0.5 * fibre + foil_force - total) / total)
    return result


class GratingCell:
    """The held fibre cell along the grating, section by section (module docstring).

    Args:
        cell: a :class:`~ecmsim.fibre.model.ProcessCell` whose embedding has been held (its state is
            the start of the cycling).
        stack_pressure_Pa: the plunger's pressure (held).
        sections: grating sections (equal lengths).
        hold_s: how long the cell was held before the cycling began (the plate's relaxation clock).
        creep: the membrane keeps relaxing during the cycling (false: its rigidity stays the hold's).
        spreading_m: the width over which the foil's surface takes the interface's deposit (:meth:`spread`):
            the foil's thickness t_f for an electrode whose skeleton feeds the interface from its bulk (Li-Sn);
            0: none, the surface moves where the current passes (Li).
    """

    def __init__(self, cell, stack_pressure_Pa: float, sections: int, hold_s: float, creep: bool = True,
                 spreading_m: float = 0.0):
        st = cell.embedding.state(stack_pressure_Pa)
        self.cell, self.p, self.sections, self.hold_s = cell, stack_pressure_Pa, sections, hold_s
        self.creep = creep
        self.spreading_m = float(spreading_m)
        self.foil_m = cell.foil.thickness_m
        self.fibre_top_m = self.foil_m + st.standoff_m
        self.half_width_m = cell.support.pressed_half_length_m
        self.crowding_m = cell.membrane.thickness_m
        self.footprint_m = cell.radius_m
        core = cell.core(stack_pressure_Pa)
        x = self.x_m
        h = x[1] - x[0]
        self._weights = np.full(len(x), h)
        self._weights[[0, -1]] = 0.5 * h
        self._beside = x > self.footprint_m
        lam = self.crowding_m
        W = self.half_width_m                   # images at the axis and at W: the current stays in [0, W]

        def reach(d):
            return np.where(d <= CROWDING_REACH * lam, np.exp(-d / lam), 0.0)
        self._kernel = (reach(np.abs(x[:, None] - x[None, :])) + reach(x[:, None] + x[None, :])
                        + reach(2.0 * W - x[:, None] - x[None, :]))
        self._spread = None if self.spreading_m <= 0.0 else _bulk_kernel(x, self._weights, self.spreading_m)
        membrane = cell.membrane
        self.contact_gap_m = stack_pressure_Pa * membrane.thickness_m / membrane.youngs_modulus_Pa
        self._held_share = np.ones(len(x))
        held = self.plate(np.zeros((1, len(x))), 0.0)[0]
        self._held_share = self.share(self.ionic_contact(held))[0]
        self.f0 = held.fibre_load_N_per_m
        self._unit = {k: core[k] / self.f0 for k in ("sxx", "syy", "sxy")}

    def share(self, contact) -> np.ndarray:
        r"""The local current over the section's mean on :attr:`x_m` (rows: one per contact row): the current
        follows ionic contact (docs/fibre_readout.md, "The current follows contact"). None where the plate is
        off the foil (``contact`` false: the bridge from the fibre to its landing, any open gap) or over the
        fibre's footprint (x <= a). Each blocked node's current reaches the contacts around it through the
        membrane (thickness t_m) with the reach :math:`K(x, x')/(2 t_m)`,
        :math:`K = e^{-|x - x'|/t_m} + e^{-(x + x')/t_m} + e^{-(2W - x - x')/t_m}` (images at the axis and at
        the half width W, so none crosses either; cut at :data:`CROWDING_REACH` t_m), the edge crowding; the
        galvanostatic control spreads the rest over all contacts: :math:`c = \chi (1 + E) W / \int \chi (1 + E)`,
        with :math:`E(x) = \int_{blocked} K(x, x')\,dx' / (2 t_m)` and :math:`\chi` the contact. So the section's
        current is kept to round-off (:math:`\sum_i w_i c_i = W`, trapezoid weights w). For one bridge [0, l):
        :math:`c(x) = [1 + \sinh(l/t_m)\,e^{-x/t_m}]\,W / (W - l + \tfrac{t_m}{2}(1 - e^{-2l/t_m}))` on x >= l:
        a footprint narrower than t_m crowds its whole share at its edge, a wider bridge half a membrane
        thickness's worth. No contact anywhere in the half width: the plate rests on the flat foil beyond W,
        and the current goes to the last node."""
        c = np.atleast_2d(np.asarray(contact, dtype=bool)) & self._beside[None, :]
        out = np.empty(c.shape)
        last = np.arange(c.shape[1]) == c.shape[1] - 1
        for j, on in enumerate(c):
            on = on if on.any() else last
            raw = on * (1.0 + self._kernel @ (~on * self._weights) / (2.0 * self.crowding_m))
            out[j] = raw * (self.half_width_m / np.sum(self._weights * raw))
        return out

    def spread(self, deposit_m) -> np.ndarray:
        r"""The foil's surface change on :attr:`x_m` from the interface's deposit profile(s) ``deposit_m`` (rows:
        sections; negative: stripped): the deposit itself without a skeleton (:attr:`spreading_m` = 0, Li), else
        spread over the foil's thickness :math:`t_f` by the strip kernel
        :math:`k(u) = \operatorname{sech}(\pi u / 2 t_f) / (2 t_f)` with images at the axis and at W
        (docs/fibre_readout.md, "The Li-Sn skeleton"): :math:`\Delta s(x) = \int_0^W K(x, x')\,d(x')\,dx'`.
        Each column of the discrete kernel is normalised with the trapezoid weights, so the section's deposited
        volume is kept to round-off; a uniform deposit stays uniform to the kernel's quadrature error (e^{-2 pi
        t_f/h}, far below round-off at h = t_f/10)."""
        d = np.asarray(deposit_m, dtype=float)
        return d if self._spread is None else d @ self._spread.T

    def ionic_contact(self, plate: PlateResult) -> np.ndarray:
        """Where the membrane passes current to the foil: the plate rests on it, or its gap is within the
        membrane's own compression under the stack pressure, p t_m / E_m (a local indentation the bending
        plate does not resolve closes it). Beside the footprint only."""
        gap = plate.deflection_m - plate.foundation_m
        return (plate.contact | (gap <= self.contact_gap_m)) & self._beside

    @property
    def crowding(self) -> np.ndarray:
        """The share (:meth:`share`) in the held state on :attr:`x_m`: the current the cycling starts with."""
        return self._held_share

    @property
    def x_m(self) -> np.ndarray:
        """The plate's grid across the half width (:func:`plate_on_foundation`) [m]."""
        return np.linspace(0.0, self.half_width_m, PLATE_POINTS)

    def creep_pressure(self, plates: list[PlateResult], contact: np.ndarray | None = None) -> np.ndarray:
        """The pressure that drives the supply into the foil's voids (rows: sections, on :attr:`x_m`), a mean field
        of the plate's reaction that keeps its force. Under the bridge from the fibre to its landing l nothing,
        except where the membrane still passes current (:meth:`ionic_contact`: its gap g within its own
        compression delta_c = p t_m / E_m): there the membrane is compressed by delta_c - g and presses with
        p (1 - g / delta_c). Beyond the landing the stack pressure p, and the rest of the bridged zone's share that
        the fibre does not take, R = p l - f/2 less what the touching membrane before l carries, spread over one
        foil thickness t_f (the Li under a line load flows over about its own depth): p(x) = p + R' / t_f on
        l <= x < l + t_f. So the integral is p W - f/2, as the plate's (the touching membrane's pressures are
        scaled down if they would carry more than R, and are 0 if the fibre takes the whole share, R <= 0). The
        plate's own nodal reactions are concentrated (a node that carries 50 p beside nodes that carry nothing);
        fed node by node into a Norton law (n = 6.6) they closed single nodes within one step and left a mosaic
        of micrometre notches that broke the far field. ``contact``: the plates' :meth:`ionic_contact`, where the
        caller has it already (rows as ``plates``)."""
        x = self.x_m
        h = x[1] - x[0]
        rows = []
        for k, pl in enumerate(plates):
            band = (x >= pl.landing_m) & (x < pl.landing_m + self.foil_m)
            line = self.p * pl.landing_m - 0.5 * pl.fibre_load_N_per_m      # [N/m]
            p = np.where(x >= pl.landing_m, self.p, 0.0)
            touching = (self.ionic_contact(pl) if contact is None else contact[k]) & (x < pl.landing_m)
            if touching.any() and line > 0.0:
                gap = np.maximum(pl.deflection_m - pl.foundation_m, 0.0)
                near = np.where(touching, self.p * np.clip(1.0 - gap / self.contact_gap_m, 0.0, 1.0), 0.0)
                carried = float(np.sum(near) * h)
                if carried > line:
                    near *= line / carried
                    carried = line
                p += near
                line -= carried
            p[band] += line / (band.sum() * h) if band.any() else 0.0
            rows.append(p)
        return np.array(rows)

    def foundation(self, deposit_m, voids_m=None) -> np.ndarray:
        """The foil's surface on :attr:`x_m` with ``deposit_m`` of Li deposited (negative: stripped): a
        profile on :attr:`x_m` (the local deposit, :meth:`share` integrated over the steps), or a number
        (the section's mean, spread by the held state's share :attr:`crowding`). ``voids_m`` (on :attr:`x_m`):
        void height that keeps the surface where the Li receded."""
        d = np.asarray(deposit_m, dtype=float)
        local = d * self._held_share if d.ndim == 0 else d
        return self.foil_m + local + (0.0 if voids_m is None else voids_m)

    def plate(self, deposits_m: np.ndarray, since_s: float, voids_m=None) -> list[PlateResult]:
        """The plate of every section with its deposit (one number per section: its mean, spread as the held
        state's current; or one profile on :attr:`x_m` per row) and, given, its void height on :attr:`x_m`
        (one row per section), after ``since_s`` of cycling."""
        rigidity = self.cell.embedding.rigidity(self.p, self.hold_s + (since_s if self.creep else 0.0))
        deposits = np.asarray(deposits_m, dtype=float)
        deposits = deposits.reshape(-1) if deposits.ndim <= 1 else deposits
        return [plate_on_foundation(self.p, rigidity, self.fibre_top_m,
                                    self.foundation(d, None if voids_m is None else voids_m[j]),
                                    self.half_width_m) for j, d in enumerate(deposits)]

    def cores(self, loads_N_per_m: np.ndarray, temperature_K: float | None = None) -> dict[str, np.ndarray]:
        """Core strains per section (exx, eyy, ezz, exy): the held cell's rim pressure shape scaled to
        each section's load; eps_zz from the shear lag along z with the section-wise Poisson strain."""
        from dataclasses import replace

        from ecmsim.fibre.axial import axial_strain_profile
        from ecmsim.fibre.cell import core_strain

        cell, fibre = self.cell, self.cell.fibre
        loads = np.asarray(loads_N_per_m, dtype=float)
        sxx, syy, sxy = (self._unit[k] * loads for k in ("sxx", "syy", "sxy"))
        L = cell.grating.length_m
        centres = -0.5 * L + (np.arange(len(loads)) + 0.5) * L / len(loads)
        eps_p = -fibre.poissons_ratio * (sxx + syy) / fibre.youngs_modulus_Pa
        ea = fibre.youngs_modulus_Pa * math.pi * cell.radius_m ** 2
        if cell.axial == "coupled":
            base = cell.core(self.p, temperature_K)
            support = replace(cell.support, shear_stiffness_N_per_m2=base["shear_lag_N_per_m2"])

            def local(z):
                j = min(max(int((z + 0.5 * L) / L * len(loads)), 0), len(loads) - 1)
                return eps_p[j] if abs(z) <= 0.5 * L else eps_p[0 if z < 0 else -1]
            ezz = axial_strain_profile(centres, local, support, ea)
        else:
            ezz = np.zeros_like(loads) if cell.axial == "fixed" else eps_p
        rows = [core_strain(a, b, c, fibre, "coupled", float(e)) for a, b, c, e in zip(sxx, syy, sxy, ezz)]
        return {k: np.array([r[k] for r in rows]) for k in ("exx", "eyy", "ezz", "exy")}


def _bulk_kernel(x: np.ndarray, weights: np.ndarray, t_m: float) -> np.ndarray:
    r"""M[i, j]: the surface change at x_i per unit deposit at x_j (a uniform grid on [0, W], trapezoid
    ``weights``): :math:`k(x_i - x_j) + k(x_i + x_j) + k(2W - x_i - x_j)`,
    :math:`k(u) = \operatorname{sech}(\pi u / 2 t)`, each column scaled so that :math:`\sum_i w_i M_{ij} = w_j`
    (the deposit at x_j, of volume w_j d_j, keeps its volume). The images at the axis (symmetry) and at W (the
    neighbouring cell's mirror) keep the Li in [0, W]; the next images weigh e^{-pi W / t} (1e-82 at W = 6 mm,
    t = 100 um)."""
    W = float(x[-1])

    def k(u):
        return 1.0 / np.cosh(np.minimum(np.pi * np.abs(u) / (2.0 * t_m), 700.0))
    K = k(x[:, None] - x[None, :]) + k(x[:, None] + x[None, :]) + k(2.0 * W - x[:, None] - x[None, :])
    return K * (weights / (weights @ K))[None, :]


__all__ = ["plate_on_foundation", "PlateResult", "GratingCell", "PLATE_POINTS"]
