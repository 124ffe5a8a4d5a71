"""Shared fixtures: media made with ffmpeg, the real GRID clip where ../shared is present."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

pytest_plugins = ["tests.services"]  # real PostgreSQL and Redis servers for the service tests

os.environ.setdefault("GLOG_minloglevel", "2")
# Property tests check invariants, not speed: no per-example deadline on a busy CI machine.
hypothesis_settings.register_profile("affectline", deadline=None)
hypothesis_settings.load_profile("affectline")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
GRID_CLIP = SHARED / "data" / "media" / "grid_s2_swwp2s.mpg"
FER_NPZ = SHARED / "data" / "fer2013" / "fer2013_train_val.npz"


def ffmpeg_exe() -> str:
    exe = shutil.which("ffmpeg")
    if exe:
        return exe
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def run_ffmpeg(*args: str) -> None:
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args],
        check=True,
        stdin=subprocess.DEVNULL,
    )


def face_image_path() -> Path:
    """Grace Hopper's portrait (US Navy, public domain), shipped with matplotlib."""
    from matplotlib import cbook

    return Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def make_media(media_dir: Path) -> Callable[..., Path]:
    """Build a file once per session with the given ffmpeg arguments (output last)."""

    def make(name: str, *args: str) -> Path:
        out = media_dir / name
        if not out.exists():
            run_ffmpeg(*args, str(out))
        return out

    return make


@pytest.fixture(scope="session")
def face_image() -> Path:
    return face_image_path()


@pytest.fixture(scope="session")
def face_clip(make_media: Callable[..., Path], face_image: Path) -> Path:
    """3 s, 25 fps, 256x300 H.264 clip of a still face, with a 440 Hz tone."""
    return make_media(
        "face.mp4",
        "-loop", "1", "-framerate", "25", "-i", str(face_image),
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
        "-t", "3", "-vf", "scale=256:300", "-c:v", "libx264", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-shortest",
    )  # fmt: skip


@pytest.fixture(scope="session")
def two_face_clip(make_media: Callable[..., Path], face_image: Path) -> Path:
    """4 s clip at 10 fps, 640x376: two faces side by side (the portrait and its mirror)."""
    return make_media(
        "two_faces.mp4",
        "-loop", "1", "-framerate", "10", "-i", str(face_image),
        "-filter_complex", "[0:v]split[a][b];[b]hflip[c];[a][c]hstack,scale=640:376",
        "-t", "4", "-c:v", "libx264", "-pix_fmt", "yuv420p",
    )  # fmt: skip


@pytest.fixture(scope="session")
def bars_clip(make_media: Callable[..., Path]) -> Path:
    """2 s of colour bars, no faces, 30 fps."""
    return make_media(
        "bars.mp4",
        "-f", "lavfi", "-i", "smptebars=size=320x240:rate=30", "-t", "2",
        "-c:v", "libx264", "-pix_fmt", "yuv420p",
    )  # fmt: skip


@pytest.fixture(scope="session")
def silence_wav(make_media: Callable[..., Path]) -> Path:
    return make_media("silence.wav", "-f", "lavfi", "-i", "anullsrc=r=44100:cl=stereo", "-t", "2")


@pytest.fixture(scope="session")
def rotated_clip(make_media: Callable[..., Path], face_clip: Path) -> Path:
    """The face clip stored sideways with a 90-degree display rotation in the metadata."""
    sideways = make_media("sideways.mp4", "-i", str(face_clip), "-vf", "transpose=2",
                          "-c:v", "libx264", "-pix_fmt", "yuv420p", "-an")  # fmt: skip
    out = sideways.with_name("rotated.mp4")
    if not out.exists():
        # Tag the stream so that players turn it back upright (90 degrees clockwise).
        try:
            run_ffmpeg("-display_rotation", "-90", "-i", str(sideways), "-c", "copy", str(out))
        except subprocess.CalledProcessError:  # ffmpeg < 6 has no -display_rotation
            run_ffmpeg("-i", str(sideways), "-c", "copy", "-metadata:s:v:0", "rotate=270",
                       str(out))  # fmt: skip
    return out


@pytest.fixture(scope="session")
def vfr_clip(make_media: Callable[..., Path]) -> Path:
    """Variable frame rate: frames at irregular times (Matroska keeps them)."""
    return make_media(
        "vfr.mkv",
        "-f", "lavfi", "-i", "testsrc=size=160x120:rate=30", "-t", "3",
        "-vf", "select='not(between(t,1,1.6))'", "-fps_mode", "vfr",
        "-c:v", "libx264", "-pix_fmt", "yuv420p",
    )  # fmt: skip


