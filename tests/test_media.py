from __future__ import annotations

import subprocess
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from multimodal import media
from multimodal.errors import (
    CorruptMediaError,
    EmptyMediaError,
    MediaNotFoundError,
    MissingStreamError,
    NotMediaError,
    ToolError,
    UnsafeMediaError,
)
from multimodal.settings import load_settings
from tests.conftest import GRID_CLIP, needs

SETTINGS = load_settings()


def test_probe_video_with_audio(face_clip: Path) -> None:
    info = media.probe(face_clip, SETTINGS)
    assert "mp4" in info.container
    assert info.duration == pytest.approx(3.0, abs=0.1)
    v = info.video
    assert v is not None and (v.width, v.height) == (256, 300)
    assert v.rotation == 0 and not v.is_still
    assert v.nominal_fps == pytest.approx(25)
    assert v.frame_count == 75 and v.real_fps == pytest.approx(25, abs=0.5)
    assert info.audio is not None and info.audio.sample_rate == 44100
    assert info.audio.channels == 1


def test_probe_audio_only_and_image(silence_wav: Path, face_image: Path) -> None:
    audio = media.probe(silence_wav, SETTINGS)
    assert audio.video is None
    assert audio.audio is not None and audio.audio.channels == 2
    image = media.probe(face_image, SETTINGS)
    assert image.audio is None and image.video is not None
    assert image.video.is_still and image.video.frame_count == 1 and image.duration == 0.0


def test_probe_rotation(rotated_clip: Path) -> None:
    v = media.probe(rotated_clip, SETTINGS).video
    assert v is not None
    assert abs(v.rotation) == 90
    assert (v.width, v.height) == (300, 256)
    assert (v.display_width, v.display_height) == (256, 300)


def test_probe_counts_frames_when_container_does_not(vfr_clip: Path) -> None:
    v = media.probe(vfr_clip, SETTINGS).video
    assert v is not None and v.frame_count is None  # Matroska states no count
    counted = media.probe(vfr_clip, SETTINGS, count_frames=True).video
    assert counted is not None
    assert counted.frame_count == 71  # 90 frames minus the 19 from 1.0 to 1.6 s inclusive
    assert counted.real_fps is not None and counted.real_fps < 30


@pytest.mark.parametrize("fixture", ["face_clip", "silence_wav", "rotated_clip"])
def test_probe_without_ffprobe_agrees(fixture: str, request: pytest.FixtureRequest) -> None:
    path = request.getfixturevalue(fixture)
    tools = media.find_tools(SETTINGS)
    fallback = media._probe_with_ffmpeg(path, tools.ffmpeg)
    assert tools.ffprobe is not None
    full = media._probe_with_ffprobe(path, tools.ffprobe)
    assert (fallback.video is None) == (full.video is None)
    assert (fallback.audio is None) == (full.audio is None)
    if full.video is not None and fallback.video is not None:
        assert fallback.video.display_width == full.video.display_width
        assert fallback.video.display_height == full.video.display_height
        assert fallback.video.rotation == full.video.rotation
        assert fallback.video.nominal_fps == pytest.approx(full.video.nominal_fps)
    if full.audio is not None and fallback.audio is not None:
        assert fallback.audio.sample_rate == full.audio.sample_rate
        assert fallback.audio.channels == full.audio.channels
    assert fallback.duration == pytest.approx(full.duration, abs=0.05)


def test_imageio_ffmpeg_binary_works(face_clip: Path) -> None:
    import imageio_ffmpeg

    settings = load_settings(ffmpeg_path=imageio_ffmpeg.get_ffmpeg_exe())
    info = media.probe(face_clip, settings)
    with media.open_frames(face_clip, info.video, settings) as frames:  # type: ignore[arg-type]
        assert len(list(frames)) == 15


def test_missing_ffmpeg_setting_is_clear() -> None:
    with pytest.raises(ToolError, match="AFFECTLINE_FFMPEG_PATH"):
        media.find_tools(load_settings(ffmpeg_path="/nonexistent/ffmpeg"))


