"""Live progress: on a terminal a bar with the time left for the time steps of a run and the runs
of a sweep; in a log (not a terminal) the per-step lines and no bar; nothing under -q."""

from __future__ import annotations

import re

from conftest import SCENARIOS, run_cli, run_cli_on_terminal

CREEP = [str(SCENARIOS / "li_creep_hold.toml"), "--set", "mesh.size_m=5e-6", "--set", "mesh.interface_size_m=2.5e-6",
         "--set", "output.plots=false", "--set", "output.fields=false"]


def test_a_run_on_a_terminal_shows_a_bar_with_the_time_left(tmp_path):
    rc, screen = run_cli_on_terminal("run", *CREEP, "-o", str(tmp_path / "tty"))
    assert rc == 0, screen
    redraws = [part for line in screen.split("\n") for part in line.split("\r") if part.startswith("time loop")]
    assert len(redraws) >= 3, screen
    assert any(" left" in r and "elapsed" in r and "Newton" in r and "? left" not in r for r in redraws)
    assert "100%" in redraws[-1] and "t 7200/7200 s" in redraws[-1]
    # the bar stands for the per-step lines; the stage lines stay
    assert "step   10  t =" not in screen and "solved:" in screen


def test_a_run_in_a_log_has_step_lines_and_no_bar(tmp_path):
    proc = run_cli("run", *CREEP, "-o", str(tmp_path / "log"))
    assert proc.returncode == 0, proc.stderr
    assert "\r" not in proc.stdout and "%|" not in proc.stdout     # no bar drawn
    assert re.search(r"\] time loop: \d+ step\(s\)", proc.stdout)   # the loop's closing line
    assert "step   10  t =" in proc.stdout and " left" in proc.stdout


def test_quiet_on_a_terminal_prints_nothing(tmp_path):
    rc, screen = run_cli_on_terminal("run", *CREEP, "-o", str(tmp_path / "q"), "-q")
    assert rc == 0 and screen.strip() == "", screen


def test_a_sweep_on_a_terminal_shows_the_runs_left(tmp_path):
    rc, screen = run_cli_on_terminal("sweep", str(SCENARIOS / "flat_bilayer.toml"), "-o", str(tmp_path / "sw"), "-j", "1",
                                     "--set", "loading.stack_pressure_Pa=1e6,2e6", "--set", "mesh.size_m=4e-6")
    assert rc == 0, screen
    redraws = [part for line in screen.split("\n") for part in line.split("\r") if part.startswith("sweep:")]
    assert any("0/2 run(s)" in r for r in redraws) and any("2/2 run(s)" in r for r in redraws), screen
    assert all(" left" in r for r in redraws)
    assert "[sweep] [2/2]" in screen          # the finished runs are still named, above the bar
