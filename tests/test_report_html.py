"""``ecmsim report``: Li vs Li-Sn side by side in one self-contained page, opened in headless Chromium."""

from __future__ import annotations

import html
import json
import re
import subprocess

import numpy as np
import pytest
from PIL import Image

from conftest import SCENARIOS, assert_one_line_error, chromium_or_skip, run_cli

PAIR = (("li", "li_pll_cycled_image.toml"), ("lisn", "li_sn_pll_cycled_image.toml"))


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """The Li/PLL and Li-Sn/PLL cycled sections at 2.4 MPa with contact (as the reference study's
    COMSOL model), reported together."""
    base = tmp_path_factory.mktemp("report")
    folders = []
    for name, scenario in PAIR:
        out = base / name
        proc = run_cli("run", str(SCENARIOS / scenario), "-o", str(out), "-q", "--set", "interface.model=contact",
                       "--set", "output.fields=false")
        assert proc.returncode == 0, proc.stderr
        folders.append(out)
    page = base / "report.html"
    proc = run_cli("report", *map(str, folders), "-o", str(page))
    assert proc.returncode == 0, proc.stderr
    return page, folders


def test_page_is_self_contained_and_complete(report):
    page, folders = report
    text = page.read_text()
    assert "<title>ecmsim report: Li / PLL after 3 cycles" in text
    # no external assets: every image is a data URI, no links to fetch, no scripts
    assert not re.search(r'(src|href)="(?!data:|#)', text)
    assert "<script" not in text and "@import" not in text and "url(" not in text
    assert text.count('src="data:image/png;base64,') >= 6   # 2 maps, overlay, 2 profiles, contact plots
    for heading in ("Scenarios", "Comparison with the measured values", "Stress maps", "Interface profiles",
                    "Metrics", "Provenance"):
        assert f"<h2>{heading}</h2>" in text
    for folder in folders:
        summary = json.loads((folder / "summary.json").read_text())
        assert summary["input_hash_sha256"] in text
        assert html.escape(summary["title"]) in text
        assert summary["provenance"]["dolfinx"] in text
    assert "5 … 30 MPa" in text and "190 pm" in text and "69 pm/MPa" in text
    assert "not in these results" in text        # FBG-in-cell values are marked, not invented


def test_bad_folder_is_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    proc = run_cli("report", str(tmp_path / "empty"), "-o", str(tmp_path / "r.html"))
    assert_one_line_error(proc, "not an ecmsim result folder")
    assert not (tmp_path / "r.html").exists()


def test_validity_warnings_of_a_run_are_on_the_page(tmp_path):
    """A run's summary.json -> warnings (e.g. creep strain beyond small strain) get their own section,
    escaped, under the run's label; a page of runs without warnings has no such section."""
    from ecmsim.studies.report_html import Folder, build_html

    line = "electrode: equivalent creep strain reaches 3.3 at t = 20 s > 5 % small-strain range"
    runs = [Folder(tmp_path / "a", "Li <cycled>", summary={"title": "a", "warnings": [line]}),
            Folder(tmp_path / "b", "clean", summary={"title": "b"})]
    text = build_html(runs)
    section = text.split("<h2>Validity warnings</h2>")[1].split("<h2>")[0]
    assert html.escape(line) in section and "<h3>Li &lt;cycled&gt;</h3>" in section
    assert "clean" not in section
    assert "<h2>Validity warnings</h2>" not in build_html(runs[1:])




def test_renders_in_headless_chromium(report, tmp_path):
    browser = chromium_or_skip()
    page, _ = report
    common = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--allow-file-access-from-files", "--blink-settings=imagesEnabled=true"]
    dom = subprocess.run([*common, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "<title>ecmsim report: Li / PLL after 3 cycles" in dom.stdout
    assert dom.stdout.count("<table") >= 4 and "Comparison with the measured values" in dom.stdout

    shot = tmp_path / "shot.png"
    proc = subprocess.run([*common, f"--screenshot={shot}", "--window-size=1280,2400", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and shot.exists(), proc.stderr[-2000:]
    rgb = np.asarray(Image.open(shot).convert("RGB"), dtype=float)
    assert rgb.shape == (2400, 1280, 3)
    assert rgb.mean(axis=2).std() > 20                   # not a blank page
    # the embedded PNGs were decoded and drawn: the page's text and tables are grey, the stress
    # maps and plots are colour (measured: 2.9 % saturated pixels with images, 0.006 % without)
    saturation = rgb.max(axis=2) - rgb.min(axis=2)
    assert np.mean(saturation > 60) > 0.005
