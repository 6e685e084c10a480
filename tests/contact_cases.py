"""Geometries and measurements shared by the contact tests (and run under mpirun as a script).

``python tests/contact_cases.py rough_voids OUT.json`` solves the rough interface with voids in
contact (on as many ranks as it is started with) and writes its metrics as JSON.
"""

from __future__ import annotations

import json
import math
import sys

import numpy as np

from ecmsim import materials
from ecmsim.geometry import Geometry, Region

LI_PLL = {"electrode": materials.get("Li"), "electrolyte": materials.get("PLL")}

# --- the flat contact-cycling window of the scenario tests ---------------------------------------------
#: tests/test_contact_cycling.py and tests/test_interface_diffusion.py: strip 10 min, plate 10 min at 2 A/m2
CYCLING_WINDOW = """title = "contact cycling"
[geometry]
kind = "flat"
width_m = 20e-6
electrode_thickness_m = 10e-6
electrolyte_thickness_m = 10e-6
[materials]
electrode = "{electrode}"
electrolyte = "PLL"
[loading]
stack_pressure_Pa = 2.4e6
[interface]
model = "{model}"
[mesh]
size_m = 5e-6
interface_size_m = 2.5e-6
[electrochem]
applied_current_density_A_m2 = 2.0
[creep]
enabled = {creep}
[cycling]
irreversible_fraction = 0.0
{cycling}
[output]
fields = false
plots = false
[protocol]
steps = ["Strip at 2 A/m2 for 10 minutes", "Plate at 2 A/m2 for 10 minutes"]
dt_initial_s = 200.0
dt_max_s = 200.0
checkpoint_interval_s = 0.0
"""


def write_cycling_window(path, model="contact", cycling="", creep="true", electrode="Li"):
    """Write :data:`CYCLING_WINDOW` with the interface model, extra ``[cycling]`` lines, creep on or off and the
    electrode's material to ``path``; returns ``path``."""
    path.write_text(CYCLING_WINDOW.format(model=model, cycling=cycling, creep=creep, electrode=electrode))
    return path


# --- Hertz: a cylinder of radius R pressed on a half-plane, plane strain ---------------------------

HERTZ_R = 50e-6          # cylinder radius [m]
HERTZ_WIDTH = 40e-6      # window width [m]; the contact is at its centre
HERTZ_DEPTH = 20e-6      # thickness of each body [m]
HERTZ_ZONE = 3e-6        # half-width of the densely sampled contact line [m] (about 2 a)


def hertz_geometry(rigid: bool) -> Geometry:
    """Two rectangles meeting on y = HERTZ_DEPTH (electrode over electrolyte), or the electrolyte alone
    under an empty band (its top is then a ``void`` edge, refined like the interface).

    The contact line carries vertices every 0.2 µm near the centre: gmsh's distance field samples
    each curve at a fixed number of points, so short curves keep the refined size at the contact.
    """
    W, H = HERTZ_WIDTH, HERTZ_DEPTH
    x = np.unique(np.round(np.concatenate([np.linspace(0, W, 21), W / 2 + np.linspace(-HERTZ_ZONE, HERTZ_ZONE, 31)]),
                           12))
    line = np.column_stack([x, np.full_like(x, H)])
    lower = np.vstack([[[0.0, 0.0], [W, 0.0]], line[::-1]])
    if rigid:
        return Geometry(W, 1.5 * H, [Region("electrolyte", lower)], "half-plane under a rigid cylinder")
    upper = np.vstack([line, [[W, 2 * H], [0.0, 2 * H]]])
    return Geometry(W, 2 * H, [Region("electrolyte", lower), Region("electrode", upper)], "two half-planes")


def circle_gap(x: np.ndarray) -> np.ndarray:
    """Initial gap under a cylinder of radius HERTZ_R touching the line at x = W/2 [m]."""
    return HERTZ_R - np.sqrt(HERTZ_R**2 - (x[0] - HERTZ_WIDTH / 2) ** 2)


def contact_modulus(mats) -> float:
    """E* of the deformable bodies of ``mats`` (a dict of records) [Pa]: ecmsim.materials.contact_modulus_Pa."""
    from ecmsim.materials import contact_modulus_Pa

    return contact_modulus_Pa(*mats.values())


