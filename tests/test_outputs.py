"""Result folders (ecmsim.io.folders): nothing ecmsim did not write is ever deleted, the old result
stays until the new one is complete, concurrent runs never leave a half folder, and every rank
of an MPI job reaches the same decision."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_process

from ecmsim.io import folders as outputs
from ecmsim.core.errors import OutputError
from ecmsim.io.folders import MANIFEST, read_manifest, result_files, result_folder

ROOT = Path(__file__).resolve().parents[1]


def write_result(folder: Path, text: str = "new", command: str = "run") -> None:
    with result_folder(folder, command=command) as stage:
        (stage / "fields").mkdir()
        (stage / "fields" / "u.bp").write_text(text)
        (stage / "data.csv").write_text(text)
        (stage / "summary.json").write_text(json.dumps({"files": ["data.csv", "fields/u.bp"], "v": text}))


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` with its bytes (folders as None)."""
    return {p.relative_to(folder).as_posix(): (p.read_bytes() if p.is_file() else None)
            for p in sorted(folder.rglob("*"))}


def user_folder(folder: Path) -> dict[str, bytes]:
    """A folder of a user's own files, with a summary.json of their own among them."""
    (folder / "scripts").mkdir(parents=True)
    (folder / "summary.json").write_text('{"my": "own summary"}\n')
    (folder / "thesis.tex").write_text("\\section{do not delete}\n")
    (folder / "scripts" / "plot.py").write_text("print('mine')\n")
    (folder / "figure.png").write_bytes(bytes(range(256)))
    return snapshot(folder)


def siblings(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.parent.iterdir() if p.name != folder.name)


def test_new_folder_has_a_manifest_of_every_file(tmp_path):
    out = tmp_path / "r"
    write_result(out)
    m = read_manifest(out)
    assert m["command"] == "run" and m["files"] == {"data.csv", "fields/", "fields/u.bp", "summary.json"}
    assert siblings(out) == []  # no staging folder left


def test_rerun_replaces_an_ecmsim_result(tmp_path):
    out = tmp_path / "r"
    write_result(out, "old")
    write_result(out, "new")
    assert (out / "data.csv").read_text() == "new" and siblings(out) == []


@pytest.mark.parametrize("overwrite", [False, True])
def test_user_folder_survives_byte_for_byte(tmp_path, overwrite):
    out = tmp_path / "mine"
    before = user_folder(out)
    if not overwrite:
        with pytest.raises(OutputError, match="ecmsim did not write.*--overwrite"):
            write_result(out)
        assert snapshot(out) == before
    else:  # --overwrite: ecmsim's files go in, the user's stay (a same-named summary.json is replaced)
        with result_folder(out, command="run", overwrite=True) as stage:
            (stage / "data.csv").write_text("new")
        after = snapshot(out)
        assert {k: v for k, v in after.items() if k in before} == before
        assert after["data.csv"] == b"new" and MANIFEST in after
        # a second --overwrite run replaces its own earlier files and still keeps the user's
        with result_folder(out, command="run", overwrite=True) as stage:
            (stage / "other.csv").write_text("2")
        after = snapshot(out)
        assert "data.csv" not in after and after["other.csv"] == b"2"
        assert {k: v for k, v in after.items() if k in before} == before
    assert siblings(out) == []


def test_result_with_user_files_added_is_not_replaced(tmp_path):
    out = tmp_path / "r"
    write_result(out, "old")
    (out / "fields" / "my_analysis.py").write_text("mine")
    before = snapshot(out)
    with pytest.raises(OutputError, match="fields/my_analysis.py"):
        write_result(out, "new")
    assert snapshot(out) == before


def test_result_of_another_command_needs_overwrite(tmp_path):
    out = tmp_path / "r"
    write_result(out, "fbg", command="fbg")
    with pytest.raises(OutputError, match="ecmsim fbg"):
        write_result(out, "run")
    with result_folder(out, command="run", overwrite=True) as stage:
        (stage / "x").write_text("run")
    assert read_manifest(out)["command"] == "run" and not (out / "data.csv").exists()


@pytest.mark.parametrize("target", [".", "/", "..", "here"])
def test_current_folder_root_and_parents_are_refused(tmp_path, monkeypatch, target):
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    (tmp_path / "here" / "keep.txt").write_text("x")
    path = Path(target) if target != "here" else tmp_path / "here"
    with pytest.raises(OutputError, match="not a result folder"):
        with result_folder(path, command="run", overwrite=True):
            pass
    assert (tmp_path / "here" / "keep.txt").read_text() == "x"


