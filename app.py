"""Gradio app: Style Transfer for 2D Talking Head Generation.

Upload a portrait, an audio clip and a style clip; see the four style references (None / M / R / O)
and their Intermediate Style Patterns; run the test-time style transfer and watch the result.

    python app.py [--host 0.0.0.0] [--port 7860] [--share] [--renderer auto|warp|liveportrait] [--device auto|cpu|cuda]
                  [--max-audio-seconds 60] [--concurrency 4] [--queue-size 12]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import inspect
import json
import logging
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from talkinghead import media, metrics, montage
from talkinghead.errors import InputError
from talkinghead.pipeline import GenerationResult, Pipeline, PipelineConfig, RequestOptions, StylePreview

log = logging.getLogger("talkinghead.app")

EXAMPLES = Path(__file__).resolve().parent / "examples"
LABELS = ("None", "M", "R", "O")
LABEL_HELP = {
    "None": "closed, relaxed",
    "M": "lips pressed (m/b/p)",
    "R": "open, spread",
    "O": "open, rounded",
}

INTRO = """\
# Talking heads with style
**Style Transfer for 2D Talking Head Generation** (Pham et al., CVPR Workshops 2024).
Upload a **portrait**, an **audio clip** (speech or singing) and a **style clip** — a video of
someone talking or singing (ballad, rap, opera…). The app finds the clip's four key mouth
shapes (**None / M / R / O**), maps each onto the portrait (**Intermediate Style Patterns**),
turns the audio into facial motion, *re-weights* the motion generator so the motion takes on the
clip's style (test-time style transfer), and renders the talking head.
"""


# -- ZeroGPU -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GpuBudget:
    """How long a request may hold a ZeroGPU device: ``spaces.GPU`` cuts a call off when its
    reservation runs out, and a longer reservation than needed moves the user down the queue.

    The reservation is the request's expected wall time inside the GPU function, times ``margin``:
    a start-up, then for every style clip its analysis, the style-transfer steps and rendering +
    encoding per second of (capped) audio. The per-stage costs are upper bounds of the stage times
    that ``benchmarks/bench_pipeline.py`` prints on a 2-core CPU (warp) and the liveportrait
    renderer's GPU target; the benchmark also prints each request's reservation next to its
    measured time. Requests above ``max_seconds`` are refused with a message before the GPU is
    asked for.
    """

    start_s: float = 10.0  # the models onto the device, CUDA warm-up
    style_clip_s: float = 6.0  # one style clip's analysis (up to 30 s of video, landmarks on the CPU)
    step_s: float = 0.08  # one style-transfer step (fixed-size batches: independent of the audio length)
    render_s: tuple[tuple[str, float], ...] = (("warp", 0.8), ("liveportrait", 1.0))  # per second of audio
    margin: float = 1.5  # safety factor on the sum
    max_seconds: int = 300  # the longest reservation ZeroGPU grants (not documented by Hugging Face)

    def seconds(self, *, audio_seconds: float, steps: int, renderer: str, clips: int = 1) -> int:
        """Seconds to reserve for ``clips`` generations of ``audio_seconds`` each."""
        per_second = dict(self.render_s).get(renderer, max(v for _, v in self.render_s))
        per_clip = self.style_clip_s + steps * self.step_s + audio_seconds * per_second
        return int(math.ceil(self.margin * (self.start_s + clips * per_clip)))


GPU_BUDGET = GpuBudget()


def on_zero_gpu() -> bool:
    """True on a Hugging Face ZeroGPU Space (the variable the ``spaces`` package reads)."""
    return os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "t", "true")


def zero_gpu(estimate: Callable[[inspect.BoundArguments], int]) -> Callable[[Callable], Callable]:
    """``spaces.GPU`` around a generator handler on ZeroGPU, sized per request; a no-op elsewhere.

    ``estimate`` reads the handler's bound arguments and returns the seconds to reserve. A request
    that needs more than :attr:`GpuBudget.max_seconds` is refused with a message that says what to
    shorten, before a device is reserved."""

    def decorate(fn: Callable) -> Callable:
        if not on_zero_gpu():
            return fn
        import spaces  # type: ignore[import-not-found]

        signature = inspect.signature(fn)

        def need(*args: Any, **kwargs: Any) -> int:
            return estimate(signature.bind(*args, **kwargs))

        on_gpu = spaces.GPU(duration=lambda *a, **k: min(need(*a, **k), GPU_BUDGET.max_seconds))(fn)

        @functools.wraps(fn)
        def handler(*args: Any, **kwargs: Any) -> Iterator:
            seconds = need(*args, **kwargs)
            if seconds > GPU_BUDGET.max_seconds:
                raise gr.Error(
                    f"This request needs about {seconds} s of GPU time, more than the {GPU_BUDGET.max_seconds} s a "
                    "ZeroGPU Space grants: use shorter audio, fewer style-transfer steps or fewer style clips."
                )
            yield from on_gpu(*args, **kwargs)

        return handler

    return decorate


# -- formatting ---------------------------------------------------------------------------------


def reference_gallery(preview: StylePreview | GenerationResult) -> list[tuple[str, str]]:
    out = []
    for ref in preview.references:
        flag = " ⚠ low confidence" if ref.low_confidence else ""
        caption = f"{ref.label} ({LABEL_HELP[ref.label]}) · t={ref.time:.2f}s · score {ref.score:.2f}{flag}"
        out.append((cached_image(ref.crop), caption))
    return out


def isp_gallery(preview: StylePreview | GenerationResult) -> list[tuple[str, str]]:
    return [(cached_image(img), f"ISP {ref.label}") for img, ref in zip(preview.isps, preview.references)]


METRICS_HEADERS = ["metric", "clip", "before", "after", "change"]


def metrics_table(result: GenerationResult) -> list[list[Any]]:
    """What the style looks like — statistics of the clip's motion and of the motion before and
    after the transfer (mouth opening, width, rounding, brows, head turns) — then SLD / SLV / SMD
    against the clip (lower is closer): on the expression alone, then as the video moves (still
    head before, the clip's head motion after)."""

    def change(before: float, after: float) -> str:
        return f"{(after - before) / before * 100:+.1f} %" if before else "–"

    stats = result.statistics
    rows = [
        [label, round(stats["clip"][key], 3), round(stats["before"][key], 3), round(stats["after"][key], 3),
         change(stats["before"][key], stats["after"][key])]
        for key, label in metrics.REQUEST_STATISTICS
    ]
    for label, before, after in result.metric_rows():
        rows.append([label + " (lower: closer)", "", round(before, 4), round(after, 4), change(before, after)])
    return rows


def compare_table(named: list[tuple[str, str]], results: list[GenerationResult]) -> list[list[Any]]:
    """One row per compared style clip: its name and SLD / SLV / SMD after the transfer."""
    return [
        [f"{k}: {Path(s).stem}", *(round(r.metrics["after"][m], 4) for m in ("SLD", "SLV", "SMD"))]
        for (k, s), r in zip(named, results)
    ]


def mouth_plot(result: GenerationResult):
    """Mouth opening over time before/after the transfer, with the style clip's range."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from talkinghead.geometry import mouth_features

    t = np.arange(len(result.phi_mg)) / result.fps
    before = mouth_features(result.phi_mg).opening
    after = mouth_features(result.phi_styled).opening
    style = mouth_features(result.phi_s).opening
    fig, ax = plt.subplots(figsize=(8, 2.8), dpi=100)
    ax.axhspan(
        np.percentile(style, 5), np.percentile(style, 95), color="tab:orange", alpha=0.15, label="style clip (5–95 %)"
    )
    ax.plot(t, before, color="tab:gray", lw=1.2, label="before transfer")
    ax.plot(t, after, color="tab:blue", lw=1.6, label="after transfer")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("mouth opening")
    ax.legend(loc="upper right", fontsize=8)
    ax.margins(x=0)
    fig.tight_layout()
    return fig


def _summary_file(result: GenerationResult) -> Path:
    path = result.video_path.parent / "result.json"
    path.write_text(json.dumps(result.summary(), indent=2))
    return path


def hand_over(path: str | Path | None) -> str | None:
    """A copy of a result file in Gradio's cache, where Gradio serves it and deletes it (after an
    hour, ``delete_cache``, and when the server stops); the request folder can go at once."""
    if path is None:
        return None
    from gradio.processing_utils import save_file_to_cache
    from gradio.utils import get_upload_folder

    return save_file_to_cache(path, get_upload_folder())


def cached_image(image: np.ndarray) -> str:
    """An image (H, W, 3 uint8) as a WebP file handed to Gradio's cache (:func:`hand_over`).

    Gradio's own array-to-cache step rewrites its content-named file in place each time, so when
    two requests show the same image (the same style clip's references) one browser's download
    could read it truncated; a handed-over file is written once and renamed into place."""
    from PIL import Image

    with tempfile.TemporaryDirectory(prefix="talkinghead-image-") as folder:
        path = Path(folder) / "image.webp"
        Image.fromarray(image).save(path, "webp")
        return hand_over(path)


def _status(renderer: str, warnings: list[str], extra: str = "") -> str:
    lines = [f"**Renderer:** `{renderer}`" + (f" · {extra}" if extra else "")]
    lines += [f"⚠ {w}" for w in warnings]
    return "\n\n".join(lines)


# -- the app ------------------------------------------------------------------------------------


def portrait_input(**kwargs: Any) -> gr.Image:
    """A ``gr.Image`` (file path) that hands an unreadable upload to the handler, which says what is
    wrong, instead of Gradio's generic "could not preprocess" error. (An instance override rather
    than a subclass: Gradio writes a ``.pyi`` stub beside the module of every component subclass.)"""
    image = gr.Image(type="filepath", sources=["upload"], **kwargs)
    strict = image.preprocess

    def lenient(payload):
        try:
            return strict(payload)
        except (OSError, SyntaxError, ValueError):
            return str(payload.path) if payload is not None and payload.path else None

    image.preprocess = lenient
    return image


def _user_error(exc: Exception) -> gr.Error:
    if isinstance(exc, gr.Error):
        return exc
    if isinstance(exc, InputError):
        return gr.Error(str(exc))
    log.exception("request failed")
    return gr.Error("Something went wrong while generating. Try again, or try other files; the server log has details.")


def user_errors(handler: Callable) -> Callable:
    """``handler`` (a function or a generator function) with every failure turned into a message
    for the user, never a traceback."""
    if inspect.isgeneratorfunction(handler):

        @functools.wraps(handler)
        def streaming(*args: Any, **kwargs: Any) -> Iterator:
            try:
                yield from handler(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - every failure becomes a message
                raise _user_error(exc) from None

        return streaming

    @functools.wraps(handler)
    def plain(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a message
            raise _user_error(exc) from None

    return plain


@contextlib.contextmanager
def request_folder(kind: str) -> Iterator[Path]:
    """A private folder for one request's files, deleted when the handler lets go of it.

    Result files are handed to Gradio's cache before that (see :func:`hand_over`), so no returned
    path can outlive its file, however the handler is run (Gradio's own loop, or ZeroGPU's
    worker, which drains a generator ahead of the consumer)."""
    with tempfile.TemporaryDirectory(prefix=f"talkinghead-{kind}-") as workdir:
        yield Path(workdir)


def _require(**values: Any) -> None:
    names = {
        "portrait": "Upload a portrait photo (one clearly visible face).",
        "audio": "Upload or record an audio clip (speech or singing).",
        "style": "Upload a style clip: a video of someone talking or singing.",
    }
    for name, value in values.items():
        if value in (None, "", []):
            raise InputError(names[name])


@dataclass(frozen=True)
class Examples:
    """The example inputs shipped in ``examples/`` (what is there)."""

    portrait: Path | None
    audio: tuple[Path, ...]  # speech first, then song
    styles: tuple[Path, ...]  # ballad / opera / rap ...

    @classmethod
    def find(cls, folder: Path = EXAMPLES) -> Examples:
        portrait = folder / "portrait_astronaut.png"
        return cls(
            portrait=portrait if portrait.exists() else None,
            audio=tuple(p for p in (folder / "speech_en.wav", folder / "song_vowels.wav") if p.exists()),
            styles=tuple(sorted(folder.glob("style_*.mp4"))),
        )


def audio_seconds(pipeline: Pipeline, audio: Any) -> float:
    """The audio's length as the pipeline will use it (after the cap); the cap when unknown."""
    cap = pipeline.config.max_audio_seconds
    try:
        duration = media.probe(audio).duration if audio else None
    except InputError:
        return 0.0  # the handler refuses the file before anything slow runs
    return cap if duration is None else min(duration, cap)


