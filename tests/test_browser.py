"""The app in a real browser: headless Chromium (Debian's ``/usr/bin/chromium``) driven by Playwright.

Uploads the example portrait, a short speech cut and the ballad style clip through the file
inputs, clicks Generate, waits for the four references, the four ISPs, the plot, the metrics
table and a playable result video, starts the video, and saves a full-page screenshot to
``docs/screenshot.png`` (the README's picture).
"""

from __future__ import annotations

import re
import socket
import tempfile
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AUDIO_SECONDS = 3.0
STEPS = 5  # style-transfer steps: enough to show the change, few enough for a CPU test
TIMEOUT_MS = 240_000  # the whole generation on a loaded two-core machine
VIEWPORT = {"width": 1440, "height": 1000}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def app_url():
    from app import build_demo
    from talkinghead.pipeline import Pipeline, PipelineConfig

    demo = build_demo(Pipeline(PipelineConfig(renderer="warp", device="cpu")))
    port = _free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, show_error=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


@pytest.fixture(scope="module")
def browser_page(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (Debian package chromium): the browser test needs it")
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True, viewport=VIEWPORT
        )
        try:
            page = context.new_page()
            page.set_default_timeout(60_000)
            yield page
        finally:
            context.close()


@pytest.fixture(scope="module")
def speech_cut(tmp_path_factory, examples_dir: Path) -> Path:
    from talkinghead import media, speech

    example = examples_dir / "speech_en.wav"
    if example.exists():
        wav = media.load_audio(example)
    elif speech.available():
        wav = speech.synthesize("Hello! I can sing a ballad, rap, or opera. Which style do you like?").audio
    else:
        pytest.skip("neither examples/speech_en.wav nor espeak-ng is available for test speech")
    wav = np.tile(wav, int(np.ceil(AUDIO_SECONDS * media.SAMPLE_RATE / len(wav))))
    return media.save_wav(tmp_path_factory.mktemp("audio") / "speech.wav", wav[: int(AUDIO_SECONDS * media.SAMPLE_RATE)])


def _block(page, label: str):
    """The component block whose label reads exactly ``label``."""
    title = page.locator("[data-testid='block-info']", has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))
    return page.locator(".block", has=title).first


def test_generate_in_the_browser(app_url, browser_page, speech_cut, examples_dir: Path, repo_dir: Path):
    page = browser_page
    page.goto(app_url, wait_until="networkidle")
    assert "Talking heads with style" in page.title()

    uploads = {
        "Portrait": examples_dir / "portrait_astronaut.png",
        "Audio (speech or singing)": speech_cut,
        "Style clip": examples_dir / "style_ballad.mp4",
    }
    for label, path in uploads.items():
        _block(page, label).locator("input[type=file]").set_input_files(str(path))
    # Each upload shows its preview before Generate may be pressed.
    _block(page, "Portrait").locator("img").first.wait_for()
    _block(page, "Style clip").locator("video").first.wait_for()
    _block(page, "Audio (speech or singing)").locator("audio, wave, [data-testid='waveform-Audio (speech or singing)']").first.wait_for(
        state="attached"
    )

    page.get_by_role("button", name="Settings").click()
    steps = _block(page, "Style-transfer steps").locator("input[type=number]")
    steps.fill(str(STEPS))
    steps.press("Enter")

    page.get_by_role("button", name="Generate", exact=True).click()

    video = page.locator("#result video")
    video.wait_for(timeout=TIMEOUT_MS)
    page.wait_for_function(
        "() => { const v = document.querySelector('#result video'); return v && v.readyState >= 1 && v.duration > 0 }",
        timeout=60_000,
    )
    duration = video.evaluate("v => v.duration")
    assert abs(duration - AUDIO_SECONDS) < 0.2, duration

    refs = page.locator("#refs img")
    isps = page.locator("#isps img")
    assert refs.count() == 4 and isps.count() == 4
    captions = page.locator("#refs").inner_text()
    for label in ("None", "M", "R", "O"):
        assert re.search(rf"\b{label} \(", captions), captions
    page.locator("#plot img, #plot svg, #plot canvas").first.wait_for()
    table = page.locator("#metrics").inner_text()
    for name in ("SLD", "SLV", "SMD"):
        assert name in table
    status = page.locator("#status").inner_text()
    assert "warp" in status and "style_transfer" in status

    # The result plays.
    video.evaluate("v => { v.muted = true; return v.play() }")
    page.wait_for_function(
        "() => { const v = document.querySelector('#result video'); return !v.paused && v.currentTime > 0.2 }",
        timeout=30_000,
    )
    video.evaluate("v => v.pause()")

    shot = repo_dir / "docs" / "screenshot.png"
    shot.parent.mkdir(exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=shot.parent, prefix=".screenshot.", suffix=".png", delete=False) as tmp:
        partial = Path(tmp.name)
    try:
        page.screenshot(path=str(partial), full_page=True)
        partial.replace(shot)
    finally:
        partial.unlink(missing_ok=True)
    from PIL import Image

    with Image.open(shot) as im:
        assert im.width == VIEWPORT["width"] and im.height >= 900
