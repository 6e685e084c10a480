"""The disk cache of models built from code (ecmsim.geometry.image.diskcache): built once, read
back equal by later calls, keyed so that other parameters or library versions never read a stale
file, rebuilt over a broken file, and harmless when off or when its folder cannot be written."""

from __future__ import annotations

from ecmsim.geometry.image import diskcache as dc


class Builder:
    def __init__(self):
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return {"trees": [1.5, 2.5], "n": self.calls}


def test_built_once_then_read_back(tmp_path, monkeypatch):
    monkeypatch.setenv("ECMSIM_CACHE_DIR", str(tmp_path / "c"))
    build = Builder()
    first, path = dc.cached("m", {"a": 1}, build)
    assert path is None and build.calls == 1
    again, path = dc.cached("m", {"a": 1}, build)
    assert build.calls == 1 and again == first and path.parent == tmp_path / "c"
    assert [p.name for p in (tmp_path / "c").iterdir()] == [path.name]   # no temporary left


def test_other_parameters_or_versions_are_another_file(tmp_path, monkeypatch):
    monkeypatch.setenv("ECMSIM_CACHE_DIR", str(tmp_path))
    build = Builder()
    dc.cached("m", {"a": 1}, build)
    dc.cached("m", {"a": 2}, build)
    assert build.calls == 2
    key = dc.cache_key("m", {"a": 1})
    real = dc.metadata.version
    monkeypatch.setattr(dc.metadata, "version", lambda d: "0.0" if d == "scikit-learn" else real(d))
    assert dc.cache_key("m", {"a": 1}) != key
    dc.cached("m", {"a": 1}, build)
    assert build.calls == 3


def test_a_broken_file_is_built_again(tmp_path, monkeypatch):
    monkeypatch.setenv("ECMSIM_CACHE_DIR", str(tmp_path))
    build = Builder()
    dc.cached("m", {}, build)
    (path,) = tmp_path.iterdir()
    path.write_bytes(b"not a pickle")
    value, read = dc.cached("m", {}, build)
    assert read is None and value["n"] == 2 and build.calls == 2
    assert dc.cached("m", {}, build) == (value, path)


def test_off_or_unwritable_keeps_nothing_and_still_builds(tmp_path, monkeypatch):
    monkeypatch.setenv("ECMSIM_CACHE_DIR", "")
    build = Builder()
    assert dc.cached("m", {}, build) == ({"trees": [1.5, 2.5], "n": 1}, None)
    assert dc.cached("m", {}, build)[0]["n"] == 2
    blocker = tmp_path / "a file"   # a folder below a file cannot be made, even by root
    blocker.write_text("")
    monkeypatch.setenv("ECMSIM_CACHE_DIR", str(blocker / "c"))
    assert dc.cached("m", {}, build)[0]["n"] == 3
    assert blocker.read_text() == "" and list(tmp_path.iterdir()) == [blocker]