def test_a_file_in_the_way_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputError, match="not a folder"):
        write_result(tmp_path / "f")


def test_failure_inside_keeps_the_old_result_and_leaves_nothing(tmp_path):
    out = tmp_path / "r"
    write_result(out, "old")
    before = snapshot(out)
    with pytest.raises(ZeroDivisionError):
        with result_folder(out, command="run") as stage:
            (stage / "summary.json").write_text("half")
            1 / 0
    assert snapshot(out) == before and siblings(out) == []


def test_failed_swap_restores_the_old_result(tmp_path, monkeypatch):
    out = tmp_path / "r"
    write_result(out, "old")
    before = snapshot(out)
    real = os.rename

    def rename(src, dst):
        if ".partial-" in str(src) and Path(dst) == out:
            raise PermissionError(13, "Permission denied", str(dst))
        return real(src, dst)

    monkeypatch.setattr(outputs.os, "rename", rename)
    with pytest.raises(OutputError, match="previous result is unchanged and the new one is in .*partial-"):
        write_result(out, "new")
    assert snapshot(out) == before
    partial = [p for p in tmp_path.iterdir() if ".partial-" in p.name]
    assert len(partial) == 1 and (partial[0] / "data.csv").read_text() == "new"  # the new result is not lost


def test_unwritable_parent_is_one_line(tmp_path, monkeypatch):
    def deny(self, *a, **k):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", deny)
    with pytest.raises(OutputError, match="cannot create the result folder: Permission denied"):
        write_result(tmp_path / "ro" / "out")


def test_read_only_parts_of_an_old_result_are_removed(tmp_path):
    out = tmp_path / "r"
    write_result(out, "old")
    os.chmod(out / "fields", 0o500)
    write_result(out, "new")
    assert (out / "fields" / "u.bp").read_text() == "new" and siblings(out) == []


def test_interleaved_runs_both_succeed_last_one_wins(tmp_path):
    out = tmp_path / "r"
    a = result_folder(out, command="run")
    b = result_folder(out, command="run")
    stage_a, stage_b = a.__enter__(), b.__enter__()
    assert stage_a != stage_b  # a staging folder per run
    (stage_a / "who").write_text("a")
    (stage_b / "who").write_text("b")
    b.__exit__(None, None, None)
    a.__exit__(None, None, None)
    assert (out / "who").read_text() == "a" and read_manifest(out)["files"] == {"who"}
    assert siblings(out) == []


def test_concurrent_swap_race_retries(tmp_path, monkeypatch):
    """Another run puts its result in place between our 'aside' and 'in' renames."""
    out = tmp_path / "r"
    write_result(out, "old")
    real = os.rename
    state = {"raced": False}

    def rename(src, dst):
        if ".partial-" in str(src) and Path(dst) == out and not state["raced"]:
            state["raced"] = True
            (out / "x").parent.mkdir(exist_ok=True)
            (out / "who").write_text("other run")
            (out / MANIFEST).write_text(json.dumps({"written_by": "ecmsim", "command": "run", "files": ["who"]}))
        return real(src, dst)

    monkeypatch.setattr(outputs.os, "rename", rename)
    write_result(out, "mine")
    assert (out / "data.csv").read_text() == "mine" and not (out / "who").exists()
    assert siblings(out) == []


def test_concurrent_processes_never_leave_a_half_folder(tmp_path):
    """Four processes write into the same folder at once: each ends with 0 or one line and exit 2,
    and the folder is one complete result."""
    script = ("import sys, time\nfrom pathlib import Path\nfrom ecmsim.io.folders import result_folder\n"
              "from ecmsim.cli import main\n"
              "with result_folder(Path(sys.argv[1]), command='run') as s:\n"
              "    for i in range(30):\n        (s / f'f{i}').write_text(sys.argv[2])\n        time.sleep(0.005)\n"
              "    (s / 'summary.json').write_text(sys.argv[2])\n")
    out = tmp_path / "r"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs = [subprocess.Popen([sys.executable, "-c", script, str(out), str(k)], env=env, stderr=subprocess.PIPE,
                              text=True) for k in range(4)]
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0 or (len(err.strip().splitlines()) == 1 and "Traceback" not in err), err
    who = (out / "summary.json").read_text()
    assert all((out / f"f{i}").read_text() == who for i in range(30))
    assert read_manifest(out)["files"] == {f"f{i}" for i in range(30)} | {"summary.json"}