def generate_tab(pipeline: Pipeline, examples: Examples) -> None:
    """The Generate tab: inputs, settings, Analyse (references and ISPs) and Generate."""
    renderers = list(pipeline.renderers)

    def renderer_name(renderer: str) -> str:
        return pipeline.get_renderer(renderer).name if renderer in pipeline.renderers else pipeline.renderer.name

    def gpu_seconds(request: inspect.BoundArguments) -> int:
        a = request.arguments
        return GPU_BUDGET.seconds(
            audio_seconds=audio_seconds(pipeline, a["audio"]),
            steps=int(a["steps"] or 0),
            renderer=renderer_name(a["renderer"]),
        )

    @user_errors
    def analyse(portrait, style, renderer, progress=gr.Progress()):
        _require(portrait=portrait, style=style)
        preview = pipeline.analyse(portrait, style, renderer=renderer, progress=lambda s, f: progress(f, desc=s))
        for w in preview.warnings:
            gr.Warning(w)
        return reference_gallery(preview), isp_gallery(preview), _status(renderer, preview.warnings)

    @zero_gpu(gpu_seconds)
    @user_errors
    def generate(
        portrait, audio, style, strength, head_motion, blinks, steps, fps, size, renderer, seed, framing="full",
        progress=gr.Progress(),
    ) -> Iterator[tuple]:
        _require(portrait=portrait, audio=audio, style=style)
        opts = RequestOptions(
            fps=int(fps),
            strength=float(strength),
            head_motion=float(head_motion),
            blinks=bool(blinks),
            steps=int(steps),
            output_size=int(size) or None,  # 0: the portrait's own size (full), the crop's 512 (face)
            framing=str(framing or "full"),
            seed=int(seed),
            renderer=str(renderer),
        )
        sound = pipeline.load_audio(audio)  # a bad audio file fails now, before the slow stages
        report = lambda s, f: progress(f, desc=s)  # noqa: E731
        preview = pipeline.analyse(portrait, style, renderer=opts.renderer, progress=report)
        for w in preview.warnings:
            gr.Warning(w)
        pending = _status(opts.renderer, preview.warnings, "references ready, generating…")
        yield (reference_gallery(preview), isp_gallery(preview), *[None] * 5, pending)
        with request_folder("request") as workdir:
            result = pipeline.generate(portrait, sound, style, opts, workdir=workdir, progress=report, preview=preview)
            files = [hand_over(p) for p in (result.video_path, result.side_by_side_path, _summary_file(result))]
        timing = ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items())
        yield (
            reference_gallery(result),
            isp_gallery(result),
            mouth_plot(result),
            metrics_table(result),
            *files,
            _status(result.renderer, result.warnings, timing),
        )

    with gr.Row():
        portrait = portrait_input(label="Portrait", height=300)
        audio = gr.Audio(label="Audio (speech or singing)", type="filepath", sources=["upload", "microphone"])
        style = gr.Video(label="Style clip", sources=["upload"], height=300)
    with gr.Accordion("Settings", open=False):
        with gr.Row():
            strength = gr.Slider(
                0, 2, value=1.0, step=0.1, label="Style strength (0 = none, 1 = paper, >1 exaggerated)"
            )
            head_motion = gr.Slider(0, 1.5, value=1.0, step=0.1, label="Head motion")
            blinks = gr.Checkbox(value=True, label="Blinks")
        with gr.Row():
            steps = gr.Slider(
                0, 200, value=RequestOptions.steps, step=10, label="Style-transfer steps",
                info="0: only the clip's average face and mouth-opening spread, no critic steps",
            )
            fps = gr.Dropdown([25, 30], value=25, label="fps")
            framing = gr.Radio(
                [("whole portrait", "full"), ("face (512² crop)", "face")], value="full", label="Framing"
            )
            size = gr.Dropdown(
                [("as the input (≤ 1920)", 0), 256, 384, 512, 768, 1080], value=0, label="Output size (long side, px)"
            )
            renderer = gr.Dropdown(renderers, value=renderers[0], label="Renderer")
            seed = gr.Number(value=0, precision=0, label="Seed")
    with gr.Row():
        analyse_btn = gr.Button("Analyse style", variant="secondary")
        generate_btn = gr.Button("Generate", variant="primary")
    status = gr.Markdown(elem_id="status")
    with gr.Row():
        refs = gr.Gallery(label="Style references None / M / R / O", columns=4, height=240, elem_id="refs")
        isps = gr.Gallery(label="Intermediate Style Patterns", columns=4, height=240, elem_id="isps")
    with gr.Row():
        video = gr.Video(label="Result", elem_id="result", autoplay=False)
        side = gr.Video(label="Style clip | result", elem_id="side")
    with gr.Row():
        plot = gr.Plot(label="Mouth opening before / after style transfer", elem_id="plot")
        table = gr.Dataframe(
            headers=METRICS_HEADERS,
            label="Style: the clip, and the motion before / after the transfer",
            elem_id="metrics",
        )
    report_file = gr.File(label="Result JSON (references, metrics, timings)")
    if examples.portrait and examples.audio and examples.styles:
        first, *others = examples.audio
        gr.Examples(
            [[str(examples.portrait), str(first), str(s)] for s in examples.styles]
            + [[str(examples.portrait), str(a), str(examples.styles[0])] for a in others],
            inputs=[portrait, audio, style],
            label="Examples (portrait · speech or song · ballad / rap / opera style clip)",
        )
    analyse_btn.click(analyse, [portrait, style, renderer], [refs, isps, status], api_name="analyse")
    generate_btn.click(
        generate,
        [portrait, audio, style, strength, head_motion, blinks, steps, fps, size, renderer, seed, framing],
        [refs, isps, plot, table, video, side, report_file, status],
        api_name="generate",
        concurrency_id="generation",
    )


