"""End-to-end pipeline: portrait + audio + style clip → styled talking-head video (paper Fig. 2).

One :class:`Pipeline` is built once with its models (landmarker, motion generator, renderer)
and then serves any number of requests; each request works only on its own data and its own
working directory, so concurrent requests never see each other's files or state.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from talkinghead import geometry, media, metrics, montage, runtime
from talkinghead.errors import InputError
from talkinghead.face import get_landmarker
from talkinghead.geometry import close_mouth
from talkinghead.motion import encode_audio, load_motion_generator
from talkinghead.render import FrameTargets, Renderer, SourceFace
from talkinghead.render.compose import FrameView
from talkinghead.render.renderer_choice import select_renderer
from talkinghead.style import PoseTrack, StyleAnalysis, StyleConfig, StyleReference, analyse_style
from talkinghead.transfer import TransferConfig, TransferResult, transfer_style

log = logging.getLogger(__name__)

Progress = Callable[[str, float], None]  # (stage name, fraction of the whole request done)

# Portrait faces, brows to chin in the photo's pixels: below MIN_FACE_PX the 68 landmarks are
# guesses and the request is refused; below SMALL_FACE_PX it runs with a warning (the 512² face
# crop is an upscale of a few dozen pixels). The example portrait's face is 91 px.
MIN_FACE_PX = 24
SMALL_FACE_PX = 64
MAX_FULL_SIDE = 1920  # "full" framing: the portrait at its own resolution, up to this long side
FRAMINGS = ("full", "face")
# x264 preset of the result videos: "veryfast" encodes about twice as fast as "medium" at the
# same crf; the encoders share the CPU with rendering.
ENCODER_PRESET = "veryfast"
# Diamond motion search: a head moving on a still picture needs no wider search; a third less
# encoder time than veryfast's hexagon at the same size and quality. The two encoders share the
# cores the renderer leaves (one each on 2 cores: more threads only add hand-offs there).
# Smaller dead zones (x264's defaults: 21 inter, 11 intra): veryfast has no trellis, so the dead zone
# decides which small coefficients survive, and the defaults zero the fine texture of lips, teeth and
# skin; these keep the mouth as sharp as the rendered frames (benchmarks/realism.py) for a third more bytes.
ENCODER_PARAMS = f"me=dia:deadzone-inter=11:deadzone-intra=6:threads={max(1, (runtime.cpu_cores() - 1) // 2)}"
# Result frames past this many pixels take x264 about as long as the renderer takes to draw them on
# one thread (a 1920² frame: 18 ms against 12; a 512² frame 2 ms). Their encoder refines motion
# vectors with one pass fewer (subme 1: a sixth less time, 8 % more bytes, the same PSNR over the
# head), and on a CPU whose every core runs torch the renderer leaves a core to the encoders.
HEAVY_ENCODE_PX = 2_000_000
HEAVY_ENCODER_PARAMS = ENCODER_PARAMS + ":subme=1"
SIDE_BY_SIDE_HEIGHT = 512  # the style clip | result video is at most this tall (a comparison, not the result)


@dataclass(frozen=True)
class PipelineConfig:
    """Built once per process (models and devices)."""

    renderer: str = "auto"  # "auto" | "warp" | "liveportrait"
    device: str = "auto"  # "auto" | "cpu" | "cuda"
    landmarks: str = "auto"  # landmark backend: "auto" | "mediapipe" | "fan"
    max_audio_seconds: float = 600.0  # longer audio is trimmed with a warning (the app sets its own cap)
    max_style_seconds: float = StyleConfig.max_seconds  # longer style clips are analysed up to this
    # Torch threads on a CPU-only run; None: runtime.cpu_threads() (the cores, at most 4). One
    # request then uses every core; requests run at once share them (a little slower in total
    # than one thread each; benchmarks/bench_pipeline.py --threads measures both).
    cpu_threads: int | None = None


@dataclass(frozen=True)
class RequestOptions:
    """Per-request settings (what the UI and CLI expose)."""

    fps: int = 25  # output frame rate
    strength: float = 1.0  # style strength: 0 = no transfer, 1 = paper, >1 = exaggerated
    head_motion: float = 1.0  # 0 = still head, 1 = the clip's head motion
    blinks: bool = True  # blink with the clip's blink statistics
    steps: int = TransferConfig.steps  # style-transfer fine-tuning steps
    seed: int = 0
    framing: str = "full"  # "full": the whole portrait; "face": the aligned 512² face crop
    output_size: int | None = None  # longest side of the output video, pixels; None: the portrait's
    # own (up to MAX_FULL_SIDE) for "full", the crop's 512 for "face"
    side_by_side: bool = True  # also write style clip | result
    renderer: str = "default"  # "default" (the pipeline's choice) or one of Pipeline.renderers

    def __post_init__(self) -> None:
        if self.fps not in (24, 25, 30, 50, 60):
            raise InputError(f"fps must be one of 24, 25, 30, 50, 60 (got {self.fps})")
        if not 0.0 <= self.strength <= 3.0:
            raise InputError(f"style strength must be between 0 and 3 (got {self.strength})")
        if not 0.0 <= self.head_motion <= 2.0:
            raise InputError(f"head motion must be between 0 and 2 (got {self.head_motion})")
        if not 0 <= self.steps <= 500:
            raise InputError(f"style-transfer steps must be between 0 and 500 (got {self.steps})")
        if self.framing not in FRAMINGS:
            raise InputError(f"framing must be one of {', '.join(FRAMINGS)} (got {self.framing!r})")
        if self.output_size is not None and not 128 <= self.output_size <= 2048:
            raise InputError(f"output size must be between 128 and 2048 pixels (got {self.output_size})")


@dataclass(frozen=True)
class LoadedAudio:
    """A request's audio, decoded once: 16 kHz mono samples and what was changed (a trim)."""

    samples: np.ndarray  # (N,) float32 at media.SAMPLE_RATE
    warnings: tuple[str, ...] = ()


