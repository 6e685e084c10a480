"""``ecmsim run --help`` names every section of a scenario and every geometry kind (they are
read from the schema here, so a new section or kind that the help leaves out fails)."""

from __future__ import annotations

from conftest import run_cli

from ecmsim.scenario.geometry import GEOMETRY_KINDS
from ecmsim.scenario.schema import Scenario


def test_run_help_names_every_section_and_geometry_kind():
    proc = run_cli("run", "--help")
    assert proc.returncode == 0, proc.stderr
    sections = [name for name in Scenario.model_fields if name != "title"]
    missing = [s for s in sections if f"[{s}]" not in proc.stdout]
    assert not missing, f"ecmsim run --help does not name the sections {missing}"
    kinds_line = next(line for line in proc.stdout.splitlines() if "kind = " in line)
    kinds_text = kinds_line + next(iter(proc.stdout.split(kinds_line, 1)[1].splitlines()), "")
    assert not [k for k in GEOMETRY_KINDS if k not in kinds_text.replace(",", " ").split()], kinds_text
