"""The expression classifier: the shipped model, and any other ONNX model given in settings."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from models.face.expression import (
    INPUT_SIZE,
    LABELS,
    ExpressionClassifier,
    ExpressionConfig,
    packaged_model_path,
)
from multimodal.errors import ModelError, ModelNotFoundError


def tiny_onnx(path: Path, labels: tuple[str, ...] = LABELS, size: int = INPUT_SIZE) -> Path:
    """A made-up classifier: mean brightness times fixed weights, as an ONNX graph."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weights = np.linspace(-1, 1, len(labels)).astype(np.float32)[None, :]
    graph = helper.make_graph(
        [
            helper.make_node("GlobalAveragePool", ["faces"], ["pooled"]),
            helper.make_node("Flatten", ["pooled"], ["flat"]),
            helper.make_node("Gemm", ["flat", "w", "b"], ["logits"]),
        ],
        "tiny",
        [helper.make_tensor_value_info("faces", TensorProto.FLOAT, ["batch", 1, size, size])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", len(labels)])],
        [
            numpy_helper.from_array(weights * 4, "w"),
            numpy_helper.from_array(np.zeros(len(labels), np.float32), "b"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    entry = model.metadata_props.add()
    entry.key, entry.value = "labels", json.dumps(list(labels))
    onnx.save(model, str(path))
    return path


def test_a_model_from_settings_loads_and_predicts(tmp_path: Path) -> None:
    clf = ExpressionClassifier.from_settings(tiny_onnx(tmp_path / "tiny.onnx"))
    assert clf.info["origin"] == str(tmp_path / "tiny.onnx") and len(clf.info["sha256"]) == 64
    bright = clf.predict(np.full((2, 48, 48), 255, np.uint8))
    dark = clf.predict(np.zeros((48, 48), np.uint8))
    assert bright.shape == (2, 7) and dark.shape == (1, 7)
    assert np.allclose(bright.sum(1), 1)
    assert bright[0].argmax() == len(LABELS) - 1 and dark[0].argmax() in range(7)
    assert clf.predict(np.zeros((0, 48, 48), np.uint8)).shape == (0, 7)


def test_flip_averaging_is_symmetric(tmp_path: Path) -> None:
    clf = ExpressionClassifier(tiny_onnx(tmp_path / "t.onnx"), ExpressionConfig(flip=True))
    img = np.tile(np.arange(48, dtype=np.uint8) * 5, (48, 1))
    assert np.allclose(clf.predict(img), clf.predict(img[:, ::-1]))


def test_wrong_models_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="input of shape"):
        ExpressionClassifier(tiny_onnx(tmp_path / "big.onnx", size=64))
    with pytest.raises(ModelError, match="labels"):
        ExpressionClassifier(tiny_onnx(tmp_path / "l.onnx", labels=tuple(reversed(LABELS))))
    with pytest.raises(ModelNotFoundError):
        ExpressionClassifier.from_settings(tmp_path / "missing.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelError, match="could not be loaded"):
        ExpressionClassifier(tmp_path / "junk.onnx")


@pytest.mark.model
def test_shipped_model() -> None:
    path = packaged_model_path()
    assert path.is_file() and path.stat().st_size < 10 * 1024 * 1024
    clf = ExpressionClassifier.from_settings(None)
    assert clf.info["origin"] == "package:affectline"
    p = clf.predict(np.full((1, 48, 48), 128, np.uint8))
    assert np.allclose(p.sum(), 1)
