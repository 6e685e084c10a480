"""A model built from code, kept on disk between processes: the texture route's random forest
(:func:`ecmsim.geometry.image.texture.trained_forest`) takes ~10 s of CPU to train and was trained
again by every ``ecmsim mesh`` command.

The file is named by a hash of what makes the model: the source of :mod:`ecmsim.geometry` (the
training renderings and the features are code there), the versions of Python, numpy, scipy,
scikit-image and scikit-learn (a pickle is tied to them), and the caller's parameters. Any change
gives a new name, so a stale file is never read; a file that cannot be read is built again. The
folder is ``$ECMSIM_CACHE_DIR``, else ``$XDG_CACHE_HOME/ecmsim``, else ``~/.cache/ecmsim``;
``ECMSIM_CACHE_DIR=""`` keeps nothing on disk. Files are written whole under a temporary name and
renamed (processes that build at once each write a complete file; the last rename wins), and only
files of this cache are ever replaced. A folder that cannot be written is no error: the model is
then built in each process, as before. Files of other versions are left in place (another install
may use them); the folder can be deleted at any time.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

#: Distributions whose versions enter the key (pickles and numerics depend on them).
KEY_DISTRIBUTIONS = ("numpy", "scipy", "scikit-image", "scikit-learn")


def cache_dir() -> Path | None:
    """The cache folder, or None when ``ECMSIM_CACHE_DIR`` is set empty."""
    given = os.environ.get("ECMSIM_CACHE_DIR")
    if given is not None:
        return Path(given).expanduser() if given.strip() else None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ecmsim"


def cache_key(name: str, parameters: dict) -> str:
    """Hash of ``name``, ``parameters``, the source files of :mod:`ecmsim.geometry` and the versions
    of Python and of :data:`KEY_DISTRIBUTIONS`."""
    h = hashlib.sha256(f"{name}\n{sorted(parameters.items())!r}\n{sys.version}\n".encode())
    for dist in KEY_DISTRIBUTIONS:
        try:
            h.update(f"{dist}={metadata.version(dist)}\n".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{dist}=absent\n".encode())
    root = Path(__file__).resolve().parents[1]   # ecmsim/geometry
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:24]


def cached(name: str, parameters: dict, build: Callable[[], object]) -> tuple[object, Path | None]:
    """``build()``'s result, read from the cache file of ``name`` and ``parameters`` when one is
    there, else built and written; returns it and the file it was read from (None when built)."""
    folder = cache_dir()
    path = folder / f"{name}-{cache_key(name, parameters)}.pickle" if folder is not None else None
    if path is not None and path.is_file():
        try:
            with path.open("rb") as f:
                return pickle.load(f), path
        except Exception:   # truncated or foreign file: built again and replaced below
            pass
    value = build()
    if path is not None:
        _write(path, value)
    return value, None


def _write(path: Path, value) -> None:
    """Pickle ``value`` to ``path`` through a temporary file in the same folder; no error if the
    folder cannot be written."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=path.parent, prefix=f".{path.name}.", delete=False) as f:
            tmp = Path(f.name)
            pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
