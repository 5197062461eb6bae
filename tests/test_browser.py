"""The app in a real browser: headless Chromium (Debian's ``/usr/bin/chromium``) driven by Playwright.

Generate: uploads the example portrait, a short speech cut and the ballad style clip through the
page's file inputs, clicks Generate, checks the four references, the four ISPs, the plot, the
metrics table and the result video (it has the audio's duration and plays), and takes a
full-page screenshot. The steps are those of ``benchmarks/screenshot.py``, which writes the
README's ``docs/screenshot.png``.

Compare styles: the same portrait and speech with the ballad, rap and opera clips; the three
result videos and the grid load with the audio's duration and play.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from benchmarks import screenshot

pytestmark = [pytest.mark.slow, pytest.mark.browser]

AUDIO_SECONDS = 3.0
STEPS = 5  # style-transfer steps: enough to change the motion, few enough for a CPU test


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    if not screenshot.CHROMIUM.exists():
        pytest.skip(f"{screenshot.CHROMIUM} is not installed (Debian package chromium): the browser test needs it")
    with screenshot.chromium_page(tmp_path_factory.mktemp("chromium-profile")) as page:
        yield page


@pytest.fixture(scope="module")
def app_url():
    with screenshot.running_app() as url:
        yield url


def test_generate_in_the_browser(app_url, page, examples_dir: Path, tmp_path: Path):
    audio = screenshot.speech_cut(examples_dir / "speech_en.wav", AUDIO_SECONDS, tmp_path / "speech.wav")
    shown = screenshot.generate(
        page,
        app_url,
        portrait=examples_dir / "portrait_astronaut.png",
        audio=audio,
        style=examples_dir / "style_ballad.mp4",
        steps=STEPS,
    )
    assert abs(shown.video_duration - AUDIO_SECONDS) <= 1 / 25 + 0.05, shown.video_duration
    assert shown.n_references == 4 and shown.n_isps == 4
    for label in ("None", "M", "R", "O"):
        assert re.search(rf"(^|\s){label} \(", shown.references_text), shown.references_text
    for metric in ("SLD", "SLV", "SMD"):
        assert metric in shown.table_text
    assert "warp" in shown.status_text and "style_transfer" in shown.status_text

    assert screenshot.play_result(page) > 0.3

    path = screenshot.save_screenshot(page, tmp_path / "screenshot.png")
    from PIL import Image

    with Image.open(path) as im:
        assert im.width == screenshot.VIEWPORT["width"] and im.height > screenshot.VIEWPORT["height"], im.size


def test_compare_styles_in_the_browser(app_url, page, examples_dir: Path, tmp_path: Path):
    seconds = 2.0
    audio = screenshot.speech_cut(examples_dir / "speech_en.wav", seconds, tmp_path / "speech.wav")
    styles = [examples_dir / f"style_{name}.mp4" for name in ("ballad", "rap", "opera")]
    shown = screenshot.compare(
        page, app_url, portrait=examples_dir / "portrait_astronaut.png", audio=audio, styles=styles
    )
    for duration in [*shown.durations, shown.grid_duration]:
        assert abs(duration - seconds) <= 1 / 25 + 0.05, shown
    assert len(shown.durations) == 3
    width, height = shown.grid_size
    assert width >= 3 * height * 0.9, shown.grid_size  # three portrait tiles side by side
    for row in ("A: style_ballad", "B: style_rap", "C: style_opera"):
        assert row in shown.table_text, shown.table_text
    for selector in ("#compare-A", "#compare-B", "#compare-C", "#grid"):
        assert screenshot.play_result(page, selector) > 0.3, selector
