"""Gradio app: Style Transfer for 2D Talking Head Generation.

Upload a portrait, an audio clip and a style clip; see the four style references (None / M / R / O)
and their Intermediate Style Patterns; run the test-time style transfer and watch the result.

    python app.py [--host 0.0.0.0] [--port 7860] [--share] [--renderer auto|warp|liveportrait] [--device auto|cpu|cuda]
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

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


def _gpu(duration: Callable[..., int]) -> Callable[[Callable], Callable]:
    """``spaces.GPU`` on Hugging Face ZeroGPU Spaces, a no-op elsewhere."""
    try:
        import spaces  # type: ignore[import-not-found]
    except ImportError:
        return lambda fn: fn
    return lambda fn: spaces.GPU(duration=duration)(fn)


def _gpu_seconds(*args: Any, **kwargs: Any) -> int:
    """GPU time to reserve: grows with the audio length and the transfer steps (capped)."""
    steps = int(kwargs.get("steps") or (args[6] if len(args) > 6 else RequestOptions.steps))
    return int(min(300, 60 + steps))


# -- formatting ---------------------------------------------------------------------------------


def reference_gallery(preview: StylePreview | GenerationResult) -> list[tuple[np.ndarray, str]]:
    out = []
    for ref in preview.references:
        flag = " ⚠ low confidence" if ref.low_confidence else ""
        caption = f"{ref.label} ({LABEL_HELP[ref.label]}) · t={ref.time:.2f}s · score {ref.score:.2f}{flag}"
        out.append((ref.crop, caption))
    return out


def isp_gallery(preview: StylePreview | GenerationResult) -> list[tuple[np.ndarray, str]]:
    return [(img, f"ISP {ref.label}") for img, ref in zip(preview.isps, preview.references)]


def metrics_table(result: GenerationResult) -> list[list[Any]]:
    """SLD / SLV / SMD against the style clip before and after the transfer: on the expression
    alone, then as the video moves (still head before, the clip's head motion after)."""
    rows = []
    for label, before, after in result.metric_rows():
        change = (after - before) / before * 100 if before else 0.0
        rows.append([label, round(before, 4), round(after, 4), f"{change:+.1f} %"])
    return rows


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


def _summary_file(result: GenerationResult) -> str:
    path = result.video_path.parent / "result.json"
    path.write_text(json.dumps(result.summary(), indent=2))
    return str(path)


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
    if isinstance(exc, InputError):
        return gr.Error(str(exc))
    log.exception("request failed")
    return gr.Error("Something went wrong while generating. Try again, or try other files; the server log has details.")


def _require(**values: Any) -> None:
    names = {
        "portrait": "Upload a portrait photo (one clearly visible face).",
        "audio": "Upload or record an audio clip (speech or singing).",
        "style": "Upload a style clip: a video of someone talking or singing.",
    }
    for name, value in values.items():
        if value in (None, "", []):
            raise InputError(names[name])


def build_demo(pipeline: Pipeline) -> gr.Blocks:
    """The Gradio UI around one :class:`Pipeline` (models loaded once, shared by every request)."""
    renderers = list(pipeline.renderers)

    def options(strength, head_motion, blinks, steps, fps, size, renderer, seed) -> RequestOptions:
        return RequestOptions(
            fps=int(fps),
            strength=float(strength),
            head_motion=float(head_motion),
            blinks=bool(blinks),
            steps=int(steps),
            output_size=int(size),
            seed=int(seed),
            renderer=str(renderer),
        )

    def analyse(portrait, style, renderer, progress=gr.Progress()):
        try:
            _require(portrait=portrait, style=style)
            preview = pipeline.analyse(portrait, style, renderer=renderer, progress=lambda s, f: progress(f, desc=s))
        except Exception as exc:  # noqa: BLE001 - every failure becomes a message, never a traceback
            raise _user_error(exc) from None
        for w in preview.warnings:
            gr.Warning(w)
        return reference_gallery(preview), isp_gallery(preview), _status(renderer, preview.warnings)

    @_gpu(_gpu_seconds)
    def generate(
        portrait, audio, style, strength, head_motion, blinks, steps, fps, size, renderer, seed, progress=gr.Progress()
    ) -> Iterator[tuple]:
        workdir = Path(tempfile.mkdtemp(prefix="talkinghead-request-"))
        try:
            _require(portrait=portrait, audio=audio, style=style)
            opts = options(strength, head_motion, blinks, steps, fps, size, renderer, seed)
            pipeline.load_audio(audio)  # a bad audio file fails now, before the slow stages
            report = lambda s, f: progress(f, desc=s)  # noqa: E731
            preview = pipeline.analyse(portrait, style, renderer=opts.renderer, progress=report)
            for w in preview.warnings:
                gr.Warning(w)
            yield (
                reference_gallery(preview),
                isp_gallery(preview),
                None,
                None,
                None,
                None,
                None,
                _status(opts.renderer, preview.warnings, "references ready, generating…"),
            )
            result = pipeline.generate(portrait, audio, style, opts, workdir=workdir, progress=report, preview=preview)
            timing = ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items())
            yield (
                reference_gallery(result),
                isp_gallery(result),
                mouth_plot(result),
                metrics_table(result),
                str(result.video_path),
                str(result.side_by_side_path) if result.side_by_side_path else None,
                _summary_file(result),
                _status(result.renderer, result.warnings, timing),
            )
        except Exception as exc:  # noqa: BLE001
            raise _user_error(exc) from None
        finally:
            # Gradio has copied every yielded file into its own cache by now.
            shutil.rmtree(workdir, ignore_errors=True)

    def compare(portrait, audio, style_a, style_b, style_c, strength, head_motion, seed, progress=gr.Progress()):
        workdir = Path(tempfile.mkdtemp(prefix="talkinghead-compare-"))
        try:
            styles = [s for s in (style_a, style_b, style_c) if s]
            _require(portrait=portrait, audio=audio, style=styles)
            opts = RequestOptions(
                strength=float(strength), head_motion=float(head_motion), seed=int(seed), side_by_side=False
            )
            results = []
            for i, style in enumerate(styles):
                report = lambda s, f, i=i: progress((i + f) / len(styles), desc=f"clip {i + 1}: {s}")  # noqa: E731
                results.append(
                    pipeline.generate(portrait, audio, style, opts, workdir=workdir / f"clip{i}", progress=report)
                )
            grid = workdir / "compare.mp4"
            pipeline.grid_video([r.video_path for r in results], grid, labels=[Path(s).stem for s in styles])
            videos = [str(r.video_path) for r in results] + [None] * (3 - len(results))
            table = [
                [Path(s).stem, *(round(r.metrics["after"][k], 4) for k in ("SLD", "SLV", "SMD"))]
                for s, r in zip(styles, results)
            ]
            return (*videos, str(grid), table)
        except Exception as exc:  # noqa: BLE001
            raise _user_error(exc) from None
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    example_portrait = EXAMPLES / "portrait_astronaut.png"
    example_audio = [p for p in (EXAMPLES / "speech_en.wav", EXAMPLES / "song_vowels.wav") if p.exists()]
    example_styles = sorted(EXAMPLES.glob("style_*.mp4"))

    with gr.Blocks(title="Talking heads with style", delete_cache=(3600, 3600)) as demo:
        gr.Markdown(INTRO)
        gr.Markdown(f"**Active renderer:** `{pipeline.renderer.name}` — {pipeline.renderer_reason}", elem_id="banner")
        with gr.Tab("Generate"):
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
                    steps = gr.Slider(0, 200, value=RequestOptions.steps, step=10, label="Style-transfer steps")
                    fps = gr.Dropdown([25, 30], value=25, label="fps")
                    size = gr.Dropdown([256, 384, 512, 768], value=512, label="Output size (px)")
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
                    headers=["metric", "before", "after", "change"],
                    label="Style metrics vs the clip (lower is closer)",
                    elem_id="metrics",
                )
            report_file = gr.File(label="Result JSON (references, metrics, timings)")
            if example_portrait.exists() and example_audio and example_styles:
                gr.Examples(
                    [[str(example_portrait), str(a), str(s)] for a in example_audio[:1] for s in example_styles]
                    + [[str(example_portrait), str(a), str(example_styles[0])] for a in example_audio[1:]],
                    inputs=[portrait, audio, style],
                    label="Examples (portrait · speech or song · ballad / rap / opera style clip)",
                )
            analyse_btn.click(analyse, [portrait, style, renderer], [refs, isps, status], api_name="analyse")
            generate_btn.click(
                generate,
                [portrait, audio, style, strength, head_motion, blinks, steps, fps, size, renderer, seed],
                [refs, isps, plot, table, video, side, report_file, status],
                api_name="generate",
            )
        with gr.Tab("Compare styles"):
            gr.Markdown(
                "One portrait and one audio clip, up to three style clips (e.g. ballad / rap / opera) side by side."
            )
            with gr.Row():
                c_portrait = portrait_input(label="Portrait", height=240)
                c_audio = gr.Audio(label="Audio", type="filepath", sources=["upload", "microphone"])
            with gr.Row():
                c_styles = [gr.Video(label=f"Style clip {k}", sources=["upload"], height=200) for k in "ABC"]
            with gr.Row():
                c_strength = gr.Slider(0, 2, value=1.0, step=0.1, label="Style strength")
                c_head = gr.Slider(0, 1.5, value=1.0, step=0.1, label="Head motion")
                c_seed = gr.Number(value=0, precision=0, label="Seed")
            compare_btn = gr.Button("Compare", variant="primary")
            with gr.Row():
                c_videos = [gr.Video(label=f"Result {k}") for k in "ABC"]
            c_grid = gr.Video(label="All three side by side", elem_id="grid")
            c_table = gr.Dataframe(headers=["style clip", "SLD", "SLV", "SMD"], label="Style metrics after transfer")
            if example_portrait.exists() and example_audio and len(example_styles) >= 3:
                gr.Examples(
                    [[str(example_portrait), str(example_audio[0]), *map(str, example_styles[:3])]],
                    inputs=[c_portrait, c_audio, *c_styles],
                    label="Example: ballad / rap / opera",
                )
            compare_btn.click(
                compare,
                [c_portrait, c_audio, *c_styles, c_strength, c_head, c_seed],
                [*c_videos, c_grid, c_table],
                api_name="compare",
            )
    demo.queue(default_concurrency_limit=1, max_size=16)
    return demo


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Talking heads with style: the Gradio app")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 for all)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--share", action="store_true", help="create a public Gradio link")
    parser.add_argument("--renderer", default="auto", choices=["auto", "warp", "liveportrait"])
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    pipeline = Pipeline(PipelineConfig(renderer=args.renderer, device=args.device))
    demo = build_demo(pipeline)
    demo.launch(server_name=args.host, server_port=args.port, share=args.share, show_error=True)


if __name__ == "__main__":
    main()
