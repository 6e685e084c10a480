"""Figures without a screen: matplotlib's Agg backend, user text drawn as written, and drawing
that warns instead of failing (a figure is never worth the computed result)."""

from __future__ import annotations

from pathlib import Path


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plain_text(text: str) -> str:
    """User text (titles, file names) drawn as written: every ``$`` escaped, so that
    matplotlib never parses it as TeX (an unbalanced ``$\\frac{$`` would fail the whole figure)."""
    return str(text).replace("\\$", "$").replace("$", "\\$")


def run_title(title: str, overrides: list[str] | None = None) -> str:
    """The scenario's title plus the ``--set`` overrides of this run, e.g.
    ``Flat Li / PLL bilayer (--set stack_pressure_Pa=3e6)``."""
    shown = []
    for item in overrides or []:
        key, _, value = item.partition("=")
        key = key.strip().split(".")[-1]
        if value and key != "title":  # a new title shows itself
            shown.append(f"{key}={value.strip()}")
    extra = f"(--set {', '.join(shown)})" if shown else ""
    return " ".join(t for t in (title, extra) if t)


def draw_or_warn(path: Path, draw) -> bool:
    """``draw(path)``; a figure that fails is reported as one warning line on stderr and left out
    (a figure is never worth the computed result). True if drawn."""
    import sys

    try:
        draw(path)
        return True
    except Exception as err:  # noqa: BLE001 - see the docstring
        print(f"ecmsim: warning: {Path(path).name} not drawn ({type(err).__name__}: {' '.join(str(err).split())}); "
              "the other results are complete", file=sys.stderr, flush=True)
        Path(path).unlink(missing_ok=True)
        return False


__all__ = ["pyplot", "plain_text", "run_title", "draw_or_warn"]
