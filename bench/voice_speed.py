"""Speech stages' speed: seconds of compute per second of audio, for the voice stage (target: at
most 0.05) and for transcript plus text emotion (target: at most 0.1).

Usage::

    python bench/voice_speed.py [--audio FILE] [--minutes 3]

Without ``--audio`` it builds speech with espeak-ng (sentences with pauses, then a stretch of
silence, repeated to ``--minutes``). Prints one JSON line: audio seconds, speech segments and
utterances, wall seconds and cost per audio second of each stage, and peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")

from multimodal.media import find_tools  # noqa: E402
from multimodal.pipeline import Analyzer  # noqa: E402
from multimodal.settings import load_settings  # noqa: E402

SENTENCES = [
    "Thank you for coming in today, we would like to hear what you think of the new design.",
    "Honestly I found the checkout page confusing, and I almost gave up twice.",
    "That is wonderful news, I am really happy with how quickly it loaded.",
    "I am not sure what this button does, it could be anything at all.",
]


def make_speech(folder: Path, minutes: float) -> Path:
    espeak = shutil.which("espeak-ng") or shutil.which("espeak")
    if espeak is None:
        raise SystemExit("espeak-ng is needed to build the speech (apt-get install espeak-ng)")
    ffmpeg = find_tools(load_settings()).ffmpeg
    parts = []
    for i, text in enumerate(SENTENCES):
        wav = folder / f"s{i}.wav"
        subprocess.run([espeak, "-w", str(wav), text], check=True, capture_output=True)
        parts.append(wav)
    block = folder / "block.wav"
    inputs: list[str] = []
    for wav in parts:
        inputs += ["-i", str(wav), "-f", "lavfi", "-t", "0.8", "-i", "anullsrc=r=22050:cl=mono"]
    n = 2 * len(parts)
    inputs += ["-f", "lavfi", "-t", "5", "-i", "anullsrc=r=22050:cl=mono"]
    subprocess.run([ffmpeg, "-v", "error", "-y", *inputs, "-filter_complex",
                    "".join(f"[{i}:a]" for i in range(n + 1)) + f"concat=n={n + 1}:v=0:a=1",
                    str(block)], check=True)  # fmt: skip
    out = folder / "speech.wav"
    subprocess.run([ffmpeg, "-v", "error", "-y", "-stream_loop", "-1", "-i", str(block),
                    "-t", str(minutes * 60), str(out)], check=True)  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--audio", type=Path)
    parser.add_argument("--minutes", type=float, default=3.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        audio = args.audio or make_speech(Path(tmp), args.minutes)
        warm = Path(tmp) / "warm"
        warm.mkdir()
        warm_audio = make_speech(warm, 0.2)
        timings = {}
        for stage in ("voice", "text"):
            analyzer = Analyzer(load_settings(), [stage])
            analyzer.analyze(warm_audio)  # first calls compile and load lazily
            started = time.perf_counter()
            result = analyzer.analyze(audio)
            timings[stage] = (time.perf_counter() - started, result)
    voice = timings["voice"][1].voice
    text = timings["text"][1].text
    assert voice is not None and text is not None
    print(
        json.dumps(
            {
                "bench": "voice_speed",
                "audio_seconds": round(voice.duration, 1),
                "speech_segments": len(voice.segments),
                "speech_seconds": round(voice.speech_seconds, 1),
                "utterances": len(text.utterances),
                "voice_wall_seconds": round(timings["voice"][0], 2),
                "voice_seconds_per_audio_second": round(timings["voice"][0] / voice.duration, 4),
                "voice_target": 0.05,
                "text_wall_seconds": round(timings["text"][0], 2),
                "text_seconds_per_audio_second": round(timings["text"][0] / voice.duration, 4),
                "text_target": 0.1,
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