def compare_tab(pipeline: Pipeline, examples: Examples) -> None:
    """The Compare tab: one portrait and audio, up to three style clips, each result as it is done."""

    def gpu_seconds(request: inspect.BoundArguments) -> int:
        a = request.arguments
        clips = sum(1 for k in ("style_a", "style_b", "style_c") if a[k])
        return GPU_BUDGET.seconds(
            audio_seconds=audio_seconds(pipeline, a["audio"]),
            steps=RequestOptions.steps,
            renderer=pipeline.renderer.name,
            clips=max(1, clips),
        )

    @zero_gpu(gpu_seconds)
    @user_errors
    def compare(
        portrait, audio, style_a, style_b, style_c, strength, head_motion, seed, progress=gr.Progress()
    ) -> Iterator[tuple]:
        """Each result appears as soon as it is done; the grid of all of them comes last."""
        named = [(k, s) for k, s in zip("ABC", (style_a, style_b, style_c)) if s]
        _require(portrait=portrait, audio=audio, style=named)
        opts = RequestOptions(
            strength=float(strength), head_motion=float(head_motion), seed=int(seed), side_by_side=False,
            output_size=512,  # three results side by side in the grid
        )
        sound = pipeline.load_audio(audio)  # decoded once for every clip
        with request_folder("compare") as workdir:
            results: list[GenerationResult] = []
            videos: list[str | None] = []
            for i, (name, style) in enumerate(named):
                stage = ["start"]

                def report(s: str, f: float, i: int = i, name: str = name, stage: list = stage) -> None:
                    stage[0] = s
                    progress((i + f) / len(named), desc=f"style clip {name}: {s}")

                try:
                    result = pipeline.generate(
                        portrait, sound, style, opts, workdir=workdir / f"clip{name}", progress=report
                    )
                except InputError as exc:
                    if stage[0] != "style references":
                        raise
                    raise InputError(f"Style clip {name}: {exc}") from None
                results.append(result)
                videos.append(hand_over(result.video_path))
                yield (*videos, *[None] * (3 - len(videos)), None, compare_table(named, results))
            labels = [f"{k}: {Path(s).stem}" for k, s in named]
            grid = montage.grid_video([r.video_path for r in results], workdir / "compare.mp4", labels=labels)
            grid = hand_over(grid)
        yield (*videos, *[None] * (3 - len(videos)), grid, compare_table(named, results))

    gr.Markdown("One portrait and one audio clip, up to three style clips (e.g. ballad / rap / opera) side by side.")
    with gr.Row():
        portrait = portrait_input(label="Portrait", height=240)
        audio = gr.Audio(label="Audio", type="filepath", sources=["upload", "microphone"])
    with gr.Row():
        styles = [gr.Video(label=f"Style clip {k}", sources=["upload"], height=200) for k in "ABC"]
    with gr.Row():
        strength = gr.Slider(0, 2, value=1.0, step=0.1, label="Style strength")
        head = gr.Slider(0, 1.5, value=1.0, step=0.1, label="Head motion")
        seed = gr.Number(value=0, precision=0, label="Seed")
    compare_btn = gr.Button("Compare", variant="primary")
    with gr.Row():
        videos = [gr.Video(label=f"Result {k}", elem_id=f"compare-{k}") for k in "ABC"]
    grid = gr.Video(label="All three side by side", elem_id="grid")
    table = gr.Dataframe(
        headers=["style clip", "SLD", "SLV", "SMD"], label="Style metrics after transfer", elem_id="compare-table"
    )
    if examples.portrait and examples.audio and len(examples.styles) >= 3:
        gr.Examples(
            [[str(examples.portrait), str(examples.audio[0]), *map(str, examples.styles[:3])]],
            inputs=[portrait, audio, *styles],
            label="Example: ballad / rap / opera",
        )
    compare_btn.click(
        compare,
        [portrait, audio, *styles, strength, head, seed],
        [*videos, grid, table],
        api_name="compare",
        concurrency_id="generation",
    )


