"""Every command block of README.md and docs/*.md runs: a documented command that breaks fails here.

A command block is a fenced block tagged ``sh``, ``bash``, ``shell`` or ``console``, or an untagged
one whose every line starts with a command (``ecmsim``, ``make``, ``mpirun``, ``.venv/bin/``). Its
commands run in order, in a fresh working folder that sees the repository's scenarios/, meshes/,
examples/ and validation/ (so ``results/...`` lands there, not in the repository), with
``.venv/bin/`` and bare ``ecmsim``/``mpirun`` taken from this interpreter's environment and
``/tmp/`` moved into that folder. Each must exit with status 0.

Where running a command as written would cost minutes or touch what a test must not, the test
runs it in a cheaper form, listed in :data:`CHEAPER` with the reason; a block marked
``<!-- docs-test: skip (reason) -->`` (SLURM job scripts) is skipped with that reason. ``make X``
runs the commands ``make -n X`` prints (the set-up step left out), so the Makefile is checked too.
"""

from __future__ import annotations

import os
import re
import resource
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import ROOT, run_process

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL_LANGS = {"sh", "bash", "shell", "console"}
COMMAND_WORDS = ("ecmsim", "make", "mpirun", ".venv/bin/")
BIN = Path(sys.executable).parent

#: (pattern, replacement, reason): commands run in a cheaper or safer form than written.
CHEAPER = [
    (r"^make test$", None, "the test suite itself (CI runs it: .ci/run)"),
    (r"^\.venv/bin/ecmsim validate --quick$", None,
     "the same command runs whole in tests/test_validate.py::test_validate_quick_runs_whole_in_ci, which checks "
     "every case's verdict too (30-50 s: run once, not twice)"),
    (r"^(ecmsim fbg examples/fbg_profile\.csv -o out --workers 1)$", r"\1 --no-decompose",
     "docs/fbg.md: the same profile is simulated and decomposed whole by README.md's `ecmsim fbg "
     "examples/fbg_profile.csv -o results/fbg` (the decomposition is 2/3 of the command's CPU); here the "
     "simulation runs with one worker as written"),
    (r"^\.venv/bin/ecmsim run scenarios/li_pll_cycled_image\.toml --set interface\.model=contact$", None,
     "README.md: the same run, into results/compare/li_pll, is the first command of the block's `make compare` "
     "(8 s of CPU: run once, not twice); the default result folder with overrides is checked in "
     "tests/test_cli_safety.py::test_default_output_folder_names_the_overrides"),
    (r"^ecmsim fbg invert out/spectrum\.csv -o inv$", None,
     "docs/fbg.md: README.md's `ecmsim fbg invert results/fbg/spectrum.csv -o results/inv` inverts the same "
     "spectrum (one worker or all give it byte for byte), 7 s of CPU: run once, not twice"),
    (r"^ecmsim fbg examples/fbg_profile\.csv -o out_meas --measured examples/measured_dBm\.csv$", None,
     "docs/fbg.md: the same command, into another folder, runs whole in README.md's block "
     "(`-o results/fbg_measured --measured examples/measured_dBm.csv`, 19 s of CPU: run once, not twice)"),
    (r"^(.*ecmsim study scenarios/reference_study\.toml.*?)( -j \d+)?$", r"\1 --check",
     "the flagship (minutes on 2 cores): its study file and all nine scenarios are checked, nothing runs; "
     "tests/test_study.py runs a small study end to end"),
]


#: Commands whose documented outcome includes a non-zero status: (pattern, statuses, reason).
EXIT_STATUS = [
    (r".*ecmsim validate", (0, 1), "exit 1 says a validation case FAILed (a verdict on the physics, written into "
                                   "the report), not that the command broke"),
]


@dataclass
class Block:
    file: Path
    line: int
    commands: list[str]
    skip: str | None

    @property
    def id(self) -> str:
        return f"{self.file.name}:{self.line}"