def test_killed_run_never_looks_complete(tmp_path):
    out = tmp_path / "r"
    write_result(out, "old")
    before = snapshot(out)
    script = ("import sys, time\nfrom pathlib import Path\nfrom ecmsim.io.folders import result_folder\n"
              "with result_folder(Path(sys.argv[1]), command='run') as s:\n"
              "    (s / 'summary.json').write_text('new')\n    print('written', flush=True)\n    time.sleep(60)\n")
    p = subprocess.Popen([sys.executable, "-c", script, str(out)], env=dict(os.environ, PYTHONPATH=str(ROOT)),
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "written"
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=30)
    assert snapshot(out) == before  # the old result, untouched
    for partial in tmp_path.glob("r.partial-*"):
        assert not (partial / MANIFEST).exists()  # debris never looks like a finished result


class FakeComm:
    """Rank ``rank`` of a two-rank job whose other rank reports ``other``."""

    size = 2

    def __init__(self, rank, other, staging):
        self.rank, self.other, self.staging, self.aborted = rank, other, staging, False

    def bcast(self, obj, root=0):
        return ("ok", (str(self.staging), "replace")) if obj is None else obj

    def allgather(self, obj):
        return [obj, self.other] if self.rank == 0 else [self.other, obj]

    def Ibarrier(self):
        return type("Done", (), {"Wait": lambda s: None, "Test": lambda s: True})()

    def Abort(self, code):
        self.aborted = True


def test_a_failure_on_the_other_rank_is_a_collective_decision(tmp_path):
    """Rank 0 finished its part, rank 1 failed: rank 0 writes nothing and reports rank 1's error."""
    out = tmp_path / "r"
    write_result(out, "old")
    before = snapshot(out)
    comm = FakeComm(0, (True, "mesh.size_m = 1: too large"), staging=None)
    with pytest.raises(OutputError, match="mesh.size_m = 1: too large"):
        with result_folder(out, comm, command="run") as stage:
            (stage / "data.csv").write_text("new")
    assert snapshot(out) == before and siblings(out) == []
    comm = FakeComm(0, (False, "ZeroDivisionError"), staging=None)
    with pytest.raises(RuntimeError, match="MPI rank 1 failed: ZeroDivisionError"):
        with result_folder(out, comm, command="run"):
            pass


def test_a_failed_rank_that_is_not_followed_aborts_instead_of_hanging(tmp_path, monkeypatch):
    staging = tmp_path / "s"
    staging.mkdir()
    comm = FakeComm(1, None, staging)
    comm.Ibarrier = lambda: type("Never", (), {"Test": lambda s: False})()
    comm.Abort = lambda code: (_ for _ in ()).throw(SystemExit(f"abort {code}"))
    monkeypatch.setattr(outputs, "WAIT_FOR_RANKS_S", 0.05)
    with pytest.raises(SystemExit, match="abort 1"):
        with result_folder(tmp_path / "r", comm, command="run"):
            raise ValueError("rank 1 alone")


def test_file_group_replaces_its_own_files_only(tmp_path):
    names = ["m.msh", "m.preview.png", "m.report.json"]

    def write(text):
        with result_files(tmp_path, names, command="mesh", manifest="m.report.json") as stage:
            (stage / "m.msh").write_text(text)
            (stage / "m.preview.png").write_text(text)
            (stage / "m.report.json").write_text(json.dumps({"files": ["m.msh", "m.preview.png"], "v": text}))

    (tmp_path / "notes.txt").write_text("mine")
    write("1")
    write("2")
    assert (tmp_path / "m.msh").read_text() == "2" and (tmp_path / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names + ["notes.txt"])
    (tmp_path / "m.report.json").write_text('{"my": "report"}')  # now the user's: no files list
    before = snapshot(tmp_path)
    with pytest.raises(OutputError, match="ecmsim did not write it"):
        write("3")
    assert snapshot(tmp_path) == before
    write_ok = result_files(tmp_path, names, command="mesh", manifest="m.report.json", overwrite=True)
    with write_ok as stage:
        (stage / "m.msh").write_text("4")
    assert (tmp_path / "m.msh").read_text() == "4" and not (tmp_path / "m.report.json").exists()


def _fail_placing(monkeypatch, name: str):
    """os.rename fails once, when it brings ``name`` in from a staging folder (after others were moved aside)."""
    real = os.rename
    failed = []

    def rename(src, dst):
        if not failed and Path(dst).name == name and ".partial-" in str(src) and ".previous" not in str(src):
            failed.append(src)
            raise PermissionError(13, "Permission denied", str(dst))
        return real(src, dst)

    monkeypatch.setattr(outputs.os, "rename", rename)


