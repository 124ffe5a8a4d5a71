"""Face coding speed: analysed frames per second and real-time factor on a clip.

Usage::

    python bench/face_speed.py [--clip FILE] [--fps 5] [--seconds 60] [--faces 3]

Without ``--clip`` it builds a 640x480 H.264 clip (``--seconds`` long) showing ``--faces`` copies
of a head-and-shoulders portrait that drift slowly, so that the landmarker has to find and track
several faces.
Prints one JSON line: frames analysed, media seconds, wall seconds, analysed frames per second,
the real-time factor (wall seconds per media second; target at 5 fps: at most 0.1) and the
decode-only share.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")

from multimodal.media import find_tools, open_frames, probe  # noqa: E402
from multimodal.pipeline import Analyzer  # noqa: E402
from multimodal.settings import load_settings  # noqa: E402


def make_clip(out: Path, seconds: float, faces: int) -> Path:
    from matplotlib import cbook

    portrait = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    ffmpeg = find_tools(load_settings()).ffmpeg
    slot = 640 // faces
    width = min(slot - 24, 300) // 2 * 2
    # Head and shoulders (the portrait's top 360 px, 320 wide): faces of about 100 px, as in a
    # video call grid. Much smaller faces are often missed by MediaPipe's short-range detector.
    height = int(width * 360 / 320) // 2 * 2
    inputs = ["-loop", "1", "-framerate", "25", "-i", str(portrait)]
    chains = [
        f"[0:v]crop=320:360:96:20,scale={width}:{height},split={faces}"
        + "".join(f"[f{i}]" for i in range(faces))
    ]
    chains.append("color=c=gray:size=640x480:rate=25[bg]")
    last = "bg"
    for i in range(faces):
        x = f"{i * slot + (slot - width) // 2}+8*sin(t*{0.5 + i * 0.2})"
        y = f"{(480 - height) // 2}+10*cos(t*{0.4 + i * 0.3})"
        chains.append(f"[{last}][f{i}]overlay=x='{x}':y='{y}':shortest=1[o{i}]")
        last = f"o{i}"
    cmd = [
        ffmpeg, "-hide_banner", "-loglevel", "error", "-y", *inputs,
        "-filter_complex", ";".join(chains), "-map", f"[{last}]", "-t", str(seconds),
        "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", str(out),
    ]  # fmt: skip
    subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clip", type=Path)
    parser.add_argument("--fps", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--faces", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        clip = args.clip or make_clip(Path(tmp) / "bench.mp4", args.seconds, args.faces)
        settings = load_settings(analysis_fps=args.fps)
        info = probe(clip, settings)
        assert info.video is not None and info.duration, "the clip needs video and a duration"

        started = time.perf_counter()
        with open_frames(clip, info.video, settings) as stream:
            decoded = sum(1 for _ in stream)
        decode_s = time.perf_counter() - started

        analyzer = Analyzer(settings, ["face"])
        started = time.perf_counter()
        result = analyzer.analyze(clip)
        total_s = time.perf_counter() - started

    faces = result.faces
    assert faces is not None
    frames = len(faces.frame_times)
    print(
        json.dumps(
            {
                "bench": "face_speed",
                "clip": str(args.clip) if args.clip else f"generated {args.faces} faces 640x480",
                "analysis_fps": args.fps,
                "media_seconds": round(info.duration, 2),
                "frames": frames,
                "frames_decoded_alone": decoded,
                "face_observations": int(faces.faces_per_frame.sum()),
                "tracks": len(faces.tracks),
                "wall_seconds": round(total_s, 3),
                "analysed_fps": round(frames / total_s, 1),
                "ms_per_frame": round(1000 * total_s / frames, 2),
                "real_time_factor": round(total_s / info.duration, 4),
                "decode_share": round(decode_s / total_s, 3),
                "target_real_time_factor": 0.1,
                "cpu_count": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()
