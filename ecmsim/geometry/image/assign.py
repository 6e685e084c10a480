"""Step 3 of the image pipeline, **assign**: the phase of each grey class (:func:`name_phases`).

The user's ``phases`` name the classes from dark to bright. Else, on the histogram route, the
darkest of three classes is void and the two solid phases are told apart
(:func:`_which_is_electrode`): the one bordering most void is the electrode (voids open on the
Li side when it is stripped), else the more textured one is the electrolyte (PLL holds LLZTO
particles), or ``electrode_side`` says which. On the mixture route the classes are named by
position and connectivity (:func:`ecmsim.geometry.image.segment.name_classes`), the two layers
of a bilayer by the same electrode rule; dark classes between the void and a layer join the
layer, and inclusions in a bilayer join the phase around them (:func:`_host_class`).
"""

from __future__ import annotations

import numpy as np

from ecmsim.core.errors import GeometryError
from ecmsim.geometry.image.read import ImageOptions


def name_phases(g: np.ndarray, classes: np.ndarray, n: int, method: str, options: ImageOptions, info: dict,
                source: str = "image") -> list[str]:
    """Phase name of each of the ``n`` grey classes (dark -> bright) of the ``method`` route (see the
    module docstring); what was decided goes into ``info``."""
    if options.phases is not None:
        names = list(options.phases)
    elif method == "mixture":
        from ecmsim.geometry.image import segment as seg

        names, info["layout"] = seg.name_classes(classes, n)
        unknown = [k for k, name in enumerate(names) if name == "?"]
        if unknown:
            electrode, reason = _which_is_electrode(g, classes, unknown, options.electrode_side,
                                                    void_class=names.index("void") if "void" in names else None,
                                                    source=source)
            names[electrode] = "electrode"
            names[unknown[0] if unknown[1] == electrode else unknown[1]] = "electrolyte"
            info["electrode_rule"] = reason
        for k, name in enumerate(names):
            if name.startswith("="):
                host = int(name[1:])
                info.setdefault("merged_classes", []).append(
                    {"class": k, "fraction": float(np.mean(classes == k)), "into": names[host],
                     "why": "darker than the layer phase but not the darkest (pore edges or shading)"})
                names[k] = names[host]
        if "particle" in names and "electrode" in names and not options.particles:
            # inclusions in a bilayer join the phase around them (recorded), so the standard
            # electrode/electrolyte materials apply; ask for phases with 'particle' to keep them
            for k in [k for k, name in enumerate(names) if name == "particle"]:
                host = _host_class(classes, k, [j for j, nm in enumerate(names) if nm in ("electrode", "electrolyte")])
                info.setdefault("merged_classes", []).append(
                    {"class": k, "fraction": float(np.mean(classes == k)), "into": names[host],
                     "why": "inclusions in a bilayer join the phase around them (give phases with "
                            "'particle' to keep them)"})
                names[k] = names[host]
    else:
        names = ["void", "?", "?"] if n == 3 else ["?", "?"]
        solid = [k for k, name in enumerate(names) if name == "?"]
        electrode, reason = _which_is_electrode(g, classes, solid, options.electrode_side,
                                                void_class=0 if n == 3 else None, source=source)
        names[electrode] = "electrode"
        names[solid[0] if solid[1] == electrode else solid[1]] = "electrolyte"
        info["electrode_rule"] = reason
    return names


def _host_class(classes: np.ndarray, k: int, hosts: list[int]) -> int:
    """The class of ``hosts`` sharing the longest boundary with class ``k``."""
    m = classes == k
    votes = {}
    for h in hosts:
        o = classes == h
        votes[h] = int((m[:-1] & o[1:]).sum() + (m[1:] & o[:-1]).sum() + (m[:, :-1] & o[:, 1:]).sum()
                       + (m[:, 1:] & o[:, :-1]).sum())
    return max(hosts, key=lambda h: votes[h])


def _which_is_electrode(g, classes, solid, side, void_class, source) -> tuple[int, str]:
    """Index (of ``solid``'s two classes) of the electrode, and the rule that decided."""
    from scipy.ndimage import binary_erosion

    a, b = solid
    rows = np.arange(g.shape[0])[:, None]
    centre = {k: float((rows * (classes == k)).sum() / max((classes == k).sum(), 1)) for k in solid}
    if side != "auto":
        upper = a if centre[a] < centre[b] else b
        return (upper if side == "top" else (b if upper == a else a)), f"electrode_side = {side}"
    if void_class is not None:
        void = classes == void_class
        contact = {}
        for k in solid:
            mask = classes == k
            contact[k] = int((void[:-1] & mask[1:]).sum() + (void[1:] & mask[:-1]).sum()
                             + (void[:, :-1] & mask[:, 1:]).sum() + (void[:, 1:] & mask[:, :-1]).sum())
        total = contact[a] + contact[b]
        if total > 0 and max(contact.values()) >= 0.6 * total:
            k = max(solid, key=lambda c: contact[c])
            return k, f"borders {100 * contact[k] / total:.0f} % of the void boundary"
    texture = {}
    for k in solid:
        inner = binary_erosion(classes == k, iterations=3)
        texture[k] = float(np.std(g[inner])) if inner.sum() > 100 else 0.0
    lo_t, hi_t = sorted(texture.values())
    if lo_t > 0 and hi_t >= 1.25 * lo_t:
        electrolyte = max(solid, key=lambda c: texture[c])
        k = a if electrolyte == b else b
        return k, f"smoother phase (grey std {texture[k]:.3g} vs {texture[electrolyte]:.3g})"
    raise GeometryError(f"{source}: cannot tell which phase is the electrode (no void and no texture "
                        f"difference): give the electrode side (top or bottom) or the phases")