def hertz_measure(profile, e_star: float) -> dict[str, float]:
    """Force, half-width and peak pressure of the computed contact against Hertz (plane strain) at
    the same force P per unit length: a = sqrt(4 P R / (pi E*)), p0 = 2 P / (pi a).

    a_fe is half the distance between the two contact edges, each taken midway between the last
    sample in contact and the first open one (resolution: the quadrature spacing, ~0.4 h).
    """
    x = profile.x_m - HERTZ_WIDTH / 2
    p = profile.contact_pressure_Pa
    closed = profile.in_contact
    force = float(np.dot(profile.weight_m, p))
    a = math.sqrt(4 * force * HERTZ_R / (math.pi * e_star))
    p0 = 2 * force / (math.pi * a)
    right = 0.5 * (x[closed].max() + x[~closed & (x > x[closed].max())].min())
    left = 0.5 * (x[closed].min() + x[~closed & (x < x[closed].min())].max())
    a_fe = 0.5 * (right - left)
    return {"P_N_per_m": force, "a_m": a, "a_fe_m": a_fe, "a_error": a_fe / a - 1,
            "p0_Pa": p0, "p0_fe_Pa": float(p.max()), "p0_error": float(p.max()) / p0 - 1}


# --- a rough interface with voids ------------------------------------------------------------------

def rough_void_geometry(width=40e-6, electrode=20e-6, electrolyte=20e-6, n=400) -> Geometry:
    """A three-mode rough interface (0.8, 0.4, 0.15 µm amplitudes) with three half-elliptic voids on
    the electrode side (4, 2.5, 6 µm wide, depth 0.35 x width) and one closed pore in the electrode."""
    x = np.linspace(0.0, width, n + 1)
    k = 2 * np.pi / width
    f = (electrolyte + 0.8e-6 * np.sin(2 * k * x) + 0.4e-6 * np.sin(11 * k * x + 1.0)
         + 0.15e-6 * np.sin(29 * k * x + 2.0))
    voids = [(8e-6, 4e-6), (21e-6, 2.5e-6), (32e-6, 6e-6)]        # (centre, width) [m]
    lower, i = [], 0
    while i <= n:
        hit = next(((c, w) for c, w in voids if c - w / 2 <= x[i] <= c + w / 2), None)
        if hit is None:
            lower.append((x[i], f[i]))
            i += 1
            continue
        c, w = hit
        a = i - 1
        b = next(j for j in range(i, n + 1) if x[j] > c + w / 2)
        t = np.linspace(np.pi, 0.0, 24)[1:-1]
        centre, half = 0.5 * (x[a] + x[b]), 0.5 * (x[b] - x[a])
        xs = centre + half * np.cos(t)
        lower.extend(zip(xs, np.interp(xs, x, f) + 0.7 * half * np.sin(t), strict=True))
        lower.append((x[b], f[b]))
        i = b + 1
    height = electrolyte + electrode
    top = np.vstack([np.array(lower), [[width, height], [0.0, height]]])
    bottom = np.vstack([[[0.0, 0.0], [width, 0.0]], np.column_stack([x, f])[::-1]])
    s = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    pore = np.column_stack([14e-6 + 1.2e-6 * np.cos(s), 27e-6 + 0.8e-6 * np.sin(s)])
    return Geometry(width, height, [Region("electrolyte", bottom), Region("electrode", top, [pore])],
                    "rough interface with three interfacial voids and a pore")


ROUGH_MESH = {"size_m": 1e-6, "interface_size_m": 0.25e-6}


def rough_void_metrics(load_steps: int = 4, **settings) -> dict:
    """Solve the rough/void window in contact at 2.4 MPa; metrics and Newton iterations."""
    from ecmsim.core.fem import MPI
    from ecmsim.mechanics.contact import stack_pressure_contact_problem
    from ecmsim.mechanics.stresses import field_metrics, interface_profile
    from ecmsim.mesh import MeshOptions, mesh_geometry

    geo = rough_void_geometry()
    tm = mesh_geometry(geo, MeshOptions(**ROUGH_MESH), MPI.COMM_WORLD)
    sol = stack_pressure_contact_problem(tm, LI_PLL, 2.4e6, **settings).solve(load_steps)
    out = {**interface_profile(sol).metrics(geo.width_m), **field_metrics(sol), **sol.contact["interface"].metrics()}
    out["newton_iterations"] = sol.info["newton_iterations"]
    out["cells"] = tm.stats()["cells"]
    return out


if __name__ == "__main__":
    case, path = sys.argv[1], sys.argv[2]
    assert case == "rough_voids", case
    metrics = rough_void_metrics()
    from ecmsim.core.fem import MPI
    if MPI.COMM_WORLD.rank == 0:
        with open(path, "w") as fh:
            json.dump({**metrics, "ranks": MPI.COMM_WORLD.size}, fh)
