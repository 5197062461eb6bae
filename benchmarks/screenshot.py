"""Write docs/screenshot.png: the app in headless Chromium after one Generate on the examples.

    python -m benchmarks.screenshot [--out docs/screenshot.png] [--seconds 4] [--steps 10]
                                    [--style examples/style_ballad.mp4]

Launches the app (warp renderer, CPU) on a free local port, opens it in Debian's
``/usr/bin/chromium`` through Playwright (no browser download), uploads the example portrait,
the first seconds of the example speech and a style clip through the page's file inputs, sets the
style-transfer steps, clicks Generate, waits for the references, ISPs, plot, metrics table and
the result video, starts the video and saves a full-page screenshot. ``tests/test_browser.py``
drives the same steps and checks what the page shows.
"""

from __future__ import annotations

import argparse
import io
import re
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
VIEWPORT = {"width": 1440, "height": 1000}
GENERATE_TIMEOUT_MS = 300_000  # a whole request on a busy two-core machine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_app() -> Iterator[str]:
    """The app on the real pipeline (warp renderer, CPU) on a free local port; yields its URL."""
    from app import build_demo
    from talkinghead.pipeline import Pipeline, PipelineConfig

    demo = build_demo(Pipeline(PipelineConfig(renderer="warp", device="cpu")))
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, show_error=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


@contextmanager
def chromium_page(profile: Path) -> Iterator:
    """A page of headless Chromium with a fresh profile in ``profile``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS), headless=True, viewport=VIEWPORT
        )
        try:
            page = context.new_page()
            page.set_default_timeout(60_000)
            yield page
        finally:
            context.close()


def block(page, label: str):
    """The visible component block whose label reads exactly ``label`` (the open tab's)."""
    title = page.locator("[data-testid='block-label']", has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))
    return page.locator(".block", has=title).filter(visible=True).first


@dataclass(frozen=True)
class PageResult:
    """What the page shows after Generate."""

    video_duration: float  # seconds, as the browser's <video> reports it
    n_references: int  # images in the references gallery
    n_isps: int  # images in the ISP gallery
    references_text: str  # the references gallery's captions
    table_text: str  # the metrics table
    status_text: str  # the status line (renderer, timings, warnings)


def generate(page, url: str, *, portrait: Path, audio: Path, style: Path, steps: int) -> PageResult:
    """Upload the three files, set the transfer steps, click Generate and wait for every output."""
    page.goto(url, wait_until="networkidle")
    for label, path in (("Portrait", portrait), ("Audio (speech or singing)", audio), ("Style clip", style)):
        block(page, label).locator("input[type=file]").set_input_files(str(path))
    # Each upload shows its preview before Generate is pressed.
    block(page, "Portrait").locator("img").first.wait_for()
    block(page, "Audio (speech or singing)").locator("audio").first.wait_for(state="attached")
    block(page, "Style clip").locator("video").first.wait_for()

    page.get_by_role("button", name=re.compile(r"^Settings")).first.click()
    field = page.get_by_label("number input for Style-transfer steps")
    field.fill(str(steps))
    field.press("Enter")
    page.get_by_role("button", name="Generate", exact=True).click()

    video_duration = wait_for_video(page, "#result", GENERATE_TIMEOUT_MS)
    page.locator("#plot img, #plot svg, #plot canvas").first.wait_for()
    page.locator("#metrics", has_text="SMD").wait_for()
    return PageResult(
        video_duration=video_duration,
        n_references=page.locator("#refs img").count(),
        n_isps=page.locator("#isps img").count(),
        references_text=page.locator("#refs").inner_text(),
        table_text=page.locator("#metrics").inner_text(),
        status_text=page.locator("#status").inner_text(),
    )


def wait_for_video(page, selector: str, timeout_ms: int = 60_000) -> float:
    """Wait until the ``<video>`` under ``selector`` has loaded its metadata; its duration (s)."""
    page.locator(f"{selector} video").wait_for(timeout=timeout_ms)
    page.wait_for_function(
        f"() => {{ const v = document.querySelector('{selector} video');"
        " return v && v.readyState >= 1 && v.duration > 0 }",
        timeout=timeout_ms,
    )
    return float(page.locator(f"{selector} video").evaluate("v => v.duration"))


