"""Whole-pipeline speed: each stage's share and the overall real-time factor.

Usage::

    python bench/pipeline_speed.py FILE [--fps 5] [--modalities face,voice,text]
    python bench/pipeline_speed.py --make-from CLIP --minutes 10 [--sentences TSV] [--keep OUT.mp4]

Runs ``affectline analyze`` on FILE at the defaults (every modality the file has), timing each
stage: probe, face coding, the speech pass (voice activity, voice emotion, ASR, text emotion),
fusion, and writing the results (JSON, CSVs, HTML report). Model loading is timed apart (it
happens once per process). ``--make-from`` builds a test recording first: the video of a short
talking-head clip (e.g. ``../shared/data/media/grid_s2_swwp2s.mpg``) looped to ``--minutes``,
with speech spoken by espeak-ng from varied sentences (the first column of ``--sentences``,
default GoEmotions' dev set beside the project), each at its own rate and pitch, with pauses of
0.3-1.5 s. Varied words matter: a looped clip repeats one sentence, which makes Whisper fall back
to re-decoding at higher temperatures and measures that instead of normal speech.

Prints one JSON line: media seconds, wall seconds, real-time factor (wall / media seconds;
target at most 0.15 here with every modality on), seconds and share of each stage, the share of
fusion plus reports (target at most 2 %), and peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")

from multimodal.media import find_tools  # noqa: E402
from multimodal.pipeline import Analyzer, parse_modalities  # noqa: E402
from multimodal.results import write_result  # noqa: E402
from multimodal.settings import load_settings  # noqa: E402

DEFAULT_SENTENCES = Path(__file__).resolve().parents[2] / "shared/data/goemotions/ekman/dev.tsv"


def make_recording(clip: Path, minutes: float, out: Path, sentences: Path | None) -> Path:
    """``clip``'s video looped to ``minutes``, with espeak-ng speech of varied sentences."""
    ffmpeg = find_tools(load_settings()).ffmpeg
    espeak = shutil.which("espeak-ng") or shutil.which("espeak")
    if espeak is None:
        raise SystemExit("espeak-ng is needed to build the speech (apt-get install espeak-ng)")
    source = sentences or DEFAULT_SENTENCES
    if not source.is_file():
        raise SystemExit(f"{source}: no sentences file; give --sentences FILE (one per line)")
    lines = [ln.split("\t")[0].strip() for ln in source.read_text(encoding="utf-8").splitlines()]
    lines = [ln for ln in lines if len(ln.split()) >= 4]
    rng = random.Random(0)
    work = out.parent / f".{out.stem}-parts"
    work.mkdir(exist_ok=True)
    listing, total, k = [], 0.0, 0
    while total < minutes * 60 + 5:
        wav = work / f"s{k}.wav"
        rate, pitch = str(rng.randint(140, 185)), str(rng.randint(30, 70))
        subprocess.run([espeak, "-s", rate, "-p", pitch, "-w", str(wav), lines[k % len(lines)]],
                       check=True, capture_output=True)  # fmt: skip
        pause = rng.uniform(0.3, 1.5)
        gap = work / f"g{k}.wav"
        subprocess.run([ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-t", f"{pause:.2f}", "-i",
                        "anullsrc=r=22050:cl=mono", str(gap)], check=True)  # fmt: skip
        listing += [f"file '{wav}'", f"file '{gap}'"]
        total += os.path.getsize(wav) / (2 * 22050) + pause
        k += 1
    (work / "list.txt").write_text("\n".join(listing) + "\n")
    subprocess.run([ffmpeg, "-v", "error", "-y", "-stream_loop", "-1", "-i", str(clip),
                    "-f", "concat", "-safe", "0", "-i", str(work / "list.txt"),
                    "-map", "0:v", "-map", "1:a", "-t", str(minutes * 60),
                    "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
                    "-c:a", "aac", str(out)], check=True)  # fmt: skip
    shutil.rmtree(work)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, nargs="?", help="The recording to analyse.")
    parser.add_argument("--fps", type=float, default=None, help="Analysis frames per second.")
    parser.add_argument("--modalities", default=None, help="Default: every one the file has.")
    parser.add_argument("--make-from", type=Path, help="Build the recording from this clip.")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--sentences", type=Path, help="Text for the speech (TSV, first column).")
    parser.add_argument("--keep", type=Path, help="Where to keep the built recording.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = args.file
        if path is None:
            if args.make_from is None:
                raise SystemExit("give a FILE, or --make-from CLIP to build one")
            path = make_recording(
                args.make_from, args.minutes, args.keep or Path(tmp) / "r.mp4", args.sentences
            )
        settings = load_settings(analysis_fps=args.fps)
        chosen = None if args.modalities is None else parse_modalities(args.modalities)
        started = time.perf_counter()
        analyzer = Analyzer(settings, chosen)
        load = time.perf_counter() - started

        started = time.perf_counter()
        result = analyzer.analyze(path)
        analysed = time.perf_counter()
        write_result(result, Path(tmp) / "out")
        written = time.perf_counter()

    wall = written - started
    stages = dict(result.timings)
    stages["write"] = written - analysed
    duration = result.duration or float("nan")
    fusion_and_reports = stages.get("fusion", 0.0) + stages["write"]
    print(
        json.dumps(
            {
                "file": str(path if args.file else args.make_from),
                "media_seconds": round(duration, 2),
                "modalities": list(result.modalities),
                "model_load_seconds": round(load, 2),
                "wall_seconds": round(wall, 2),
                "rtf": round(wall / duration, 4),
                "stages": {
                    k: {"seconds": round(v, 3), "share": round(v / wall, 4)}
                    for k, v in stages.items()
                },
                "stages_overlap": result.options.get("overlap_stages"),
                "fusion_and_reports_share": round(fusion_and_reports / wall, 4),
                "faces": len(result.faces.tracks) if result.faces else 0,
                "speech_segments": len(result.voice.segments) if result.voice else 0,
                "utterances": len(result.text.utterances) if result.text else 0,
                "key_moments": len(result.fusion.moments) if result.fusion else 0,
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            }
        )
    )


if __name__ == "__main__":
    main()
