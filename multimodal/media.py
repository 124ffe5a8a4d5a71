"""Reading media through ffmpeg: probing, streamed video frames and 16 kHz mono audio.

ffmpeg comes from settings, the system ``PATH``, or the static build that the ``imageio-ffmpeg``
package ships. ffprobe is used when present; without it, :func:`probe` reads ffmpeg's own report.

Only local files are read. Paths are handed to ffmpeg as ``file:`` URLs with
``-protocol_whitelist file``, so a name such as ``http://...`` or ``concat:a|b`` is never opened
as a network stream or protocol, and formats that make ffmpeg open *other* files (HLS and DASH
playlists, concat lists, IMF compositions, SDP) are refused after probing.

Frames are decoded at an analysis rate (default 5 per second, or every frame) with ffmpeg's
``select`` filter, which keeps each chosen frame's own presentation time; ``showinfo`` reports that
time, which is read from ffmpeg's log while the pixels stream from its standard output. Only one
frame is held at a time, so memory stays bounded whatever the length of the file.
"""

from __future__ import annotations

import json
import math
import queue
import re
import shutil
import subprocess
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import IO, Any

import ffmpeg
import numpy as np
import numpy.typing as npt

from multimodal.errors import (
    CorruptMediaError,
    EmptyMediaError,
    MediaNotFoundError,
    MissingStreamError,
    NotMediaError,
    ToolError,
    UnsafeMediaError,
)
from multimodal.settings import Settings

AUDIO_RATE = 16_000
"""Sample rate (Hz) of all decoded audio."""

# Demuxers that read further files or URLs named inside the upload.
_REFERENCING_FORMATS = frozenset(
    {"hls", "applehttp", "concat", "dash", "imf", "sdp", "rtsp", "rtp", "webm_dash_manifest"}
)
# Demuxers that accept any text file and would turn it into "video".
_TEXT_FORMATS = frozenset({"tty", "ansi"})
# Formats that hold one still picture (or a picture sequence ffmpeg reads as one image).
_IMAGE_FORMAT_SUFFIX = "_pipe"
_IMAGE_FORMATS = frozenset({"image2", "webp", "gif_pipe"})


# --------------------------------------------------------------------------------------------
# Tools


@dataclass(frozen=True)
class FFmpegTools:
    """Paths of the ffmpeg executables in use (``ffprobe`` may be absent)."""

    ffmpeg: str
    ffprobe: str | None


def _configured(path: Path | None, variable: str, tool: str) -> str | None:
    """The executable a setting names, ``None`` when unset; a wrong path is an error."""
    if path is None:
        return None
    exe = shutil.which(str(path))
    if exe is None:
        raise ToolError(f"{variable}={path} is not an executable; point it at {tool} or unset it")
    return exe


def find_tools(settings: Settings) -> FFmpegTools:
    """Locate ffmpeg and ffprobe: settings, then ``PATH``, then imageio-ffmpeg's static ffmpeg.

    Raises:
        ToolError: no ffmpeg could be found.
    """
    exe = _configured(settings.ffmpeg_path, "AFFECTLINE_FFMPEG_PATH", "ffmpeg")
    exe = exe or shutil.which("ffmpeg")
    if exe is None:
        try:
            import imageio_ffmpeg

            exe = str(imageio_ffmpeg.get_ffmpeg_exe())
        except Exception as e:  # imageio-ffmpeg raises RuntimeError and friends
            raise ToolError(
                "ffmpeg was not found: install it (Debian: apt-get install ffmpeg) or "
                "pip install imageio-ffmpeg"
            ) from e
    probe_exe = _configured(settings.ffprobe_path, "AFFECTLINE_FFPROBE_PATH", "ffprobe")
    if probe_exe is None:
        sibling = Path(exe).with_name("ffprobe")
        probe_exe = str(sibling) if sibling.is_file() else shutil.which("ffprobe")
    return FFmpegTools(ffmpeg=exe, ffprobe=probe_exe)


def _file_url(path: Path) -> str:
    return "file:" + str(path.resolve())


_SAFE_INPUT = {"protocol_whitelist": "file"}


# --------------------------------------------------------------------------------------------
# Probing