@pytest.fixture(scope="session")
def truncated_clip(make_media: Callable[..., Path], media_dir: Path) -> Path:
    """An MPEG-TS clip cut at 40% of its bytes."""
    full = make_media(
        "long.ts",
        "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-t", "10",
        "-c:v", "mpeg2video", "-f", "mpegts",
    )  # fmt: skip
    out = media_dir / "truncated.ts"
    data = full.read_bytes()
    out.write_bytes(data[: int(len(data) * 0.4)])
    return out


@pytest.fixture(scope="session")
def bad_files(media_dir: Path, face_clip: Path) -> dict[str, Path]:
    """Files that must fail cleanly."""
    d = media_dir / "bad"
    d.mkdir(exist_ok=True)
    empty = d / "empty.mp4"
    empty.write_bytes(b"")
    text = d / "notes.txt"
    text.write_text("these are not the frames you are looking for\n" * 20)
    corrupt = d / "corrupt.mp4"
    head = face_clip.read_bytes()[:64]
    corrupt.write_bytes(head + os.urandom(20_000))
    playlist = d / "list.m3u8"
    playlist.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:3\n#EXTINF:3.0,\n{face_clip}\n"
                        "#EXT-X-ENDLIST\n")  # fmt: skip
    concat = d / "list.ffconcat"
    concat.write_text(f"ffconcat version 1.0\nfile '{face_clip}'\n")
    return {"empty": empty, "text": text, "corrupt": corrupt, "playlist": playlist,
            "concat": concat}  # fmt: skip


def needs(path: Path) -> pytest.MarkDecorator:
    return pytest.mark.skipif(not path.exists(), reason=f"{path} is not available")


@pytest.fixture(scope="session")
def late_face_clip(make_media: Callable[..., Path], face_image: Path) -> Path:
    """4 s at 10 fps: an empty grey picture, the face from 1.5 s to 2.5 s only."""
    return make_media(
        "late_face.mp4",
        "-f", "lavfi", "-i", "color=c=gray:size=256x300:rate=10",
        "-loop", "1", "-framerate", "10", "-i", str(face_image),
        "-filter_complex", "[1:v]scale=256:300[f];[0:v][f]overlay=enable='between(t,1.5,2.45)'",
        "-t", "4", "-c:v", "libx264", "-pix_fmt", "yuv420p",
    )  # fmt: skip


def espeak(text: str, out: Path, *extra: str) -> Path:
    exe = shutil.which("espeak-ng") or shutil.which("espeak")
    if exe is None:
        pytest.skip("espeak-ng is not installed (Debian: apt-get install espeak-ng)")
    subprocess.run([exe, "-w", str(out), *extra, text], check=True, stdin=subprocess.DEVNULL,
                   capture_output=True)  # fmt: skip
    return out


@pytest.fixture(scope="session")
def speech_wav(media_dir: Path) -> Path:
    """About 6 s of synthetic English speech in two sentences, with a pause between them."""
    out = media_dir / "speech.wav"
    if not out.exists():
        a = espeak("The quick brown fox jumps over the lazy dog.", media_dir / "a.wav")
        b = espeak("I did not expect the results to be so good today.", media_dir / "b.wav")
        run_ffmpeg("-i", str(a), "-f", "lavfi", "-t", "1.5", "-i", "anullsrc=r=22050:cl=mono",
                   "-i", str(b), "-filter_complex", "[0:a][1:a][2:a]concat=n=3:v=0:a=1",
                   str(out))  # fmt: skip
    return out


@pytest.fixture(scope="session")
def talking_clip(make_media: Callable[..., Path], face_image: Path, speech_wav: Path) -> Path:
    """The portrait as a video with the synthetic speech as its sound."""
    return make_media(
        "talking.mp4",
        "-loop", "1", "-framerate", "10", "-i", str(face_image), "-i", str(speech_wav),
        "-vf", "scale=256:300", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac",
        "-shortest",
    )  # fmt: skip


@pytest.fixture(scope="session")
def music_wav(make_media: Callable[..., Path]) -> Path:
    """5 s of chords: sustained harmonic sound that is not speech."""
    return make_media(
        "music.wav",
        "-f", "lavfi", "-i", "sine=frequency=261.6:duration=5",
        "-f", "lavfi", "-i", "sine=frequency=329.6:duration=5",
        "-f", "lavfi", "-i", "sine=frequency=392.0:duration=5",
        "-filter_complex", "amix=inputs=3", "-ar", "44100",
    )  # fmt: skip