def test_frames_at_analysis_rate_carry_presentation_times(face_clip: Path) -> None:
    info = media.probe(face_clip, SETTINGS)
    with media.open_frames(face_clip, info.video, SETTINGS) as stream:  # type: ignore[arg-type]
        frames = list(stream)
    assert [f.index for f in frames] == list(range(15))
    assert [round(f.time, 3) for f in frames] == [round(0.2 * i, 3) for i in range(15)]
    assert frames[0].image.shape == (300, 256, 3) and frames[0].image.dtype == np.uint8
    assert stream.warnings == []


def test_every_frame_and_other_rates(face_clip: Path) -> None:
    info = media.probe(face_clip, SETTINGS)
    assert info.video is not None
    with media.open_frames(face_clip, info.video, SETTINGS, fps=0) as stream:
        times = [f.time for f in stream]
    assert len(times) == 75
    assert np.allclose(np.diff(times), 0.04)
    with media.open_frames(face_clip, info.video, SETTINGS, fps=2) as stream:
        assert [round(f.time, 2) for f in stream] == [0.0, 0.52, 1.0, 1.52, 2.0, 2.52]


def test_variable_frame_rate_keeps_real_times(vfr_clip: Path) -> None:
    info = media.probe(vfr_clip, SETTINGS)
    assert info.video is not None
    with media.open_frames(vfr_clip, info.video, SETTINGS, fps=5) as stream:
        times = [round(f.time, 3) for f in stream]
    # No frame between 1.0 and 1.6 s exists, so none is invented there.
    assert not any(1.0 < t < 1.6 for t in times)
    assert 1.6 in [round(t, 1) for t in times]


def test_rotation_is_applied(rotated_clip: Path, face_clip: Path) -> None:
    info = media.probe(rotated_clip, SETTINGS)
    assert info.video is not None
    with media.open_frames(rotated_clip, info.video, SETTINGS) as stream:
        first = next(iter(stream))
    assert first.image.shape == (300, 256, 3)  # upright, like the original
    original_info = media.probe(face_clip, SETTINGS)
    with media.open_frames(face_clip, original_info.video, SETTINGS) as stream:  # type: ignore[arg-type]
        original = next(iter(stream))
    diff = np.abs(first.image.astype(int) - original.image.astype(int)).mean()
    assert diff < 12  # same picture, not a sideways one


def test_large_frames_are_scaled_down(make_media: Callable[..., Path]) -> None:
    big = make_media("big.mp4", "-f", "lavfi", "-i", "testsrc=size=1920x1080:rate=25", "-t",
                     "1", "-c:v", "libx264", "-pix_fmt", "yuv420p")  # fmt: skip
    settings = load_settings(max_side=640)
    info = media.probe(big, settings)
    with media.open_frames(big, info.video, settings) as stream:  # type: ignore[arg-type]
        frame = next(iter(stream))
    assert frame.image.shape == (360, 640, 3)


def test_still_image_is_one_frame(face_image: Path) -> None:
    info = media.probe(face_image, SETTINGS)
    with media.open_frames(face_image, info.video, SETTINGS) as stream:  # type: ignore[arg-type]
        frames = list(stream)
    assert len(frames) == 1 and frames[0].time == 0.0
    assert frames[0].image.shape == (600, 512, 3)


@pytest.mark.slow
def test_streaming_keeps_memory_bounded(make_media: Callable[..., Path]) -> None:
    """60 s of 720p: the reader holds one frame at a time, never the file."""
    clip = make_media("long720.mp4", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
                      "-t", "60", "-c:v", "libx264", "-preset", "ultrafast",
                      "-pix_fmt", "yuv420p")  # fmt: skip
    info = media.probe(clip, SETTINGS)
    tracemalloc.start()
    count = 0
    with media.open_frames(clip, info.video, SETTINGS, fps=5) as stream:  # type: ignore[arg-type]
        for _ in stream:
            count += 1
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == 300
    frame_bytes = 1280 * 720 * 3
    assert peak < 6 * frame_bytes  # 300 frames would be 830 MB


def test_stopping_early_stops_ffmpeg(face_clip: Path) -> None:
    info = media.probe(face_clip, SETTINGS)
    stream = media.open_frames(face_clip, info.video, SETTINGS, fps=0)  # type: ignore[arg-type]
    with stream:
        next(iter(stream))
    assert stream._proc is not None and stream._proc.poll() is not None