@dataclass(frozen=True)
class VideoInfo:
    """The first video stream.

    Attributes:
        codec: decoder name, e.g. ``h264``.
        width, height: coded size in pixels, before rotation.
        display_width, display_height: size as shown: rotation and pixel aspect applied.
        rotation: display rotation in degrees, counter-clockwise, one of 0, 90, 180, -90.
        nominal_fps: the stream's declared base rate (ffmpeg ``r_frame_rate``), frames/s.
        real_fps: frames per second actually present (frame count over duration when the
            frames were counted, else the container's average rate); ``None`` when unknown.
        frame_count: number of frames, ``None`` when the container does not say and they were
            not counted.
        duration: seconds, ``None`` when unknown.
        is_still: ``True`` for a single still picture (an image file).
    """

    codec: str
    width: int
    height: int
    display_width: int
    display_height: int
    rotation: int
    nominal_fps: float | None
    real_fps: float | None
    frame_count: int | None
    duration: float | None
    is_still: bool
    sample_aspect: float = 1.0


@dataclass(frozen=True)
class AudioInfo:
    """The first audio stream.

    Attributes:
        codec: decoder name.
        sample_rate: Hz.
        channels: channel count.
        duration: seconds, ``None`` when unknown.
    """

    codec: str
    sample_rate: int
    channels: int
    duration: float | None