AudioInput = str | Path | tuple[int, np.ndarray] | LoadedAudio  # a file, (rate, samples), or decoded


@dataclass
class StylePreview:
    """The "Analyse style" result: references and ISPs, before any audio is involved."""

    style: StyleAnalysis
    source: SourceFace
    isps: list[np.ndarray]
    timings: dict[str, float]
    warnings: list[str]
    renderer: str

    @property
    def references(self) -> list[StyleReference]:
        return self.style.references


@dataclass
class GenerationResult:
    """Everything one request produced."""

    references: list[StyleReference]  # None, M, R, O
    isps: list[np.ndarray]  # four 512² RGB images, same order
    transfer: TransferResult  # the un-styled and styled motion (T×68×3, canonical frame), losses
    phi_s: np.ndarray  # style clip motion at the output fps
    targets: FrameTargets  # what the renderer drew, frame by frame: canonical points, head pose, blinks
    video_path: Path  # H.264 + AAC mp4, the portrait talking
    side_by_side_path: Path | None  # style clip | result
    metrics: dict[str, dict[str, float]]  # SLD, SLV, SMD before/after the transfer, see metrics.request_scores
    statistics: dict[str, dict[str, float]]  # style statistics of the clip, before, after: metrics.request_statistics
    timings: dict[str, float]  # seconds per stage
    renderer: str
    fps: int
    warnings: list[str] = field(default_factory=list)

    @property
    def phi_mg(self) -> np.ndarray:
        """T×68×3 un-styled motion (canonical frame)."""
        return self.transfer.unstyled

    @property
    def phi_styled(self) -> np.ndarray:
        """T×68×3 styled motion."""
        return self.transfer.styled

    def metric_rows(self) -> list[tuple[str, float, float]]:
        """``(label, before, after)`` for SLD, SLV, SMD on the expression, then with head motion."""
        return [
            (name + label, self.metrics["before" + suffix][name], self.metrics["after" + suffix][name])
            for suffix, label in (("", ""), ("_with_head", " + head motion"))
            for name in ("SLD", "SLV", "SMD")
        ]

    def summary(self) -> dict:
        """JSON-ready description (references, metrics, timings) without the arrays."""
        return {
            "renderer": self.renderer,
            "fps": self.fps,
            "frames": int(len(self.phi_styled)),
            "video": self.video_path.name,
            "side_by_side": self.side_by_side_path.name if self.side_by_side_path else None,
            "references": [
                {
                    "label": r.label,
                    "frame_index": int(r.frame_index),
                    "time": round(float(r.time), 3),
                    "score": round(float(r.score), 4),
                    "confidence": round(float(r.confidence), 3),
                    "low_confidence": bool(r.low_confidence),
                }
                for r in self.references
            ],
            "metrics": self.metrics,
            "style_statistics": self.statistics,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "warnings": list(self.warnings),
        }


