"""The notebook examples/first_steps.ipynb runs from top to bottom (nbclient, a fresh kernel of this
interpreter) in a working folder of its own, and shows what it says it shows."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT

NOTEBOOK = ROOT / "examples" / "first_steps.ipynb"


@pytest.mark.slow
def test_first_steps_notebook_runs(tmp_path):
    import nbclient      # the test extra (pyproject.toml): a missing one fails here, it does not skip
    import nbformat
    for name in ("scenarios", "meshes", "examples"):
        (tmp_path / name).symlink_to(ROOT / name)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit the notebook without outputs"
    nbclient.NotebookClient(nb, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    images = [o for o in outputs if o.output_type == "display_data" and "image/png" in o.get("data", {})]
    assert "mean normal stress on the interface -2.400 MPa" in text
    assert "flat" in text and "wavy" in text and "eigenmodes" in text
    assert len(images) >= 3                  # the stress maps, the comparison, the spectrum
    assert (tmp_path / "results" / "notebook" / "wavy" / "summary.json").is_file()
    Path(tmp_path / "executed.ipynb").write_text(nbformat.writes(nb))
