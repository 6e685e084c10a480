"""Half-times of stress relaxation in Li at 60 C (uniaxial, fixed strain, E of the reference Li):
docs/creep.md. Run: python docs/figures/creep_half_times.py (writes creep_half_times.png, prints the table)."""

from pathlib import Path

import numpy as np

from ecmsim import materials
from ecmsim.materials.creep import law_of

T = 333.15
li = materials.get("Li")
E = li.youngs_modulus_Pa
cases = [("bulk law (L >= 220 um)", None), ("L = 20 um", 20e-6), ("L = 5 um", 5e-6), ("L = 1 um", 1e-6)]


def table():
    rows = []
    for label, length in cases:
        law = law_of(li, length)
        rows.append((label, law.reference_stress_Pa, [law.half_time_s(s, E, T) for s in (5e6, 30e6, 80e6)]))
    return rows


def main():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for label, s0, halves in table():
        print(f"{label:24s} sigma0 = {s0 / 1e6:7.3g} MPa  t_half(5, 30, 80 MPa) = "
              + ", ".join(f"{h:.3g} s" for h in halves))
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    stress = np.logspace(6, np.log10(2e8), 200)
    for label, length in cases:
        law = law_of(li, length)
        ax.loglog(stress / 1e6, [law.half_time_s(s, E, T) for s in stress], label=label)
    for t, name in ((7200, "2 h half cycle"), (1, "1 s")):
        ax.axhline(t, color="grey", ls=":", lw=1)
        ax.text(1.05, t * 1.3, name, color="grey", fontsize=8)
    for s in (5, 30, 80):
        ax.axvline(s, color="k", ls="--", lw=0.6)
    ax.set_xlabel("initial stress [MPa]")
    ax.set_ylabel("time to halve at fixed strain [s]")
    ax.set_title("Li at 60 C: Norton relaxation, E = 4.9 GPa, n = 6.6, Q = 37 kJ/mol")
    ax.set_ylim(1e-16, 1e12)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(Path(__file__).with_name("creep_half_times.png"), dpi=120)


if __name__ == "__main__":
    main()