@dataclass(frozen=True)
class MediaInfo:
    """What ffmpeg reports about a file; absent streams are ``None``.

    Attributes:
        path: the file.
        container: ffmpeg's demuxer name(s), e.g. ``mov,mp4,m4a,3gp,3g2,mj2``.
        duration: seconds from the media start to its end, ``None`` when unknown (a still image
            has duration 0).
        size_bytes: file size.
        video: the first video stream, or ``None``.
        audio: the first audio stream, or ``None``.
    """

    path: Path
    container: str
    duration: float | None
    size_bytes: int
    video: VideoInfo | None
    audio: AudioInfo | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (paths as strings, floats rounded to microseconds)."""

        def clean(obj: Any) -> Any:
            if isinstance(obj, float):
                return round(obj, 6) if math.isfinite(obj) else None
            if isinstance(obj, dict):
                return {k: clean(v) for k, v in obj.items()}
            return obj

        return {
            "path": str(self.path),
            "container": self.container,
            "duration": clean(self.duration),
            "size_bytes": self.size_bytes,
            "video": clean(self.video.__dict__) if self.video else None,
            "audio": clean(self.audio.__dict__) if self.audio else None,
        }


def check_local_file(path: Path) -> Path:
    """``path`` if it is a non-empty regular file.

    Raises:
        MediaNotFoundError, EmptyMediaError, UnsafeMediaError.
    """
    text = str(path)
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:/", text) and not path.exists():
        raise UnsafeMediaError(f"{text}: only local files can be analysed; download it first")
    if not path.exists():
        raise MediaNotFoundError(f"{text}: no such file or folder; check the path")
    if not path.is_file():
        raise MediaNotFoundError(f"{text}: not a regular file; give a media file or a folder")
    if path.stat().st_size == 0:
        raise EmptyMediaError(f"{text}: the file is empty (0 bytes); upload the complete file")
    return path


def probe(path: Path, settings: Settings, *, count_frames: bool = False) -> MediaInfo:
    """Report the container, duration and first video and audio streams of a local file.

    Args:
        path: a local file.
        settings: where to find ffmpeg.
        count_frames: count the video frames by demuxing the whole file (no decoding) when the
            container does not state the count; this reads the entire file.

    Raises:
        MediaNotFoundError, EmptyMediaError: the file is missing or empty.
        NotMediaError: ffmpeg does not read it as audio, video or an image.
        UnsafeMediaError: it is a playlist or another format that references further files.
        ToolError: ffmpeg is missing.
    """
    check_local_file(path)
    tools = find_tools(settings)
    if tools.ffprobe is not None:
        info = _probe_with_ffprobe(path, tools.ffprobe)
    else:
        info = _probe_with_ffmpeg(path, tools.ffmpeg)
    if count_frames and info.video is not None and info.video.frame_count is None:
        count = _count_frames(path, tools.ffmpeg)
        real = info.video.real_fps
        if count and info.video.duration:
            real = count / info.video.duration
        info = MediaInfo(
            info.path,
            info.container,
            info.duration,
            info.size_bytes,
            _replace_video(info.video, frame_count=count, real_fps=real),
            info.audio,
        )
    return info


def _replace_video(video: VideoInfo, **changes: Any) -> VideoInfo:
    fields = dict(video.__dict__)
    fields.update(changes)
    return VideoInfo(**fields)


def _run(cmd: list[str], timeout: float = 120.0) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(cmd, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except FileNotFoundError as e:
        raise ToolError(f"cannot run {cmd[0]}: {e}; check the ffmpeg installation") from e
    except subprocess.TimeoutExpired as e:
        raise CorruptMediaError(
            f"ffmpeg did not finish reading the file's header within {timeout:.0f} s; "
            "the file is probably damaged"
        ) from e


def _ratio(text: str | None) -> float | None:
    if not text or text in {"0/0", "N/A"}:
        return None
    try:
        value = float(Fraction(text))
    except (ValueError, ZeroDivisionError):
        return None
    return value if value > 0 and math.isfinite(value) else None


def _float(text: Any) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _first_error_line(stderr: bytes, path: Path | None = None) -> str:
    lines = [ln.strip() for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    line = lines[-1] if lines else "no message"
    if path is not None:
        line = line.replace(f"{_file_url(path)}: ", "")
    return line


MEDIA_SUFFIXES = frozenset(
    ".mp4 .m4v .mov .mkv .webm .avi .wmv .flv .mpg .mpeg .ts .mts .m2ts .3gp .ogv .wav .mp3 "
    ".m4a .aac .flac .ogg .oga .opus .wma .jpg .jpeg .png .bmp .webp .tif .tiff .gif".split()
)
"""File name endings of media; an unreadable file with one of them is reported as damaged."""


def _unreadable(path: Path, stderr: bytes) -> CorruptMediaError | NotMediaError:
    detail = _first_error_line(stderr, path)
    if path.suffix.lower() in MEDIA_SUFFIXES:
        return CorruptMediaError(
            f"{path}: looks like a {path.suffix.lower()} file but ffmpeg cannot read it "
            f"({detail}); the file is damaged or incomplete, upload it again"
        )
    return NotMediaError(
        f"{path}: not a media file ffmpeg can read ({detail}); give a video, audio or image file"
    )


def _probe_with_ffprobe(path: Path, ffprobe_exe: str) -> MediaInfo:
    cmd = [
        ffprobe_exe, "-v", "error", "-protocol_whitelist", "file",
        "-show_format", "-show_streams", "-of", "json", _file_url(path),
    ]  # fmt: skip
    proc = _run(cmd)
    if proc.returncode != 0:
        raise _unreadable(path, proc.stderr)
    data = json.loads(proc.stdout.decode("utf-8", "replace") or "{}")
    fmt = data.get("format", {})
    container = str(fmt.get("format_name", ""))
    _check_format(path, container)
    streams = data.get("streams", [])
    video_stream = next(
        (s for s in streams if s.get("codec_type") == "video"
         and not s.get("disposition", {}).get("attached_pic")),
        None,
    )  # fmt: skip
    audio_stream = next((s for s in streams if s.get("codec_type") == "audio"), None)
    duration = _float(fmt.get("duration"))
    video = None
    if video_stream is not None:
        rotation = 0
        for side in video_stream.get("side_data_list", []) or []:
            if "rotation" in side:
                rotation = int(round(float(side["rotation"])))
        if rotation == 0 and "rotate" in video_stream.get("tags", {}):
            rotation = -int(video_stream["tags"]["rotate"])
        nb = video_stream.get("nb_frames")
        frame_count = int(nb) if nb and str(nb).isdigit() and int(nb) > 0 else None
        video = _make_video(
            codec=str(video_stream.get("codec_name", "unknown")),
            width=int(video_stream.get("width", 0)),
            height=int(video_stream.get("height", 0)),
            rotation=rotation,
            sar=_ratio(str(video_stream.get("sample_aspect_ratio", "1:1")).replace(":", "/")),
            nominal_fps=_ratio(video_stream.get("r_frame_rate")),
            avg_fps=_ratio(video_stream.get("avg_frame_rate")),
            frame_count=frame_count,
            duration=_float(video_stream.get("duration")) or duration,
            container=container,
        )
    audio = None
    if audio_stream is not None:
        audio = AudioInfo(
            codec=str(audio_stream.get("codec_name", "unknown")),
            sample_rate=int(audio_stream.get("sample_rate", 0) or 0),
            channels=int(audio_stream.get("channels", 0) or 0),
            duration=_float(audio_stream.get("duration")) or duration,
        )
    return _finish_probe(path, container, duration, video, audio)


def _make_video(
    *,
    codec: str,
    width: int,
    height: int,
    rotation: int,
    sar: float | None,
    nominal_fps: float | None,
    avg_fps: float | None,
    frame_count: int | None,
    duration: float | None,
    container: str,
) -> VideoInfo:
    rotation = ((rotation + 180) % 360) - 180  # -180..179
    if rotation == -180:
        rotation = 180
    sar = sar or 1.0
    is_still = container.endswith(_IMAGE_FORMAT_SUFFIX) or container in _IMAGE_FORMATS
    if is_still and container != "gif_pipe":
        frame_count, duration = 1, 0.0
    shown_w = max(1, int(round(width * sar)))
    shown_h = height
    if abs(rotation) == 90:
        shown_w, shown_h = shown_h, shown_w
    real = avg_fps
    if frame_count and duration:
        real = frame_count / duration
    return VideoInfo(
        codec=codec,
        width=width,
        height=height,
        display_width=shown_w,
        display_height=shown_h,
        rotation=rotation,
        nominal_fps=nominal_fps,
        real_fps=real,
        frame_count=frame_count,
        duration=duration,
        is_still=is_still and (frame_count or 1) == 1,
        sample_aspect=sar,
    )


def _check_format(path: Path, container: str) -> None:
    names = set(container.split(","))
    if names & _REFERENCING_FORMATS:
        raise UnsafeMediaError(
            f"{path}: is a {container} playlist or reference file that points to other files or "
            "URLs; upload the media file itself"
        )
    if names & _TEXT_FORMATS:
        raise NotMediaError(f"{path}: is a text file, not media; give a video, audio or image file")


def _finish_probe(
    path: Path,
    container: str,
    duration: float | None,
    video: VideoInfo | None,
    audio: AudioInfo | None,
) -> MediaInfo:
    if video is None and audio is None:
        raise NotMediaError(
            f"{path}: ffmpeg found no audio or video in it; give a video, audio or image file"
        )
    if video is not None and (video.width <= 0 or video.height <= 0):
        raise CorruptMediaError(f"{path}: the video stream has no frame size; the file is damaged")
    if video is not None and video.is_still:
        duration = 0.0
    return MediaInfo(
        path=path,
        container=container,
        duration=duration,
        size_bytes=path.stat().st_size,
        video=video,
        audio=audio,
    )


_INPUT_RE = re.compile(r"^Input #0, (.+?), from ")
_DURATION_RE = re.compile(r"Duration: (\d+):(\d+):([\d.]+)")
_STREAM_RE = re.compile(r"Stream #0:\d+.*?: (Video|Audio): (.*)$")
_SIZE_RE = re.compile(r"(?:^|[ ,])(\d{2,5})x(\d{2,5})(?:[ ,\]]|$)")
_SAR_RE = re.compile(r"SAR (\d+):(\d+)")
_FPS_RE = re.compile(r"([\d.]+k?) fps")
_TBR_RE = re.compile(r"([\d.]+k?) tbr")
_ROT_RE = re.compile(r"rotation of (-?[\d.]+) degrees")
_HZ_RE = re.compile(r"(\d+) Hz")
_LAYOUTS = {"mono": 1, "stereo": 2, "2.1": 3, "quad": 4, "4.0": 4, "5.0": 5, "5.1": 6, "7.1": 8}


def _rate(text: str) -> float:
    return float(text[:-1]) * 1000 if text.endswith("k") else float(text)


def _probe_with_ffmpeg(path: Path, ffmpeg_exe: str) -> MediaInfo:
    """Probe by reading the stream report ``ffmpeg -i`` prints (used when ffprobe is absent)."""
    proc = _run([ffmpeg_exe, "-hide_banner", "-nostdin", "-protocol_whitelist", "file",
                 "-i", _file_url(path)])  # fmt: skip
    text = proc.stderr.decode("utf-8", "replace")
    container = ""
    duration: float | None = None
    video: VideoInfo | None = None
    audio: AudioInfo | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if m := _INPUT_RE.match(line):
            container = m.group(1)
        elif m := _DURATION_RE.search(line):
            duration = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
        elif (m := _STREAM_RE.search(line)) and "attached pic" not in line:
            kind, desc = m.group(1), m.group(2)
            if kind == "Video" and video is None:
                size = _SIZE_RE.search(desc)
                sar = _SAR_RE.search(desc)
                fps = _FPS_RE.search(desc)
                tbr = _TBR_RE.search(desc)
                video = _make_video(
                    codec=desc.split(" ")[0].rstrip(","),
                    width=int(size.group(1)) if size else 0,
                    height=int(size.group(2)) if size else 0,
                    rotation=0,
                    sar=int(sar.group(1)) / int(sar.group(2)) if sar and int(sar.group(2)) else 1.0,
                    nominal_fps=_rate(tbr.group(1)) if tbr else None,
                    avg_fps=_rate(fps.group(1)) if fps else None,
                    frame_count=None,
                    duration=duration,
                    container=container,
                )
            elif kind == "Audio" and audio is None:
                hz = _HZ_RE.search(desc)
                parts = [p.strip() for p in desc.split(",")]
                channels = 0
                for p in parts:
                    if p in _LAYOUTS:
                        channels = _LAYOUTS[p]
                    elif m2 := re.match(r"(\d+) channels", p):
                        channels = int(m2.group(1))
                audio = AudioInfo(
                    codec=desc.split(" ")[0].rstrip(","),
                    sample_rate=int(hz.group(1)) if hz else 0,
                    channels=channels,
                    duration=duration,
                )
        elif (m := _ROT_RE.search(line)) and video is not None and video.rotation == 0:
            video = _make_video(
                codec=video.codec,
                width=video.width,
                height=video.height,
                rotation=int(round(float(m.group(1)))),
                sar=video.sample_aspect,
                nominal_fps=video.nominal_fps,
                avg_fps=video.real_fps,
                frame_count=video.frame_count,
                duration=video.duration,
                container=container,
            )
    if not container:
        raise _unreadable(path, proc.stderr)
    _check_format(path, container)
    return _finish_probe(path, container, duration, video, audio)


_FRAME_COUNT_RE = re.compile(rb"frame=\s*(\d+)")


def _count_frames(path: Path, ffmpeg_exe: str) -> int | None:
    """Count video packets by demuxing without decoding."""
    proc = _run(
        [ffmpeg_exe, "-hide_banner", "-nostdin", "-protocol_whitelist", "file",
         "-i", _file_url(path), "-map", "0:v:0", "-c", "copy", "-f", "null", "-"],
        timeout=3600,
    )  # fmt: skip
    counts = _FRAME_COUNT_RE.findall(proc.stderr)
    return int(counts[-1]) if counts else None


# --------------------------------------------------------------------------------------------
# Video frames


@dataclass(frozen=True)
class VideoFrame:
    """One decoded frame.

    Attributes:
        index: position among the analysed frames, from 0.
        time: the decoder's presentation time, seconds from the media start.
        image: ``(height, width, 3)`` uint8 RGB, upright (rotation applied), possibly scaled
            down for analysis; coordinates relative to the image size map onto the display size.
    """

    index: int
    time: float
    image: npt.NDArray[np.uint8]


def analysis_size(video: VideoInfo, max_side: int) -> tuple[int, int]:
    """Width and height that frames are decoded at: display size, longer side at most max_side."""
    w, h = video.display_width, video.display_height
    scale = min(1.0, max_side / max(w, h))
    return max(2, int(round(w * scale))), max(2, int(round(h * scale)))


def select_expression(fps: float) -> str:
    """ffmpeg ``select`` expression keeping the first frame in each ``1/fps`` cell of time.

    Cells are anchored at time 0, so the kept frames do not drift on variable-rate video, and each
    kept frame keeps its own timestamp.
    """
    f = repr(float(fps))
    return f"isnan(prev_selected_t)+gt(floor(t*{f}+1e-6),floor(prev_selected_t*{f}+1e-6))"


_SHOWINFO_RE = re.compile(r"\bn:\s*(\d+)\s+pts:\s*(-?\d+)\s+pts_time:\S+")
_TIMEBASE_RE = re.compile(r"config in time_base: (\d+)/(\d+)")
_LEVEL_RE = re.compile(r"\[(error|fatal|panic)\]")


@dataclass
class FrameStream:
    """An iterator over the frames of a video, decoded by one ffmpeg process.

    Use as a context manager (or iterate to the end) so that ffmpeg is stopped. After iteration,
    ``warnings`` lists what went wrong in a file that still decoded, e.g. a truncated end.
    """

    path: Path
    video: VideoInfo
    fps: float | None
    max_side: int
    tools: FFmpegTools
    warnings: list[str] = field(default_factory=list)
    frames_read: int = 0
    last_time: float | None = None
    _proc: subprocess.Popen[bytes] | None = None

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the decoded images."""
        return analysis_size(self.video, self.max_side)

    def __enter__(self) -> FrameStream:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()

    def _command(self) -> list[str]:
        w, h = self.size
        stream = ffmpeg.input(_file_url(self.path), **_SAFE_INPUT).video
        if self.fps:
            stream = stream.filter("select", select_expression(self.fps))
        stream = stream.filter("scale", w, h).filter("showinfo", checksum=0)
        out = stream.output("pipe:", format="rawvideo", pix_fmt="rgb24", fps_mode="passthrough")
        args: list[str] = out.global_args(
            "-hide_banner", "-nostdin", "-nostats", "-loglevel", "level+info"
        ).compile(cmd=self.tools.ffmpeg)
        return args

    def __iter__(self) -> Iterator[VideoFrame]:
        w, h = self.size
        frame_bytes = w * h * 3
        try:
            self._proc = subprocess.Popen(
                self._command(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, bufsize=0,
            )  # fmt: skip
        except OSError as e:
            raise ToolError(f"cannot start ffmpeg ({e}); check the ffmpeg installation") from e
        proc = self._proc
        assert proc.stdout is not None and proc.stderr is not None
        times: queue.Queue[float | None] = queue.Queue()
        errors: deque[str] = deque(maxlen=20)
        reader = threading.Thread(
            target=_read_showinfo, args=(proc.stderr, times, errors), daemon=True
        )
        reader.start()
        try:
            while True:
                data = _read_exact(proc.stdout, frame_bytes)
                if len(data) < frame_bytes:
                    break
                pts = times.get()
                if pts is None:  # log ended before this frame's line: cannot happen with showinfo
                    break
                image = np.frombuffer(data, dtype=np.uint8).reshape(h, w, 3)
                if self.last_time is not None and pts <= self.last_time:
                    continue  # duplicated timestamp from a damaged stream
                yield VideoFrame(self.frames_read, pts, image)
                self.frames_read += 1
                self.last_time = pts
        finally:
            self.close()
            proc.wait()
            reader.join(timeout=5)
        self._finish(proc.returncode, list(errors))

    def _finish(self, returncode: int, errors: list[str]) -> None:
        detail = errors[-1] if errors else f"ffmpeg exited with code {returncode}"
        if self.frames_read == 0:
            if returncode != 0 or errors:
                raise CorruptMediaError(
                    f"{self.path}: no video frame could be decoded ({detail}); "
                    "the file is damaged or uses an unsupported codec"
                )
            return
        duration = self.video.duration
        end = self.last_time or 0.0
        step = 1.0 / self.fps if self.fps else 1.0 / (self.video.nominal_fps or 25.0)
        if errors or returncode != 0:
            self.warnings.append(
                f"{self.path}: decoding stopped with errors after {end:.2f} s ({detail}); "
                "the results cover only what could be decoded"
            )
        elif duration and not self.video.is_still and end + step + 1.0 < duration:
            self.warnings.append(
                f"{self.path}: frames end at {end:.2f} s but the file claims {duration:.2f} s; "
                "it may be truncated"
            )


def _read_exact(stream: IO[bytes], n: int) -> bytes:
    chunks = []
    remaining = n
    while remaining > 0:
        chunk = stream.read(remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _read_showinfo(stderr: IO[bytes], times: queue.Queue[float | None], errors: deque[str]) -> None:
    time_base: Fraction | None = None
    for raw in iter(stderr.readline, b""):
        line = raw.decode("utf-8", "replace").rstrip()
        if "showinfo" in line:
            if time_base is None and (tb := _TIMEBASE_RE.search(line)):
                time_base = Fraction(int(tb.group(1)), int(tb.group(2)) or 1)
            elif m := _SHOWINFO_RE.search(line):
                pts = int(m.group(2))
                times.put(float(pts * time_base) if time_base is not None else math.nan)
        elif _LEVEL_RE.search(line):
            errors.append(_LEVEL_RE.sub("", line).strip())
    times.put(None)


def open_frames(
    path: Path, video: VideoInfo, settings: Settings, fps: float | None = None
) -> FrameStream:
    """Stream the frames of ``path`` at ``fps`` frames per second (``None`` or 0: every frame).

    Frames come upright (ffmpeg applies the display rotation), scaled so that the longer side is
    at most ``settings.max_side``, each with its decoder presentation time.
    """
    rate = settings.analysis_fps if fps is None else fps
    return FrameStream(
        path=path,
        video=video,
        fps=rate if rate and rate > 0 else None,
        max_side=settings.max_side,
        tools=find_tools(settings),
    )


# --------------------------------------------------------------------------------------------
# Audio


def iter_audio(
    path: Path,
    settings: Settings,
    *,
    chunk_seconds: float = 30.0,
    info: MediaInfo | None = None,
) -> Iterator[npt.NDArray[np.float32]]:
    """Decode the first audio stream to 16 kHz mono float32, in chunks of ``chunk_seconds``.

    Args:
        info: the file's probe, when the caller has it (saves probing again).

    Raises:
        MissingStreamError: the file has no audio stream.
        CorruptMediaError: nothing could be decoded.
    """
    info = info if info is not None else probe(path, settings)
    if info.audio is None:
        raise MissingStreamError(f"{path}: has no audio stream; give a file with sound")
    tools = find_tools(settings)
    cmd = (
        ffmpeg.input(_file_url(path), **_SAFE_INPUT)
        .audio.output("pipe:", format="f32le", acodec="pcm_f32le", ac=1, ar=AUDIO_RATE)
        .global_args("-hide_banner", "-nostdin", "-nostats", "-loglevel", "error")
        .compile(cmd=tools.ffmpeg)
    )
    chunk_bytes = 4 * max(1, int(chunk_seconds * AUDIO_RATE))
    proc = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    stderr_tail: deque[bytes] = deque(maxlen=20)
    drain = threading.Thread(
        target=lambda: stderr_tail.extend(iter(proc.stderr.readline, b"")),  # type: ignore[union-attr]
        daemon=True,
    )
    drain.start()
    produced = 0
    try:
        while True:
            data = _read_exact(proc.stdout, chunk_bytes)
            usable = len(data) - len(data) % 4
            if usable:
                produced += usable
                yield np.frombuffer(data[:usable], dtype="<f4").astype(np.float32)
            if len(data) < chunk_bytes:
                break
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        drain.join(timeout=5)
    if produced == 0 and proc.returncode != 0:
        detail = stderr_tail[-1].decode("utf-8", "replace").strip() if stderr_tail else ""
        raise CorruptMediaError(f"{path}: the audio could not be decoded ({detail})")


def load_audio(path: Path, settings: Settings) -> npt.NDArray[np.float32]:
    """The whole audio track as 16 kHz mono float32 (for short files; stream long ones)."""
    chunks = list(iter_audio(path, settings))
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