def command_blocks(path: Path) -> list[Block]:
    """The command blocks of one Markdown file (module docstring)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks, i = [], 0
    while i < len(lines):
        m = re.match(r"^```\s*(\w*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        lang, start = m.group(1).lower(), i + 1
        end = next(k for k in range(start, len(lines)) if lines[k].startswith("```"))
        body = lines[start:end]
        marker = next((lines[k] for k in range(i - 1, max(i - 3, -1), -1) if lines[k].strip()), "")
        skip = re.match(r"^<!-- docs-test: skip \((.*)\) -->$", marker.strip())
        commands = _commands(body)
        untagged_commands = not lang and commands and all(c.startswith(COMMAND_WORDS) for c in commands)
        if lang in SHELL_LANGS or untagged_commands:
            blocks.append(Block(path, start, commands, skip.group(1) if skip else None))
        i = end + 1
    return blocks


def _commands(body: list[str]) -> list[str]:
    """Lines joined over trailing backslashes, comments and prompts removed."""
    out, pending = [], ""
    for raw in body:
        line = raw.rstrip()
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        line = re.sub(r"^\s*\$\s+", "", line)
        line = re.sub(r"\s+#(?![^'\"]*['\"]\s*$).*$", "", line).strip()   # a trailing comment
        if line and not line.startswith("#"):
            out.append(" ".join(line.split()))
    return out


ALL = [b for doc in DOCS for b in command_blocks(doc)]


def test_the_docs_have_command_blocks_and_the_parser_finds_them():
    ids = {b.id for b in ALL}
    assert len(ALL) >= 6, ids
    readme = [c for b in ALL if b.file.name == "README.md" for c in b.commands]
    assert "make run" in readme and any(c.startswith(".venv/bin/ecmsim sweep") for c in readme)
    joined = next(c for c in readme if "sinusoidal_interface" in c)
    assert joined.endswith("--set mesh.size_m=0.5e-6")                 # continuation lines joined
    assert all(b.skip for b in ALL if b.file.name == "cluster.md")      # the SLURM scripts


def test_commands_left_to_the_readme_run_there_whole():
    """The commands that :data:`CHEAPER` leaves to README.md's block (docs/fbg.md's, and the README's
    contact run that `make compare` repeats) are in that block or its Makefile recipe, as written
    there (and not themselves cut down)."""
    readme = [c for b in ALL if b.file.name == "README.md" for c in b.commands]
    for cmd in ("ecmsim fbg examples/fbg_profile.csv -o results/fbg",
                "ecmsim fbg examples/fbg_profile.csv -o results/fbg_measured --measured examples/measured_dBm.csv",
                "ecmsim fbg invert results/fbg/spectrum.csv -o results/inv"):
        ran = [c for c in readme if c.removeprefix(".venv/bin/") == cmd]
        assert ran, cmd
        assert all(not re.match(pattern, c) for c in ran for pattern, _, _ in CHEAPER), cmd
    assert "make compare" in readme
    makefile = (ROOT / "Makefile").read_text()
    assert ("ecmsim run scenarios/li_pll_cycled_image.toml -o results/compare/li_pll --set interface.model=contact"
            in makefile)
    fbg_md = [c for b in ALL if b.file.name == "fbg.md" for c in b.commands]
    cut = [c for c in fbg_md if any(re.match(pattern, c) for pattern, _, _ in CHEAPER)]
    assert len(cut) == 3, cut


def _prepare(cmd: str, work: Path, venv: Path) -> tuple[list[str] | None, str | None]:
    """The command as run here (argv), or None and the reason it is not run."""
    for pattern, replacement, reason in CHEAPER:
        if re.match(pattern, cmd):
            if replacement is None:
                return None, reason
            cmd = re.sub(pattern, replacement, cmd)
    cmd = cmd.replace("/tmp/", f"{work}/")
    argv = shlex.split(cmd)
    if argv[0].startswith(".venv/bin/"):
        argv[0] = str(venv / "bin" / argv[0].removeprefix(".venv/bin/"))
    elif argv[0] in ("ecmsim", "mpirun") and (BIN / argv[0]).exists():
        argv[0] = str(BIN / argv[0])
    argv = [str(venv / "bin" / a.removeprefix(".venv/bin/")) if a.startswith(".venv/bin/") else a for a in argv]
    return argv, None


def _run(cmd: str, work: Path, venv: Path, notes: list[str]) -> None:
    for pattern, replacement, reason in CHEAPER:
        if replacement is None and re.match(pattern, cmd):
            notes.append(f"not run: {cmd} ({reason})")
            return
    if cmd.startswith("make "):
        target = cmd.split()[1]
        dry = subprocess.run(["make", "-s", "-n", "-C", str(ROOT), f"VENV={venv}", target], capture_output=True,
                             text=True)
        assert dry.returncode == 0, f"make -n {target}: {dry.stderr}"
        inner = [ln.strip() for ln in dry.stdout.splitlines() if ln.strip() and "tools/" not in ln]
        assert inner, f"make {target} runs nothing"
        for line in inner:
            _run(line.replace(f"{venv}/bin/", ".venv/bin/"), work, venv, notes)
        return
    argv, reason = _prepare(cmd, work, venv)
    if argv is None:
        notes.append(f"not run: {cmd} ({reason})")
        return
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = run_process(argv, cwd=work, capture_output=True, text=True, timeout=900, env=env)   # mpirun: alone
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    notes.append(f"{cpu:6.1f} s CPU  {cmd}")
    allowed = next((codes for pattern, codes, _ in EXIT_STATUS if re.match(pattern, cmd)), (0,))
    assert proc.returncode in allowed, f"`{cmd}` exited {proc.returncode}:\n{proc.stderr[-3000:]}\n{proc.stdout[-2000:]}"
    if proc.returncode:
        assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr[-3000:]


@pytest.fixture
def work(tmp_path):
    for name in ("scenarios", "meshes", "examples", "validation"):
        (tmp_path / name).symlink_to(ROOT / name)
    return tmp_path


@pytest.mark.slow
@pytest.mark.parametrize("block", ALL, ids=[b.id for b in ALL])
def test_command_block_runs(block, work):
    if block.skip:
        pytest.skip(block.skip)
    venv = Path(sys.prefix)
    notes: list[str] = []
    for cmd in block.commands:
        _run(cmd, work, venv, notes)
    for note in notes:
        print(note)


#: Sentences that were true once and are false now, with what made them false.
STALE = {
    "no plasticity or creep yet": "creep (docs/creep.md)",
    "No checkpoints or `--resume` yet": "checkpoints and --resume (docs/outputs.md)",
    "does not enter the elastic model yet": "temperature drives creep, kinetics, conductivity",
    "cycling does not exist yet": "plating/stripping cycles (docs/electrochem.md)",
    "no electrochemistry yet": "docs/electrochem.md",
}


def test_no_stale_sentences_and_readme_commands_in_the_order_they_run():
    texts = {p.name: p.read_text(encoding="utf-8") for p in [*DOCS, *sorted((ROOT / "ecmsim").rglob("*.py"))]}
    found = [f"{name}: {phrase!r} (false since {why})" for phrase, why in STALE.items()
             for name, text in texts.items() if phrase in text]
    assert not found, found
    readme = [c for b in ALL if b.file.name == "README.md" for c in b.commands]
    makes = next(i for i, c in enumerate(readme) if c == "make compare")
    reads = next(i for i, c in enumerate(readme) if "report results/compare/" in c)
    assert makes < reads, "README: `ecmsim report results/compare/...` comes before the `make compare` that makes it"