def test_file_by_file_swaps_put_everything_back_when_a_rename_fails(tmp_path, monkeypatch):
    """--overwrite into a folder with a user's files (file by file) and a file group (ecmsim mesh's files):
    a rename that fails half-way leaves the folder byte for byte as before, and the new files in staging."""
    out = tmp_path / "r"
    user_folder(out)
    with result_folder(out, command="run", overwrite=True) as stage:
        (stage / "data.csv").write_text("old")
        (stage / "summary.json").write_text(json.dumps({"files": ["data.csv"], "v": "old"}))
    before = snapshot(out)
    _fail_placing(monkeypatch, "data.csv")
    with pytest.raises(OutputError, match="the folder is unchanged and the new result is in .*partial-"):
        with result_folder(out, command="run", overwrite=True) as stage:
            (stage / "data.csv").write_text("new")
            (stage / "summary.json").write_text(json.dumps({"files": ["data.csv"], "v": "new"}))
    assert snapshot(out) == before
    monkeypatch.undo()

    group = tmp_path / "g"
    group.mkdir()
    (group / "notes.txt").write_text("mine")
    names = ["m.msh", "m.report.json"]
    for text in ("1", "2"):
        if text == "2":
            before = snapshot(group)
            _fail_placing(monkeypatch, "m.msh")
        try:
            with result_files(group, names, command="mesh", manifest="m.report.json") as stage:
                (stage / "m.msh").write_text(text)
                (stage / "m.report.json").write_text(json.dumps({"files": ["m.msh"], "v": text}))
        except OutputError as err:
            assert text == "2" and "the previous files are unchanged and the new ones are in" in str(err)
    after = snapshot(group)
    staged = {k: v for k, v in after.items() if ".partial-" in k}
    assert {k: v for k, v in after.items() if k not in staged} == before
    assert [v for k, v in staged.items() if k.endswith("/m.msh")] == [b"2"]   # the new files are not lost


def test_default_name_reflects_overrides():
    name = outputs.default_result_name
    assert name("flat", []) == "flat"
    assert name("flat", ["loading.stack_pressure_Pa=3e6"]) == "flat+stack_pressure_Pa=3e6"
    assert name("flat", ["output.fields=false", "loading.stack_pressure_Pa=3e6"]) == \
        "flat+fields=false+stack_pressure_Pa=3e6"
    odd = name("flat", ["title=a b"])
    assert odd.startswith("flat+title=a_b-") and odd != name("flat", ["title=a_b"])
    assert name("flat", ["a.x=1", "b.x=1"]).startswith("flat+set-")  # same key twice: a hash
    assert len(name("flat", [f"mesh.size_m={'1' * 80}"])) < 30


MPI_SCRIPT = """
import sys
from pathlib import Path
from ecmsim.core.fem import MPI
from ecmsim.io.folders import result_folder
comm = MPI.COMM_WORLD
failing = int(sys.argv[2])
try:
    with result_folder(Path(sys.argv[1]), comm, command="run") as stage:
        if comm.rank == 0:
            (stage / "summary.json").write_text("new")
        if comm.rank == failing:
            raise ValueError("rank fails alone")
    print(f"rank {comm.rank}: written", flush=True)
except Exception as err:
    print(f"rank {comm.rank}: {type(err).__name__}: {err}", flush=True)
"""


@pytest.mark.mpi
@pytest.mark.parametrize("failing", [-1, 0, 1])
def test_mpi_one_rank_failing_ends_every_rank(tmp_path, have_mpirun, failing):
    """Under mpirun -n 2 a failure on one rank only (or none) ends both ranks promptly with the
    same decision: nothing written and the old result kept, or the new result in place."""
    out = tmp_path / "r"
    write_result(out, "old")
    before = snapshot(out)
    proc = run_process([have_mpirun, "-n", "2", sys.executable, "-c", MPI_SCRIPT, str(out), str(failing)],
                          capture_output=True, text=True, timeout=120, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    # the two ranks' lines may interleave in mpirun's merged stdout: count, do not split into lines
    if failing < 0:
        assert proc.stdout.count("rank 0: written") == 1 and proc.stdout.count("rank 1: written") == 1, \
            proc.stdout + proc.stderr
        assert (out / "summary.json").read_text() == "new"
    else:
        assert proc.stdout.count("rank fails alone") == 2, proc.stdout + proc.stderr
        assert snapshot(out) == before
    assert siblings(out) == []