class Pipeline:
    """Models loaded once; :meth:`generate` per request."""

    def __init__(self, config: PipelineConfig = PipelineConfig()) -> None:
        self.config = config
        self.device = runtime.resolve_device(config.device)
        self.cpu_threads = runtime.cpu_threads(config.cpu_threads)
        self._use_cpu_threads()
        runtime.keep_freed_memory()
        self.landmarker = get_landmarker(backend=config.landmarks)
        self.renderer: Renderer
        self.renderer, self.renderer_reason = select_renderer(config.renderer, device=self.device)
        # Every renderer a request may pick; warp is always there (no weights needed).
        self.renderers: dict[str, Renderer] = {self.renderer.name: self.renderer}
        if "warp" not in self.renderers:
            self.renderers["warp"] = select_renderer("warp", device=self.device)[0]
        self.motion_generator = load_motion_generator(device="cpu")
        # First-use work (torch.optim's imports, the landmark and humanness models) happens here,
        # at start-up, not in the first request.
        torch.optim.Adam([torch.zeros(1, requires_grad=True)])
        self.landmarker.warm_up()
        log.info("pipeline ready: renderer=%s (%s), device=%s", self.renderer.name, self.renderer_reason, self.device)

    # -- inputs -------------------------------------------------------------------------------

    def _portrait(self, portrait: str | Path | np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
        image = media.load_image(portrait, max_side=MAX_FULL_SIDE)
        det = self.landmarker.detect(image, what="the portrait", min_height=MIN_FACE_PX, good_height=SMALL_FACE_PX)
        warnings = []
        height = float(np.ptp(det.points[:, 1]))  # brows to chin, pixels of the photo
        if height < SMALL_FACE_PX:
            warnings.append(
                f"The face in the portrait is only {height:.0f} px tall (brows to chin), so the result will look "
                f"blurry: a photo where the face is at least {SMALL_FACE_PX} px tall works better."
            )
        if det.n_faces > 1:
            warnings.append(
                f"The portrait shows {det.n_faces} faces; the largest one is animated. "
                "Crop the photo to one person for a cleaner result."
            )
        return image, det.points, warnings

    def load_audio(self, audio: AudioInput) -> LoadedAudio:
        """Decode, check and (past the cap) trim the audio, once per request."""
        if isinstance(audio, LoadedAudio):
            return audio
        if isinstance(audio, tuple):
            rate, samples = audio
            wav = media.load_audio_array(samples, rate)
        else:  # decoded a little past the cap only: enough to know whether it was longer
            wav = media.load_audio(audio, max_seconds=self.config.max_audio_seconds + 1.0)
        cap = self.config.max_audio_seconds
        if len(wav) > cap * media.SAMPLE_RATE:
            wav = wav[: int(cap * media.SAMPLE_RATE)]
            return LoadedAudio(wav, (f"The audio is longer than {cap:g} s; only the first {cap:g} s are used.",))
        return LoadedAudio(wav)

    def _style(self, style: str | Path) -> StyleAnalysis:
        return analyse_style(
            style, config=StyleConfig(max_seconds=self.config.max_style_seconds), landmarker=self.landmarker
        )

    # -- stages -------------------------------------------------------------------------------

    def get_renderer(self, name: str = "default") -> Renderer:
        if name == "default":
            return self.renderer
        if name not in self.renderers:
            raise InputError(f"renderer {name!r} is not available here: choose one of {', '.join(self.renderers)}")
        return self.renderers[name]

    def analyse(
        self,
        portrait: str | Path | np.ndarray,
        style: str | Path,
        progress: Progress | None = None,
        *,
        renderer: str = "default",
    ) -> StylePreview:
        """Style references (§3.2) and ISPs (§3.3) — the part of a request that needs no audio."""
        self._use_cpu_threads()
        report = progress or (lambda stage, frac: None)
        rend = self.get_renderer(renderer)
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        report("portrait", 0.0)
        image, points, warnings = self._portrait(portrait)
        source = rend.prepare(image, points)
        timings["portrait"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        report("style references", 0.05)
        analysis = self._style(style)
        timings["style_analysis"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        report("intermediate style patterns", 0.15)
        isps = rend.render_isps(source, [r.to_render() for r in analysis.references])
        timings["isp"] = time.perf_counter() - t0
        return StylePreview(analysis, source, isps, timings, warnings + list(analysis.warnings), rend.name)

    def generate(
        self,
        portrait: str | Path | np.ndarray,
        audio: AudioInput,
        style: str | Path,
        options: RequestOptions = RequestOptions(),
        *,
        workdir: str | Path | None = None,
        progress: Progress | None = None,
        preview: StylePreview | None = None,
    ) -> GenerationResult:
        """Run one request. Files go to ``workdir`` (a new temporary folder when None)."""
        self._use_cpu_threads()
        report = progress or (lambda stage, frac: None)
        out_dir = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="talkinghead-"))
        out_dir.mkdir(parents=True, exist_ok=True)
        sound = self.load_audio(audio)  # cheap checks first: fail before the slow stages
        wav = sound.samples
        pre = preview or self.analyse(portrait, style, progress=report, renderer=options.renderer)
        rend = self.get_renderer(pre.renderer)
        timings = dict(pre.timings)
        warnings = pre.warnings + list(sound.warnings)
        fps = options.fps

        t0 = time.perf_counter()
        report("audio to motion", 0.25)
        # Long audio is encoded a chunk at a time; the transfer below then runs once on the whole.
        states = encode_audio(self.motion_generator, wav, fps)
        n_frames = int(states.shape[1])
        wav = wav[: int(round(n_frames / fps * media.SAMPLE_RATE))]
        timings["audio_to_motion"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        report("style transfer", 0.3)
        phi_s = pre.style.phi_s(fps)
        result = transfer_style(
            self.motion_generator,
            None,
            phi_s,
            TransferConfig(steps=options.steps, strength=options.strength, seed=options.seed, device=str(self.device)),
            states=states,
        )
        timings["style_transfer"] = time.perf_counter() - t0

        head = pre.style.pose_track(n_frames, fps, strength=options.head_motion, seed=options.seed)
        eye_open = pre.style.blink_schedule(n_frames, fps, seed=options.seed, enabled=options.blinks)
        targets = _frame_targets(pre.source, result.styled, head, eye_open)

        # One pass renders every frame once and streams it to the encoder(s): the result and,
        # beside the style clip, the side-by-side video. Memory does not grow with the audio.
        t0 = time.perf_counter()
        report("rendering", 0.4)
        video_path = out_dir / "result.mp4"
        side_path = out_dir / "side_by_side.mp4" if options.side_by_side else None
        refs = [r.to_render() for r in pre.style.references]
        crops = self._render_crops(rend, pre.source, targets, refs, options, report)
        view = _result_view(pre.source, options)
        encoder = dict(audio=wav, preset=ENCODER_PRESET)
        heavy = view.size[0] * view.size[1] > HEAVY_ENCODE_PX
        result_params = HEAVY_ENCODER_PARAMS if heavy else ENCODER_PARAMS
        with contextlib.ExitStack() as stack:
            stack.callback(self._use_cpu_threads)
            stack.callback(runtime.release_freed_memory)  # after the writers close, even on a failure
            self._use_cpu_threads(leave_a_core=heavy)
            writer = stack.enter_context(media.VideoWriter(video_path, fps, x264_params=result_params, **encoder))
            side = (
                stack.enter_context(media.VideoWriter(side_path, fps, x264_params=ENCODER_PARAMS, **encoder))
                if side_path else None
            )
            width, height = view.size
            side_size = (montage.even(width * SIDE_BY_SIDE_HEIGHT / height), SIDE_BY_SIDE_HEIGHT)
            small = view if height <= SIDE_BY_SIDE_HEIGHT else FrameView(pre.source, full=view.full, size=side_size)
            clip = montage.looped_frames(style, fps, height=small.size[1]) if side is not None else None

            def write(crop: np.ndarray) -> None:
                frame = view(crop)
                if side is not None:
                    side.write(np.concatenate([next(clip), frame if small is view else small(crop)], axis=1))
                writer.write(frame)  # encoded before the view's frame is reused

            # Rendering (here) and compositing + encoding (the writer thread, the ffmpeg processes) overlap.
            media.write_in_background(crops, write)
        timings["render_and_encode"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        report("metrics", 0.97)
        style_head = pre.style.pose_track(len(phi_s), fps)
        scores = metrics.request_scores(result.unstyled, result.styled, phi_s, head=head, style_head=style_head)
        statistics = metrics.request_statistics(
            result.unstyled, result.styled, phi_s, fps, head=head.rotations(), style_head=style_head.rotations()
        )
        timings["metrics"] = time.perf_counter() - t0
        report("done", 1.0)
        return GenerationResult(
            references=pre.style.references,
            transfer=result,
            phi_s=phi_s,
            targets=targets,
            renderer=rend.name,
            video_path=video_path,
            side_by_side_path=side_path,
            metrics=scores,
            isps=pre.isps,
            statistics=statistics,
            timings=timings,
            fps=fps,
            warnings=warnings,
        )

    # -- helpers ------------------------------------------------------------------------------

    def _use_cpu_threads(self, *, leave_a_core: bool = False) -> None:
        """Torch's CPU threads for the calling thread's work: the configured count, or one fewer
        with ``leave_a_core`` where they (not chosen by hand) take every core, for a render whose
        encoders need a core (torch's idle threads spin-wait, and on a core x264 needs that costs
        more than the thread gains). Set at the start of every request, as an absolute count:
        torch keeps the count per thread, and requests share the server's worker threads."""
        if self.device.type != "cpu":
            return
        fewer = leave_a_core and self.config.cpu_threads is None and self.cpu_threads >= runtime.cpu_cores()
        torch.set_num_threads(max(1, self.cpu_threads - 1) if fewer else self.cpu_threads)

    @staticmethod
    def _render_crops(
        renderer: Renderer,
        source: SourceFace,
        targets: FrameTargets,
        refs: list,
        options: RequestOptions,
        report: Progress,
        batch: int = 16,
    ) -> Iterator[np.ndarray]:
        n = len(targets)
        for start in range(0, n, batch):
            yield from renderer.render(source, targets[start : start + batch], refs)
            done, total = min(n, start + batch) / options.fps, n / options.fps
            digits = 0 if total >= 10 else 1
            report(f"rendering: {done:.{digits}f} s of {total:.{digits}f} s", 0.4 + 0.55 * done / total)


def _result_view(source: SourceFace, options: RequestOptions) -> FrameView:
    """The result video's view of each crop: "face", the crop itself; "full", the crop pasted into
    the portrait; scaled so the longest side is ``options.output_size`` when given."""
    face = options.framing == "face"
    h, w = (source.size, source.size) if face else source.image.shape[:2]
    k = 1.0 if options.output_size is None else options.output_size / max(h, w)
    return FrameView(source, full=not face, size=(montage.even(w * k), montage.even(h * k)))


def _frame_targets(source: SourceFace, styled: np.ndarray, head: PoseTrack, eye_open: np.ndarray) -> FrameTargets:
    """What the renderer draws per frame: eq. 2, the styled motion's expression (relative to the canonical
    face) on the portrait's own canonical points, with its lips closed first so a photo with parted lips
    still closes them in silences; the pose is the head track composed with the portrait's pose."""
    identity = close_mouth(source.identity)
    no_pose = geometry.Pose.identity()  # the renderer applies the head pose
    canonical = geometry.apply_style(identity[None], no_pose, styled - geometry.canonical_face()[None])
    rotation, translation, scale = head.apply(source.pose)
    return FrameTargets(canonical=canonical, rotation=rotation, translation=translation, scale=scale, eye_open=eye_open)