def build_demo(pipeline: Pipeline, *, concurrency: int = 4, queue_size: int = 12) -> gr.Blocks:
    """The Gradio UI around one :class:`Pipeline` (models loaded once, shared by every request).

    At most ``concurrency`` generations (Generate and Compare together) run at once; up to
    ``queue_size`` more wait in the queue, each shown its position; past that a request is
    refused with Gradio's "queue is full" message."""
    examples = Examples.find()
    with gr.Blocks(title="Talking heads with style", delete_cache=(3600, 3600)) as demo:
        gr.Markdown(INTRO)
        gr.Markdown(f"**Active renderer:** `{pipeline.renderer.name}` — {pipeline.renderer_reason}", elem_id="banner")
        with gr.Tab("Generate"):
            generate_tab(pipeline, examples)
        with gr.Tab("Compare styles"):
            compare_tab(pipeline, examples)
    demo.queue(default_concurrency_limit=concurrency, max_size=queue_size)
    return demo


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Talking heads with style: the Gradio app")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 for all)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--share", action="store_true", help="create a public Gradio link")
    parser.add_argument("--renderer", default="auto", choices=["auto", "warp", "liveportrait"])
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--max-audio-seconds", type=float, default=60.0,
                        help="longer audio is trimmed to this, with a warning (default 60)")
    parser.add_argument("--cpu-threads", type=int, default=None,
                        help="torch threads on the CPU (default: the cores, at most 4; 1 is steadier on shared cores)")
    parser.add_argument("--concurrency", type=int, default=4, help="generations that run at once (default 4)")
    parser.add_argument("--queue-size", type=int, default=12,
                        help="requests that may wait for a free slot; more are refused (default 12)")
    args = parser.parse_args(argv)
    if args.max_audio_seconds <= 0 or args.concurrency < 1 or args.queue_size < 0 or (args.cpu_threads or 1) < 1:
        parser.error(
            "--max-audio-seconds, --concurrency and --cpu-threads must be positive, --queue-size not negative"
        )
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    pipeline = Pipeline(
        PipelineConfig(
            renderer=args.renderer,
            device=args.device,
            max_audio_seconds=args.max_audio_seconds,
            cpu_threads=args.cpu_threads,
        )
    )
    demo = build_demo(pipeline, concurrency=args.concurrency, queue_size=args.queue_size)
    demo.launch(server_name=args.host, server_port=args.port, share=args.share, show_error=True)


if __name__ == "__main__":
    main()
