from __future__ import annotations

import numpy as np
import pytest

from models.training.metrics import confusion_matrix, f1_per_class, report


def test_report() -> None:
    truth = np.array([0, 0, 1, 1, 2])
    pred = np.array([0, 1, 1, 1, 0])
    c = confusion_matrix(truth, pred, 3)
    assert c.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    assert f1_per_class(c) == pytest.approx([0.5, 0.8, 0.0])
    r = report(c, ["a", "b", "c"])
    assert r["accuracy"] == 0.6 and r["macro_f1"] == pytest.approx(0.4333, abs=1e-4)
    # A column of misses lowers recall, not precision.
    missed = np.hstack([c, [[1], [0], [0]]])
    assert report(missed, ["a", "b", "c"])["accuracy"] == 0.5
