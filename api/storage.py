"""Uploads and results on disk, under ``<data_dir>/jobs/<job id>/``.

An upload is parsed as it arrives (python-multipart's streaming parser): file parts go straight
to disk in 1 MB writes, form fields are kept in memory up to a small limit, and the upload is
stopped with 413 the moment it passes the size limit, so the server's memory does not grow
with the upload's size and a too-large upload is not read to its end.

Layout of a job's folder::

    upload/<n>.bin          the recording while it is kept (any name the client gave is
                            kept only in the job row, never used as a path)
    transcript.txt          a supplied transcript
    results/                result.json, timeline.csv, ... once the job succeeded
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from python_multipart.multipart import MultipartParser, parse_options_header

FIELD_LIMIT = 64 * 1024
"""Largest form field (not a file) in bytes."""
FILE_FIELDS = ("file", "transcript")
"""Form parts that are files; ``transcript`` is limited to :data:`TRANSCRIPT_LIMIT`."""
TRANSCRIPT_LIMIT = 20 * 1024 * 1024


class UploadError(Exception):
    """The upload is malformed or too large.

    Attributes:
        status: HTTP status to answer with (400, 413, 415 or 422).
        kind: the error type for the JSON body.
    """

    def __init__(self, message: str, status: int = 422, kind: str = "invalid") -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind


@dataclass
class Upload:
    """What a multipart upload brought.

    Attributes:
        fields: form fields (not files), decoded as UTF-8.
        files: form part name -> path on disk.
        filenames: form part name -> the file name the client gave.
        sizes: form part name -> bytes written.
    """

    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    filenames: dict[str, str] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)


def job_dir(data_dir: Path, job_id: str) -> Path:
    return data_dir / "jobs" / job_id


async def receive_upload(
    content_type: str, body: AsyncIterator[bytes], folder: Path, max_bytes: int
) -> Upload:
    """Parse a ``multipart/form-data`` body into ``folder`` as it arrives.

    Raises:
        UploadError: not multipart (415), malformed (400), a part or the whole larger than
            allowed (413).
    """
    kind, params = parse_options_header(content_type or "")
    boundary = params.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise UploadError(
            "send the recording as multipart/form-data with a 'file' part "
            "(e.g. curl -F file=@recording.mp4)",
            415,
            "unsupported_media",
        )
    folder.mkdir(parents=True, exist_ok=True)
    out = Upload()
    state: dict[str, object] = {"headers": {}, "name": None, "sink": None, "buf": bytearray()}
    header_field = bytearray()
    header_value = bytearray()
    total = 0

    def on_part_begin() -> None:
        state.update(headers={}, name=None, sink=None, buf=bytearray())

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_field.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        headers = state["headers"]
        assert isinstance(headers, dict)
        headers[bytes(header_field).lower()] = bytes(header_value)
        header_field.clear()
        header_value.clear()

    def on_headers_finished() -> None:
        headers = state["headers"]
        assert isinstance(headers, dict)
        _, disp = parse_options_header(headers.get(b"content-disposition", b""))
        name = disp.get(b"name", b"").decode("utf-8", "replace")
        state["name"] = name
        if b"filename" in disp:
            if name not in FILE_FIELDS:
                raise UploadError(f"unexpected file part {name!r}; send the recording as 'file'")
            if name in out.files:
                raise UploadError(f"more than one {name!r} part; send one recording per job")
            filename = disp[b"filename"].decode("utf-8", "replace")
            path = folder / ("upload.bin" if name == "file" else "transcript.txt")
            out.files[name] = path
            out.filenames[name] = Path(filename.replace("\\", "/")).name[:300] or "upload"
            out.sizes[name] = 0
            state["sink"] = path.open("wb")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        name = state["name"]
        sink = state["sink"]
        chunk = data[start:end]
        if sink is not None:
            assert isinstance(name, str)
            out.sizes[name] += len(chunk)
            if name == "transcript" and out.sizes[name] > TRANSCRIPT_LIMIT:
                raise UploadError("the transcript is larger than 20 MB", 413, "too_large")
            sink.write(chunk)  # type: ignore[attr-defined]
        else:
            buf = state["buf"]
            assert isinstance(buf, bytearray)
            buf.extend(chunk)
            if len(buf) > FIELD_LIMIT:
                raise UploadError(f"form field {name!r} is longer than {FIELD_LIMIT} bytes")

    def on_part_end() -> None:
        sink = state["sink"]
        if sink is not None:
            sink.close()  # type: ignore[attr-defined]
        else:
            name, buf = state["name"], state["buf"]
            assert isinstance(name, str) and isinstance(buf, bytearray)
            out.fields[name] = buf.decode("utf-8", "replace")

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    try:
        async for chunk in body:
            total += len(chunk)
            if total > max_bytes + FIELD_LIMIT:
                raise UploadError(too_large_message(max_bytes), 413, "too_large")
            parser.write(chunk)
            if out.sizes.get("file", 0) > max_bytes:
                raise UploadError(too_large_message(max_bytes), 413, "too_large")
        parser.finalize()
    except UploadError:
        _close(state)
        raise
    except Exception as e:  # python-multipart's parse errors
        _close(state)
        raise UploadError(f"the multipart body is malformed ({e})", 400, "invalid") from e
    if "file" not in out.files:
        raise UploadError("no 'file' part in the upload; send the recording as 'file'")
    return out


def too_large_message(max_bytes: int) -> str:
    return (
        f"the upload is larger than the limit of {max_bytes / 1e6:.0f} MB; "
        "cut or compress the recording, or raise AFFECTLINE_MAX_UPLOAD_MB"
    )


def _close(state: dict[str, object]) -> None:
    sink = state.get("sink")
    if sink is not None:
        sink.close()  # type: ignore[attr-defined]


def remove(path: Path | str | None) -> None:
    """Delete a file or folder if it exists."""
    if path is None:
        return
    p = Path(path)
    if p.is_dir():
        shutil.rmtree(p, ignore_errors=True)
    else:
        p.unlink(missing_ok=True)


def ensure_private(path: Path) -> None:
    """Uploads are people's faces and voices: their folder is readable by the owner only."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
