"""Word error rate of the transcript step.

Usage::

    python bench/asr_wer.py --audio DIR

Every media file in ``DIR`` with a reference ``<name>.txt`` beside it is transcribed through the
product's path (Silero VAD speech windows, Whisper); words are compared after lower-casing and
removing punctuation. A GRID ``.align`` file (``start end word`` lines, ``sil``/``sp`` skipped)
also serves as the reference. Prints one JSON line: files, reference words, WER, and compute
seconds per second of audio.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")

from multimodal.pipeline import Analyzer  # noqa: E402
from multimodal.settings import load_settings  # noqa: E402

MEDIA = {".wav", ".flac", ".mp3", ".ogg", ".m4a", ".mp4", ".mkv", ".mov", ".mpg", ".webm"}


def words(text: str) -> list[str]:
    return re.sub(r"[^\w' ]+", " ", text.lower()).split()


def edit_distance(a: list[str], b: list[str]) -> int:
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def reference(path: Path) -> list[str] | None:
    txt = path.with_suffix(".txt")
    if txt.is_file():
        return words(txt.read_text(encoding="utf-8"))
    align = path.with_suffix(".align")
    if align.is_file():
        tokens = [ln.split()[-1] for ln in align.read_text().splitlines() if ln.strip()]
        return [t for t in tokens if t not in ("sil", "sp")]
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--audio", type=Path, required=True)
    args = parser.parse_args()
    pairs = [(p, reference(p)) for p in sorted(args.audio.rglob("*")) if p.suffix.lower() in MEDIA]
    pairs = [(p, r) for p, r in pairs if r is not None]
    if not pairs:
        raise SystemExit(f"no media with a reference .txt (or .align) under {args.audio}")
    analyzer = Analyzer(load_settings(), ["text"])
    errors = total = 0
    compute = audio = 0.0
    per_file = {}
    for path, ref in pairs:
        started = time.perf_counter()
        result = analyzer.analyze(path)
        compute += time.perf_counter() - started
        audio += result.media.duration or 0.0
        assert result.text is not None and ref is not None
        hyp = words(" ".join(u.text for u in result.text.utterances))
        e = edit_distance(ref, hyp)
        errors += e
        total += len(ref)
        per_file[path.name] = round(e / max(len(ref), 1), 4)
    print(
        json.dumps(
            {
                "bench": "asr_wer",
                "files": len(pairs),
                "reference_words": total,
                "wer": round(errors / max(total, 1), 4),
                "per_file": per_file if len(per_file) <= 20 else None,
                "seconds_per_audio_second": round(compute / max(audio, 1e-9), 4),
            }
        )
    )


if __name__ == "__main__":
    main()
