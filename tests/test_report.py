"""The training report: curves, matrix, per-class table, mistakes; self-contained; renders in Chromium."""

import copy
import re
import shutil
import struct
import subprocess
import zlib

import numpy as np
import pytest

from textlstm.report import line_chart, training_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def page(fitted):
    """The report of ``fitted`` with two planted validation mistakes (validation = TEXTS)."""
    classifier = copy.copy(fitted)
    probabilities = np.array(fitted.validation_probabilities_)
    probabilities[0] = [0.1, 0.9]  # "the cat sat on the mat" (cat) predicted dog at 0.9
    probabilities[4] = [0.7, 0.3]  # "the dog barks loudly" (dog) predicted cat at 0.7
    classifier.validation_probabilities_ = probabilities
    return training_report(classifier, data_summary="train: 12 texts")


def test_report_has_curves_matrix_table_config_and_data(page, fitted):
    assert len(re.findall(r'<polyline class="curve"', page)) >= 4  # loss, val_loss, accuracy, val_accuracy, ...
    assert '<table class="confusion">' in page and '<table class="per-class">' in page
    assert '<table class="config">' in page and "train: 12 texts" in page
    assert f"{fitted.validation_report_['accuracy']:.4f}" in page
    weight = fitted.history_["recurrent_weight"]
    assert f"output {weight:.1f} x recurrent + {1 - weight:.1f} x n-gram branch" in page


def test_mistakes_come_most_confident_first_with_highlights(page):
    mistakes = page.split("Most confident mistakes")[1].split("</ol>")[0]
    items = mistakes.split("<li>")[1:]
    assert len(items) == 2
    assert "predicted <b>dog</b> (0.900)" in items[0] and ">mat</span>" in items[0]
    assert "predicted <b>cat</b> (0.700)" in items[1] and ">barks</span>" in items[1]


def test_report_is_self_contained(page):
    assert "<script" not in page and "src=" not in page and "href=" not in page
    assert "https://" not in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_line_chart_scales_points_into_the_plot():
    svg = line_chart("loss", {"loss": [1.0, 0.5, 0.0]}, marks=[2], width=100, height=100)
    points = re.search(r'points="([^"]+)"', svg).group(1).split()
    # Plot area: x from 48 to 88, y from 24 (highest value) to 64 (lowest).
    assert points == ["48.0,24.0", "68.0,44.0", "88.0,64.0"]
    assert 'x1="68.0"' in svg  # the marked epoch


def png_pixels(path):
    """The decompressed scanlines of a PNG (enough to tell a blank image from a drawn one)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks = 8, []
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        if kind == b"IDAT":
            chunks.append(data[position + 8 : position + 8 + length])
        position += 12 + length
    return zlib.decompress(b"".join(chunks))


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian package chromium)")
def test_report_renders_in_headless_chromium(page, tmp_path):
    html_file = tmp_path / "report.html"
    html_file.write_text(page, encoding="utf-8")
    common = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0"]
    dom = subprocess.run(
        [*common, "--dump-dom", html_file.as_uri()], capture_output=True, text=True, timeout=120, check=True
    )
    assert "Learning curves" in dom.stdout and "<polyline" in dom.stdout
    assert 'class="confusion"' in dom.stdout and 'class="per-class"' in dom.stdout
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert console == []
    screenshot = tmp_path / "report.png"
    subprocess.run(
        [*common, f"--screenshot={screenshot}", "--window-size=1000,1600", html_file.as_uri()],
        capture_output=True, timeout=120, check=True,
    )
    pixels = png_pixels(screenshot)
    assert len(set(pixels)) > 10  # not one blank colour
