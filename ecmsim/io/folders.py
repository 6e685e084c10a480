"""Result folders that never lose a user's data: one mechanism for every command that writes.

The rules:

- **ecmsim deletes only what it wrote.** Every result folder holds a manifest
  (:data:`MANIFEST`, written last) listing the files ecmsim put there. A folder holding
  anything that is not in its manifest (or a folder without a manifest) is not replaced:
  the command stops with one line naming a file it would have lost. ``--overwrite`` then
  writes ecmsim's files into that folder and leaves every other file where it is.
- **The old result stays until the new one is complete.** A command writes into a staging
  folder of its own beside the target, ``OUT.partial-<pid>-<random>`` (one per run, so two
  runs into the same ``-o`` never share it). When everything is written, the old result is
  renamed aside, the new one renamed in, and only then the old one deleted; if a rename
  fails, the old result is renamed back. A run killed before that leaves the old result as it
  was plus a ``.partial-*`` folder without a manifest, so it never looks complete; killed in the
  instant between writing the manifest and the rename, the folder holds the complete result (a
  sweep or study puts it in place: :func:`ecmsim.studies.sweep.adopt_finished_staging`).
- **Two runs into the same ``-o``**: both succeed and the last one to finish wins, or (if
  they keep replacing each other's result) one fails with one line; never a half folder.
- **MPI**: rank 0 does the file system work; every decision is broadcast, and the end of the
  run is one collective decision that every rank reaches, a failed one included (it waits at
  most :data:`WAIT_FOR_RANKS_S` for the others, then aborts the job rather than hang).

:func:`result_folder` serves commands that write a folder (``run``, ``fbg``, ``fbg invert``),
:func:`result_files` commands that write a few files into a folder that holds other things
(``mesh`` 2D and 3D: ``NAME.msh``, ``NAME.report.json``, ``NAME.preview.png``, the report being the
manifest; ``report``: one HTML page; ``validate``: ``report.md`` and its figures), and
:func:`claim_work_folder` commands that fill a folder over several runs and resume (``sweep``,
``study``: their points are ordinary ``run`` result folders).
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import shutil
import stat
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ecmsim.core.errors import EcmsimError, OutputError
from ecmsim.core.interrupt import on_hard_exit

#: The manifest inside every result folder: which files ecmsim wrote there.
MANIFEST = ".ecmsim-manifest.json"
#: Files whose presence makes a folder look like a finished result: moved away first, put in last.
COMPLETION_MARKERS = ("summary.json", MANIFEST)
#: How long a rank that failed waits for the others to reach the end of the run [s].
WAIT_FOR_RANKS_S = 60.0


class SerialComm:
    """The part of an mpi4py communicator used here, for commands that run without MPI."""

    rank = 0
    size = 1

    def bcast(self, obj, root: int = 0):
        return obj

    def allgather(self, obj):
        return [obj]

    def barrier(self) -> None:
        pass


SERIAL = SerialComm()


def staging_name(final: Path) -> Path:
    """A fresh sibling ``final.partial-<pid>-<random>`` (not created)."""
    return final.with_name(f"{final.name}.partial-{os.getpid()}-{secrets.token_hex(3)}")


def staging_writer_pid(staging: Path) -> int | None:
    """The id of the process that made ``staging`` (:func:`staging_name`), None if not of that form."""
    parts = staging.name.rsplit(".partial-", 1)[-1].split("-")
    return int(parts[0]) if len(parts) == 2 and parts[0].isdigit() else None


# ---------------------------------------------------------------------------------------- checks

def check_target_folder(final: Path, command: str, overwrite: bool = False) -> str:
    """Decide how ``final`` may be written: ``"replace"`` (absent, empty, or an ecmsim result
    of ``command``: renamed aside and replaced as a whole) or ``"merge"`` (``overwrite`` and the
    folder holds other files: only ecmsim's files in it are replaced). Raises OutputError."""
    _refuse_special(final)
    if not os.path.lexists(final):
        return "replace"
    if final.is_symlink() or not final.is_dir():
        raise OutputError(f"-o {final}: exists and is not a folder; choose another -o")
    manifest, entries = read_manifest(final), list_entries(final)
    foreign = [e for e in entries if manifest is None or e not in manifest["files"]]
    if foreign:
        if overwrite:
            return "merge"
        raise OutputError(f"-o {final}: the folder holds {foreign[0]!r}, which ecmsim did not write: refusing to "
                          "replace it; choose another -o, or add --overwrite to replace ecmsim's files in it and "
                          "keep the others")
    if manifest is not None and manifest.get("command") != command and not overwrite:
        raise OutputError(f"-o {final}: holds the result of 'ecmsim {manifest.get('command')}', not of "
                          f"'ecmsim {command}': choose another -o, or add --overwrite to replace it")
    return "replace"


def _refuse_special(final: Path) -> None:
    """The current folder, a folder above it and the file system root are never result folders."""
    try:
        resolved, here = final.resolve(), Path.cwd().resolve()
    except (OSError, RuntimeError) as err:
        raise OutputError(f"-o {final}: cannot resolve the path: {err}") from None
    if resolved == resolved.parent or final.name in ("", ".", ".."):
        raise OutputError(f"-o {final}: not a result folder (the root, '.' or '..'); name a folder for the "
                          "results, e.g. -o results/name")
    if resolved == here or resolved in here.parents:
        raise OutputError(f"-o {final}: is the current folder or contains it, not a result folder; name a "
                          "folder for the results, e.g. -o results/name")


def list_entries(folder: Path) -> list[str]:
    """Every file and folder below ``folder`` as relative POSIX paths (folders end in ``/``),
    the manifest itself left out; symbolic links count as files and are not followed."""
    out: list[str] = []
    for root, dirs, files in os.walk(folder):
        rel = Path(root).relative_to(folder)
        for d in list(dirs):
            p = (rel / d).as_posix()
            if os.path.islink(os.path.join(root, d)):
                out.append(p)
                dirs.remove(d)
            else:
                out.append(p + "/")
        out += [(rel / f).as_posix() for f in files if not (rel == Path(".") and f == MANIFEST)]
    return sorted(out)


def read_manifest(folder: Path) -> dict | None:
    """The manifest of ``folder`` if it has a valid one, else None."""
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not (isinstance(data, dict) and data.get("written_by") == "ecmsim" and isinstance(data.get("files"), list)):
        return None
    data["files"] = {str(f) for f in data["files"]}
    return data


def write_manifest(folder: Path, command: str) -> None:
    """List everything in ``folder`` as ecmsim's own (call it last)."""
    from ecmsim.core.version import __version__

    data = {"written_by": "ecmsim", "ecmsim": __version__, "command": command,
            "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "files": list_entries(folder)}
    (folder / MANIFEST).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


# ------------------------------------------------------------------------------- result folders

@contextmanager
def result_folder(final: str | Path, comm=None, *, command: str, overwrite: bool = False) -> Iterator[Path]:
    """Yield a staging folder to write a result into; when the block ends without error on every
    rank, the manifest is written and the staging folder replaces ``final`` (module docstring).

    Collective when ``comm`` (an mpi4py communicator) has several ranks. Raises OutputError with
    one line when ``final`` may not be written, or when the result cannot be put in place.
    """
    comm = comm or SERIAL
    final = Path(final)
    decision = None
    if comm.rank == 0:
        decision = _guarded(lambda: _prepare(final, command, overwrite))
    decision = comm.bcast(decision, root=0)
    if decision[0] == "error":
        raise OutputError(decision[1])
    staging, mode = Path(decision[1][0]), decision[1][1]
    failure = None
    try:
        with on_hard_exit(lambda: comm.rank == 0 and remove_tree(staging)):   # Ctrl-C inside gmsh, say
            yield staging
    except BaseException as err:  # noqa: BLE001 - re-raised below, after the collective decision
        failure = err
    infos = _collective_outcome(comm, failure)
    others = [(rank, info) for rank, info in enumerate(infos) if info is not None and rank != comm.rank]
    if failure is not None or others:
        if comm.rank == 0:
            remove_tree(staging)
        if failure is not None:
            raise failure
        rank, (is_input, message) = others[0]
        if is_input:
            raise OutputError(message)
        raise RuntimeError(f"MPI rank {rank} failed: {message}")
    outcome = None
    if comm.rank == 0:
        outcome = _guarded(lambda: (write_manifest(staging, command), _swap(staging, final, mode, overwrite)))
    outcome = comm.bcast(outcome, root=0)
    if outcome[0] == "error":
        raise OutputError(outcome[1])


def _prepare(final: Path, command: str, overwrite: bool) -> tuple[str, str]:
    mode = check_target_folder(final, command, overwrite)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = staging_name(final)
        staging.mkdir()
    except OSError as err:
        raise OutputError(f"-o {final}: cannot create the result folder: {_reason(err)}") from None
    return str(staging), mode


def _guarded(work: Callable[[], object]) -> tuple:
    """Run rank 0's file work: ("ok", result) or ("error", one line), to broadcast (no rank may hang)."""
    try:
        return ("ok", work())
    except EcmsimError as err:
        return ("error", str(err))
    except OSError as err:
        return ("error", f"{err.filename or 'output'}: {_reason(err)}")
    except Exception as err:  # noqa: BLE001 - a bug, but the other ranks must hear about it
        return ("error", f"writing the result failed: {type(err).__name__}: {err}")


def _collective_outcome(comm, failure: BaseException | None) -> list:
    """Every rank's failure (None, or (is_input_error, message)), reached by all ranks."""
    info = None if failure is None else (isinstance(failure, EcmsimError), " ".join(str(failure).split())
                                         or type(failure).__name__)
    if comm.size == 1:
        return [info]
    request = comm.Ibarrier()
    if failure is None:
        request.Wait()
    else:
        deadline = time.monotonic() + WAIT_FOR_RANKS_S
        while not request.Test():
            if time.monotonic() > deadline:
                print(f"ecmsim: error: MPI rank {comm.rank} failed ({info[1]}) and the other ranks did not "
                      f"follow within {WAIT_FOR_RANKS_S:g} s: aborting the job", file=sys.stderr, flush=True)
                comm.Abort(1)
            time.sleep(0.01)
    return comm.allgather(info)


def _swap(staging: Path, final: Path, mode: str, overwrite: bool, attempts: int = 3) -> None:
    """Put the complete ``staging`` in place of ``final`` (see the module docstring)."""
    for _ in range(attempts):
        if mode == "replace":
            # someone may have added files since the start: check again, keep the new result if so
            try:
                mode = check_target_folder(final, read_manifest(staging)["command"], overwrite)
            except OutputError as err:
                raise OutputError(f"{err}; the new result is kept in {staging}") from None
        if mode == "merge":
            _merge(staging, final)
            return
        aside = None
        if os.path.lexists(final):
            aside = final.with_name(f"{final.name}.old-{os.getpid()}-{secrets.token_hex(3)}")
            try:
                os.rename(final, aside)
            except FileNotFoundError:
                continue  # another run moved it away just now: look again
        try:
            os.rename(staging, final)
        except OSError as err:
            if aside is not None:
                try:
                    os.rename(aside, final)
                except OSError:
                    remove_tree(aside)  # another run's complete result took its place
            if err.errno in (errno.EEXIST, errno.ENOTEMPTY):
                continue  # another run put its result there in between: replace it in turn
            raise OutputError(f"-o {final}: cannot put the result in place: {_reason(err)}; the previous "
                              f"result is unchanged and the new one is in {staging}") from None
        if aside is not None and not remove_tree(aside):
            print(f"ecmsim: warning: could not delete the previous result, moved to {aside}", file=sys.stderr)
        return
    raise OutputError(f"-o {final}: other ecmsim runs kept replacing it at the same time; this result is in "
                      f"{staging}")


def _merge(staging: Path, final: Path) -> None:
    """``--overwrite`` into a folder with other files: file by file, ecmsim's old files (those its
    manifest lists) and same-named ones go aside, the new ones come in; completion markers go
    first and come in last; on failure everything is put back. Other files stay untouched."""
    new = _ordered([e for e in list_entries(staging) if not e.endswith("/")] + [MANIFEST])
    old = read_manifest(final)
    old_files = [f for f in old["files"] if not f.endswith("/")] if old else []
    aside = final.with_name(f"{final.name}.old-{os.getpid()}-{secrets.token_hex(3)}")
    aside.mkdir()
    try:   # completion markers aside first and in last
        _exchange(final, staging, aside, reversed(_ordered(new + old_files)), new,
                  lambda src: src.is_symlink() or not src.is_dir())
    except OSError as err:
        remove_tree(aside)
        raise OutputError(f"-o {final}: cannot put the result in place: {_reason(err)}; the folder is unchanged "
                          f"and the new result is in {staging}") from None
    for rel in sorted((f for f in (old["files"] if old else []) if f.endswith("/")), key=len, reverse=True):
        try:
            (final / rel).rmdir()  # an old ecmsim folder left empty
        except OSError:
            pass
    remove_tree(aside)
    remove_tree(staging)


def _exchange(folder: Path, staging: Path, aside: Path, out_names, in_names,
              movable: Callable[[Path], bool] = lambda path: True) -> None:
    """Move ``out_names`` of ``folder`` that exist (and are ``movable``) into ``aside``, then ``in_names``
    from ``staging`` into ``folder``, in those orders; on an OSError put back what was moved, in reverse,
    and raise it again (the folder as before, the new files in ``staging``)."""
    moved, placed = [], []
    try:
        for rel in out_names:
            src = folder / rel
            if os.path.lexists(src) and movable(src):
                (aside / rel).parent.mkdir(parents=True, exist_ok=True)
                os.rename(src, aside / rel)
                moved.append(rel)
        for rel in in_names:
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            os.rename(staging / rel, folder / rel)
            placed.append(rel)
    except OSError:
        for rel in reversed(placed):
            os.rename(folder / rel, staging / rel)
        for rel in reversed(moved):
            os.rename(aside / rel, folder / rel)
        raise


def _ordered(names: list[str]) -> list[str]:
    """Plain entries first, then summary.json, then the manifest (the order of putting in place)."""
    unique = sorted(set(names))
    return [n for n in unique if n not in COMPLETION_MARKERS] + [n for n in COMPLETION_MARKERS if n in unique]


# ---------------------------------------------------------------------------------- file groups

def group_manifest_name(first: str) -> str:
    """The sidecar manifest of a file group whose first file is ``first``: ``.first.ecmsim.json``."""
    return f".{Path(first).name}.ecmsim.json"


@contextmanager
def result_files(folder: str | Path, names: list[str], *, command: str, manifest: str | None = None,
                 overwrite: bool = False) -> Iterator[Path]:
    """Yield a staging folder in which to write a group of files (``names``: relative paths, e.g.
    ``report.md``, ``figures/case.png``); when the block ends without error, every file staged
    replaces ``folder/NAME`` (``folder`` may hold anything else, which stays as it is).

    The group's manifest says which files ecmsim wrote there, and by which command: either one of
    ``names`` that the command writes itself, a JSON file with a ``files`` list (``manifest``, the
    mesh report), or (``manifest=None``) a sidecar ``.NAME.ecmsim.json`` written here. It is moved
    away first and put in place last. An existing file is replaced only if the manifest of the same
    command lists it, or with ``overwrite``; files staged beyond ``names`` are checked the same way
    before anything is moved. Serial: for commands that run in one process.
    """
    folder = Path(folder)
    claim = manifest or group_manifest_name(names[0])
    _refuse_root(folder)
    if os.path.lexists(folder) and not folder.is_dir():
        raise OutputError(f"-o {folder}: exists and is not a folder")
    claimed = _claimed(folder / claim, command)
    _check_group(folder, names, claimed, overwrite)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        staging = staging_name(folder / Path(names[0]).name)
        staging.mkdir()
    except OSError as err:
        raise OutputError(f"-o {folder}: cannot write there: {_reason(err)}") from None
    try:
        with on_hard_exit(lambda: remove_tree(staging)):
            yield staging
        written = [e for e in list_entries(staging) if not e.endswith("/")]
        if manifest is None:
            written = sorted(set(written) - {claim})
            # files of an earlier run of the group that stay (not written again): still ecmsim's
            kept = {f for f in claimed - {claim} if f not in names and os.path.lexists(folder / f)}
            data = {"written_by": "ecmsim", "command": command, "files": sorted(set(written) | kept)}
            (staging / claim).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        written = [n for n in written if n != claim] + ([claim] if os.path.lexists(staging / claim) else [])
        try:
            _check_group(folder, written, claimed, overwrite)
        except OutputError as err:   # a file found only now (a figure named after a case, say)
            new_home = staging.with_name(staging.name.replace(".partial-", ".new-", 1))
            os.rename(staging, new_home)
            raise OutputError(f"{err}; the new files are in {new_home}") from None
    except BaseException:
        remove_tree(staging)
        raise
    aside = staging / ".previous"
    targets = list(dict.fromkeys([claim, *reversed(names), *reversed(written)]))  # the manifest first
    try:
        aside.mkdir()
        _exchange(folder, staging, aside, targets, written)   # the manifest aside first and in last
    except OSError as err:
        raise OutputError(f"{folder / names[0]}: cannot put the files in place: {_reason(err)}; the previous "
                          f"files are unchanged and the new ones are in {staging}") from None
    remove_tree(staging)


def _check_group(folder: Path, names: list[str], claimed: set[str], overwrite: bool) -> None:
    for name in names:
        target = folder / name
        if target.is_dir() and not target.is_symlink():
            raise OutputError(f"{target}: is a folder, not a file ecmsim wrote; choose another -o")
        if os.path.lexists(target) and name not in claimed and not overwrite:
            raise OutputError(f"{target}: exists and ecmsim did not write it: refusing to replace it; choose "
                              "another -o, or add --overwrite")


def _claimed(manifest: Path, command: str) -> set[str]:
    """The files a group manifest lists (itself included), if it was written by ``command``."""
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    if not isinstance(data, dict) or data.get("command", "mesh") != command:
        return set()
    files = data.get("files")
    if not isinstance(files, list) and isinstance(data.get("mesh_file"), str):
        # a mesh report from before reports listed their files: the mesh and its preview
        files = [data["mesh_file"], Path(data["mesh_file"]).with_suffix(".preview.png").name]
    return {str(f) for f in files} | {manifest.name} if isinstance(files, list) else set()


def _refuse_root(folder: Path) -> None:
    try:
        resolved = folder.resolve()
    except (OSError, RuntimeError) as err:
        raise OutputError(f"-o {folder}: cannot resolve the path: {err}") from None
    if resolved == resolved.parent:
        raise OutputError(f"-o {folder}: the file system root is not a place for results; name a folder, "
                          "e.g. -o results/name")


# ----------------------------------------------------------------------------- work folders

def claim_work_folder(out: str | Path, command: str, owned: list[str]) -> Path:
    """A folder that a command fills over several runs and resumes (``sweep``, ``study``).

    Its manifest (written when the folder is created) names the command and what it writes there
    (``owned``: files, and folders ending in ``/`` such as ``points/``), so a later run of the same
    command knows the folder is its own. Refused with one line: the current folder or one above
    it, a file, a folder without a manifest that is not empty (the user's), or the folder of another
    command. Files the user added to a work folder are kept; nothing in it is ever deleted.
    Write the command's files with :func:`write_atomic`. Returns ``out`` as a Path.
    """
    out = Path(out)
    _refuse_special(out)
    if os.path.lexists(out) and (out.is_symlink() or not out.is_dir()):
        raise OutputError(f"-o {out}: exists and is not a folder; choose another -o")
    if out.is_dir():
        manifest = read_manifest(out)
        if manifest is None:
            entries = list_entries(out)
            if entries:
                raise OutputError(f"-o {out}: the folder holds {entries[0]!r} and is not an ecmsim {command} "
                                  f"folder (no {MANIFEST}): refusing to write into it; choose another -o")
        elif manifest.get("command") != command:
            raise OutputError(f"-o {out}: holds the result of 'ecmsim {manifest.get('command')}', not of "
                              f"'ecmsim {command}': choose another -o")
        else:
            for name in owned:
                target = out / name.rstrip("/")
                if name not in manifest["files"] and os.path.lexists(target):
                    raise OutputError(f"{target}: exists and ecmsim did not write it: refusing to replace it; "
                                      "choose another -o")
            if set(owned) <= manifest["files"]:
                return out
    try:
        out.mkdir(parents=True, exist_ok=True)
        from ecmsim.core.version import __version__
        data = {"written_by": "ecmsim", "ecmsim": __version__, "command": command, "files": sorted(owned)}
        write_atomic(out / MANIFEST, json.dumps(data, indent=1) + "\n")
    except OSError as err:
        raise OutputError(f"-o {out}: cannot create the folder: {_reason(err)}") from None
    return out


def write_atomic(path: Path, content: str | bytes) -> None:
    """Write ``path`` through a temporary sibling and one rename: readers see the old or the new file."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(3)}")
    try:
        if isinstance(content, bytes):
            tmp.write_bytes(content)
        else:
            tmp.write_text(content, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


# ------------------------------------------------------------------------------------- helpers

def remove_tree(path: Path) -> bool:
    """Delete a folder ecmsim wrote, read-only parts included; True if it is gone."""
    def make_writable(func, p, exc):
        try:
            os.chmod(os.path.dirname(p), stat.S_IRWXU)
            os.chmod(p, stat.S_IRWXU)
            func(p)
        except OSError:
            pass

    if not os.path.lexists(path):
        return True
    shutil.rmtree(path, onexc=make_writable)
    return not os.path.lexists(path)


def _reason(err: OSError) -> str:
    return err.strerror or str(err)


def default_result_name(stem: str, overrides: list[str] | None) -> str:
    """``stem`` plus a short readable suffix for ``--set`` overrides, e.g.
    ``flat_bilayer+stack_pressure_Pa=3e6``; a hash when the readable form would be long or
    ambiguous, so that different overrides never share a default folder."""
    import hashlib
    import re

    if not overrides:
        return stem
    parts, exact = [], True
    for item in overrides:
        key, _, value = item.partition("=")
        text = f"{key.strip().split('.')[-1]}={value.strip()}"
        clean = re.sub(r"[^A-Za-z0-9._=+-]", "_", text)
        exact &= clean == text
        parts.append(clean)
    keys = [p.split("=")[0] for p in parts]
    suffix = "+".join(parts)
    digest = hashlib.sha256("\n".join(overrides).encode()).hexdigest()[:8]
    if len(suffix) > 60 or len(set(keys)) < len(keys):
        return f"{stem}+set-{digest}"
    return f"{stem}+{suffix}" + ("" if exact else f"-{digest}")