def test_audio_is_16k_mono_float32(face_clip: Path, silence_wav: Path) -> None:
    audio = media.load_audio(face_clip, SETTINGS)
    assert audio.dtype == np.float32
    assert abs(len(audio) - 3 * 16000) < 1600
    assert 0.1 < float(np.abs(audio).max()) <= 1.01  # the tone (amplitude 1/8) is there
    silent = media.load_audio(silence_wav, SETTINGS)
    assert len(silent) == 32000 and float(np.abs(silent).max()) == 0.0
    chunks = list(media.iter_audio(face_clip, SETTINGS, chunk_seconds=1.0))
    assert [len(c) for c in chunks[:2]] == [16000, 16000]


def test_audio_missing_stream(bars_clip: Path) -> None:
    with pytest.raises(MissingStreamError, match="no audio"):
        media.load_audio(bars_clip, SETTINGS)


def test_bad_inputs(bad_files: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(MediaNotFoundError, match="no such file"):
        media.probe(tmp_path / "nope.mp4", SETTINGS)
    with pytest.raises(MediaNotFoundError, match="not a regular file"):
        media.probe(tmp_path, SETTINGS)
    with pytest.raises(EmptyMediaError, match="empty"):
        media.probe(bad_files["empty"], SETTINGS)
    with pytest.raises(NotMediaError):
        media.probe(bad_files["text"], SETTINGS)
    with pytest.raises((NotMediaError, CorruptMediaError)):
        info = media.probe(bad_files["corrupt"], SETTINGS)
        with media.open_frames(bad_files["corrupt"], info.video, SETTINGS) as s:  # type: ignore[arg-type]
            list(s)


def test_network_urls_and_playlists_are_refused(bad_files: dict[str, Path]) -> None:
    with pytest.raises(UnsafeMediaError, match="only local files"):
        media.probe(Path("http://127.0.0.1:9/video.mp4"), SETTINGS)
    for key in ("playlist", "concat"):
        with pytest.raises((UnsafeMediaError, NotMediaError)) as err:
            media.probe(bad_files[key], SETTINGS)
        assert "playlist" in str(err.value) or "not a media file" in str(err.value)


def test_protocol_prefixed_names_are_files(tmp_path: Path, face_clip: Path) -> None:
    """A file literally named like an ffmpeg protocol is read as that local file."""
    odd = tmp_path / "concat:x.mp4"
    odd.write_bytes(face_clip.read_bytes())
    info = media.probe(odd, SETTINGS)
    assert info.video is not None


def test_truncated_video_decodes_what_it_can(truncated_clip: Path) -> None:
    info = media.probe(truncated_clip, SETTINGS)
    assert info.video is not None
    with media.open_frames(truncated_clip, info.video, SETTINGS) as stream:
        frames = list(stream)
    assert 10 <= len(frames) < 50
    assert stream.warnings and "truncated" in stream.warnings[0] or "errors" in stream.warnings[0]


@needs(GRID_CLIP)
def test_real_clip() -> None:
    info = media.probe(GRID_CLIP, SETTINGS, count_frames=True)
    assert info.container == "mpeg"
    assert info.video is not None and info.video.frame_count == 75
    assert info.audio is not None and info.audio.sample_rate == 44100
    with media.open_frames(GRID_CLIP, info.video, SETTINGS) as stream:
        assert len(list(stream)) == 15
    assert len(media.load_audio(GRID_CLIP, SETTINGS)) == pytest.approx(3 * 16000, abs=1000)


def test_ffmpeg_never_reads_stdin(face_clip: Path) -> None:
    """Frames decode with a closed stdin (CI runs with no standard input)."""
    code = (
        "from pathlib import Path; from multimodal import media; "
        "from multimodal.settings import load_settings; s = load_settings(); "
        f"p = Path({str(face_clip)!r}); i = media.probe(p, s); "
        "print(sum(1 for _ in media.open_frames(p, i.video, s)))"
    )
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         stdin=subprocess.DEVNULL, timeout=60, check=True)  # fmt: skip
    assert out.stdout.strip() == "15"
