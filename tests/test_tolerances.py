"""The tolerance rule: a relative comparison is relative.

``pytest.approx(x, rel=r)`` keeps its default ``abs=1e-12``, which swamps SI volumes (1e-18 m³),
areas, displacements (1e-9 m) and wavelength shifts (1e-11 m): a test of such a value with
``rel`` alone cannot fail. ``np.allclose`` / ``np.isclose`` add ``atol=1e-8`` the same way. So
every ``approx`` with ``rel`` states its ``abs`` (0, or a value in the quantity's own scale), and
every ``allclose`` / ``isclose`` its ``atol`` (``np.testing.assert_allclose`` and ``math.isclose``
have an absolute floor of 0 already). Issue 23 found five tests that could not fail this way.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def violations(source: str) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)
        keywords = {k.arg for k in node.keywords}
        if name == "approx" and "rel" in keywords and "abs" not in keywords:
            out.append((node.lineno, "approx(..., rel=...) without abs="))
        numpy_like = isinstance(f, ast.Attribute) and not (isinstance(f.value, ast.Name) and f.value.id == "math")
        if name in ("allclose", "isclose") and numpy_like and "atol" not in keywords:
            out.append((node.lineno, f"{name}(...) without atol="))
    return out


def test_every_relative_comparison_states_its_absolute_floor():
    found = [f"{path.name}:{line}: {what}" for path in sorted(TESTS.glob("*.py"))
             for line, what in violations(path.read_text(encoding="utf-8"))]
    assert not found, "\n".join(found)


def test_the_rule_sees_what_it_should():
    assert violations("pytest.approx(1e-18, rel=1e-9)\nnp.allclose(a, b, rtol=1e-8)\nnp.isclose(a, b)\n") == [
        (1, "approx(..., rel=...) without abs="), (2, "allclose(...) without atol="), (3, "isclose(...) without atol=")]
    assert violations("pytest.approx(1e-18, rel=1e-9, abs=0)\nnp.allclose(a, b, rtol=1e-8, atol=0)\n"
                      "pytest.approx(3.0)\nmath.isclose(a, b, rel_tol=1e-9)\n") == []
