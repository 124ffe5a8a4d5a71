"""How far each modality is trusted: the one place where measured accuracy becomes a weight.

A modality's weight at a grid step is its *reliability* (here) times the observation's own
*confidence* at that step (face quality, speech probability times the share of the step with
speech, ASR word probability times the share of the step with words). See ``fusion/fuse.py``.

Reliability is the chance-corrected macro-F1 of the modality's emotion model on held-out data,
``(F1 - 1/7) / (1 - 1/7)`` for seven classes, times a *transfer* factor in ``(0, 1]`` that says
how well the figure can be expected to carry over to the recordings users bring:

============ ========== ======================================================= ========
modality     macro-F1   measured on (command)                                   transfer
============ ========== ======================================================= ========
face         0.616      FER2013 PublicTest odd half, in-the-wild faces          1.0
                        (``python bench/face_accuracy.py --images DIR``)
voice        0.713      RAVDESS, 6 folds x 3 actors left out, acted speech      0.5
                        (``python -m models.training.train_voice``)
text         0.629      GoEmotions Ekman dev, Reddit comments                   0.8
                        (``python bench/text_accuracy.py --tsv .../dev.tsv``)
============ ========== ======================================================= ========

The transfer factors are judgements, stated here so that they can be argued with:

* face: FER2013 is in-the-wild (varied people, light and pose), close to webcam recordings.
* voice: RAVDESS is 24 actors reading two sentences with acted emotion; the model read a neutral
  GRID sentence as joy 0.53 (``models/cards/voice-emotion.md``). Its within-corpus figure is the
  least likely to hold on spontaneous speech, so it is halved.
* text: GoEmotions is written Reddit text; transcripts are spoken and carry ASR errors.

Deployments with better models or their own measurements override these with
``AFFECTLINE_FUSION_RELIABILITY`` (JSON, e.g. ``{"voice": 0.4}``); every result records the
weights it used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

CHANCE = 1.0 / 7.0
"""Macro-F1 of guessing among the seven classes the three models share."""


@dataclass(frozen=True)
class Reliability:
    """One modality's measured accuracy and the weight derived from it.

    Attributes:
        macro_f1: macro-F1 on held-out data, 0-1.
        measured_on: the data set and split.
        command: the command that measured it.
        transfer: judged carry-over to users' recordings, in ``(0, 1]``.
    """

    macro_f1: float
    measured_on: str
    command: str
    transfer: float

    @property
    def weight(self) -> float:
        """Chance-corrected macro-F1 times transfer, in ``[0, 1]``."""
        corrected = (self.macro_f1 - CHANCE) / (1.0 - CHANCE)
        return max(0.0, min(1.0, corrected * self.transfer))

    def to_dict(self) -> dict[str, float | str]:
        return {
            "weight": round(self.weight, 4),
            "macro_f1": self.macro_f1,
            "transfer": self.transfer,
            "measured_on": self.measured_on,
            "command": self.command,
        }


RELIABILITY: Mapping[str, Reliability] = {
    "face": Reliability(
        0.616,
        "FER2013 PublicTest odd half (1,794 faces, in the wild)",
        "python bench/face_accuracy.py --images DIR",
        1.0,
    ),
    "voice": Reliability(
        0.713,
        "RAVDESS speech, leave-3-actors-out (6 folds, acted)",
        "python -m models.training.train_voice",
        0.5,
    ),
    "text": Reliability(
        0.629,
        "GoEmotions Ekman dev (Reddit comments)",
        "python bench/text_accuracy.py --tsv ../shared/data/goemotions/ekman/dev.tsv",
        0.8,
    ),
}
"""Reliability of each modality as measured by the benches (see the table above)."""


def weights(overrides: Mapping[str, float] | None = None) -> dict[str, float]:
    """Reliability weight per modality, with ``overrides`` (0-1) replacing measured ones.

    Raises:
        ValueError: an unknown modality or a weight outside ``[0, 1]``.
    """
    out = {name: r.weight for name, r in RELIABILITY.items()}
    for name, value in (overrides or {}).items():
        if name not in out:
            raise ValueError(f"unknown modality {name!r} in reliability overrides")
        if not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"reliability of {name} must be within [0, 1], got {value}")
        out[name] = float(value)
    return out
