"""Media I/O: images, audio and video in and out, through Pillow and the ffmpeg binary of imageio-ffmpeg.

Everything the rest of the package sees is plain numpy:

* images: ``H×W×3`` uint8 RGB, EXIF orientation applied, transparency composited on white;
* audio: float32 mono at :data:`SAMPLE_RATE` (16 kHz);
* video: a :class:`VideoClip` of ``T×H×W×3`` uint8 RGB frames at a fixed frame rate, as the
  video is *displayed* (phone rotation applied), with its audio track when it has one.

Every bad upload becomes an :class:`~talkinghead.errors.InputError` whose message names the
problem and the fix. ffmpeg is always called with an argument list, its exit code is checked,
and every file we write appears atomically (temporary file in the same folder, then rename), so
a failure never leaves a half-written file behind.

Modules, each importing only the ones above it:

* :mod:`~talkinghead.media.files` — readable-file checks, the names users see, atomic output;
* :mod:`~talkinghead.media.ffmpeg` — the binary, its error messages, :func:`probe`;
* :mod:`~talkinghead.media.images` — :func:`load_image`, :func:`save_image`;
* :mod:`~talkinghead.media.audio` — :data:`SAMPLE_RATE`, :func:`load_audio`, :func:`resample`, :func:`save_wav`;
* :mod:`~talkinghead.media.video` — :class:`VideoClip`, :func:`load_video`, :func:`iter_video_frames`;
* :mod:`~talkinghead.media.writing` — :class:`VideoWriter`, :func:`write_video`,
  :func:`write_in_background`.

Callers use the names re-exported here (``media.load_audio``, ``media.SAMPLE_RATE``); code that
patches a name patches it in the module that defines it.
"""

from talkinghead.media.audio import (
    AUDIO_HINT,
    SAMPLE_RATE,
    SILENCE_PEAK,
    fit_length,
    load_audio,
    load_audio_array,
    resample,
    save_wav,
)
from talkinghead.media.ffmpeg import (
    MAX_FPS,
    MEDIA_HINT,
    PROBE_TIMEOUT_S,
    MediaInfo,
    ffmpeg_exe,
    parse_probe,
    probe,
    video_duration,
)
from talkinghead.media.images import (
    DEFAULT_MAX_PIXELS,
    DEFAULT_MAX_SIDE,
    IMAGE_HINT,
    ImageSource,
    load_image,
    save_image,
)
from talkinghead.media.video import VIDEO_HINT, VideoClip, iter_video_frames, load_video
from talkinghead.media.writing import AAC_BITRATE, AAC_RATE, VideoWriter, write_in_background, write_video

__all__ = [
    "AAC_BITRATE",
    "AAC_RATE",
    "AUDIO_HINT",
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_MAX_SIDE",
    "IMAGE_HINT",
    "MAX_FPS",
    "MEDIA_HINT",
    "PROBE_TIMEOUT_S",
    "SAMPLE_RATE",
    "SILENCE_PEAK",
    "VIDEO_HINT",
    "ImageSource",
    "MediaInfo",
    "VideoClip",
    "VideoWriter",
    "ffmpeg_exe",
    "fit_length",
    "iter_video_frames",
    "load_audio",
    "load_audio_array",
    "load_image",
    "load_video",
    "parse_probe",
    "probe",
    "resample",
    "save_image",
    "save_wav",
    "video_duration",
    "write_in_background",
    "write_video",
]