def play_result(page, selector: str = "#result", *, seconds: float = 0.3) -> float:
    """Start the video under ``selector`` (muted, as browsers allow without a click) and wait
    until it has played ``seconds``; pauses it again and returns its current time."""
    video = page.locator(f"{selector} video")
    video.evaluate("v => { v.muted = true; return v.play() }")
    page.wait_for_function(
        f"() => {{ const v = document.querySelector('{selector} video');"
        f" return !v.paused && v.currentTime > {seconds} }}",
        timeout=30_000,
    )
    return float(video.evaluate("v => { v.pause(); return v.currentTime }"))


@dataclass(frozen=True)
class CompareResult:
    """What the Compare styles tab shows after Compare."""

    durations: list[float]  # seconds of the result videos A, B, C as the browser reports them
    grid_duration: float  # seconds of the side-by-side grid
    grid_size: tuple[int, int]  # the grid video's width and height
    table_text: str  # the metrics table


def compare(page, url: str, *, portrait: Path, audio: Path, styles: list[Path]) -> CompareResult:
    """Open the Compare styles tab, upload a portrait, audio and up to three style clips, click
    Compare and wait for every result and the grid."""
    page.goto(url, wait_until="networkidle")
    page.get_by_role("tab", name="Compare styles").click()
    uploads = [("Portrait", portrait), ("Audio", audio)] + [(f"Style clip {k}", s) for k, s in zip("ABC", styles)]
    for label, path in uploads:
        block(page, label).locator("input[type=file]").set_input_files(str(path))
    block(page, "Portrait").locator("img").first.wait_for()
    for k in "ABC"[: len(styles)]:
        block(page, f"Style clip {k}").locator("video").first.wait_for()
    page.get_by_role("button", name="Compare", exact=True).click()
    durations = [wait_for_video(page, f"#compare-{k}", GENERATE_TIMEOUT_MS) for k in "ABC"[: len(styles)]]
    grid_duration = wait_for_video(page, "#grid", GENERATE_TIMEOUT_MS)
    size = page.locator("#grid video").evaluate("v => [v.videoWidth, v.videoHeight]")
    page.locator("#compare-table", has_text="SMD").wait_for()
    table = page.locator("#compare-table").inner_text()
    return CompareResult(durations, grid_duration, (int(size[0]), int(size[1])), table)


def save_screenshot(page, path: Path) -> Path:
    """Full-page screenshot as a 256-colour PNG (a third of the size, no visible loss), atomically."""
    from PIL import Image

    shot = Image.open(io.BytesIO(page.screenshot(full_page=True))).convert("RGB")
    small = shot.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.stem}.", suffix=".png", delete=False) as tmp:
        partial = Path(tmp.name)
    try:
        small.save(partial, optimize=True)
        partial.chmod(0o644)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def speech_cut(path: Path, seconds: float, out: Path) -> Path:
    """The first ``seconds`` of a recording (looped when shorter) as a WAV file."""
    import numpy as np

    from talkinghead import media

    wav = media.load_audio(path)
    wav = np.tile(wav, int(np.ceil(seconds * media.SAMPLE_RATE / len(wav))))
    return media.save_wav(out, wav[: int(round(seconds * media.SAMPLE_RATE))])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the README screenshot of the app")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshot.png")
    parser.add_argument("--seconds", type=float, default=4.0, help="seconds of the example speech")
    parser.add_argument("--steps", type=int, default=10, help="style-transfer steps")
    parser.add_argument("--style", type=Path, default=REPO / "examples" / "style_ballad.mp4")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        parser.error(f"{CHROMIUM} is not installed (Debian package chromium)")
    with tempfile.TemporaryDirectory(prefix="talkinghead-screenshot-") as work:
        audio = speech_cut(REPO / "examples" / "speech_en.wav", args.seconds, Path(work) / "speech.wav")
        with running_app() as url, chromium_page(Path(work) / "profile") as page:
            shown = generate(
                page, url, portrait=REPO / "examples" / "portrait_astronaut.png", audio=audio, style=args.style,
                steps=args.steps,
            )
            play_result(page)
            save_screenshot(page, args.out)
    print(f"wrote {args.out}: video {shown.video_duration:.2f} s, {shown.n_references} references, {shown.n_isps} ISPs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
