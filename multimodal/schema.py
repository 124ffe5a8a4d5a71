"""The JSON Schema of ``result.json``, and a check that a document follows it.

``multimodal/schema/result.schema.json`` (draft 2020-12) is the reference documentation of the
result layout written by :func:`multimodal.results.result_dict`: every field with its shape,
range and unit. Its ``$id`` names the layout version (:data:`multimodal.results.SCHEMA_VERSION`).

Validation needs ``jsonschema``, a development dependency; it is imported only when a document
is validated, so that the package works without it.
"""

from __future__ import annotations

import json
import math
from functools import cache
from importlib.resources import files
from typing import Any

SCHEMA_RESOURCE = ("schema", "result.schema.json")
"""Where the schema lies inside the ``multimodal`` package."""

MAX_REPORTED_ERRORS = 5
"""Most validation errors listed in the message of :func:`validate_result`."""

_MAX_MESSAGE = 200


@cache
def _schema_text() -> str:
    return files("multimodal").joinpath(*SCHEMA_RESOURCE).read_text(encoding="utf-8")


def result_schema() -> dict[str, Any]:
    """The result schema as a new dict (the file is read once per process)."""
    schema: dict[str, Any] = json.loads(_schema_text())
    return schema


@cache
def _validator() -> Any:
    """A draft 2020-12 validator for which NaN and infinities are not numbers: JSON has none,
    and ``result.json`` is written with ``allow_nan=False``."""
    try:
        from jsonschema import Draft202012Validator, validators  # type: ignore[import-untyped]
    except ImportError as e:
        raise ImportError(
            "validating a result document needs the jsonschema package, a development "
            "dependency of affectline: pip install 'jsonschema>=4.20' (or install affectline "
            "with its dev extra)"
        ) from e
    base = Draft202012Validator.TYPE_CHECKER

    def finite_number(_checker: Any, instance: Any) -> bool:
        return bool(base.is_type(instance, "number")) and math.isfinite(instance)

    checker = base.redefine("number", finite_number)
    validator = validators.extend(Draft202012Validator, type_checker=checker)
    return validator(result_schema())


def _leaves(error: Any) -> list[tuple[str, str]]:
    """``(JSON path, message)`` of the errors that explain ``error``.

    An ``anyOf`` failure (a section that may be null, a value that may be one of two shapes)
    is explained by the alternative that got furthest into the document, rather than by one
    line saying that no alternative matched; a value of none of the allowed types says which
    types those were.
    """
    if not error.context:
        return [(error.json_path, str(error.message))]
    if all(e.validator == "type" and e.absolute_path == error.absolute_path for e in error.context):
        types = ", ".join(repr(e.validator_value) for e in error.context)
        return [(error.json_path, f"{error.instance!r} is not of type {types}")]
    branches: dict[Any, list[Any]] = {}
    for e in error.context:
        branches.setdefault(e.relative_schema_path[0], []).append(e)
    _, best = max(  # deepest first, then not just a wrong type, then the later alternative
        branches.items(),
        key=lambda kv: (max((len(e.absolute_path), e.validator != "type") for e in kv[1]), kv[0]),
    )
    return [leaf for e in best for leaf in _leaves(e)]


def validate_result(doc: Any) -> None:
    """Check a result document against the schema.

    ``doc`` is the parsed JSON or the dict :func:`multimodal.results.result_dict` returns; a
    NaN or infinite float in it is an error, as it is in JSON.

    Raises:
        ValueError: the document does not follow the schema; the message lists the first
            :data:`MAX_REPORTED_ERRORS` errors, each with its JSON path (``$.fusion.summary``).
        ImportError: ``jsonschema`` is not installed.
    """
    validator = _validator()
    errors = [leaf for e in validator.iter_errors(doc) for leaf in _leaves(e)]
    if not errors:
        return
    lines = []
    for path, message in errors[:MAX_REPORTED_ERRORS]:
        if len(message) > _MAX_MESSAGE:
            message = message[: _MAX_MESSAGE - 3] + "..."
        lines.append(f"  {path}: {message}")
    if len(errors) > MAX_REPORTED_ERRORS:
        lines.append(f"  ... and {len(errors) - MAX_REPORTED_ERRORS} more")
    schema_id = result_schema().get("$id", "the result schema")
    raise ValueError(
        f"the result document does not follow {schema_id} ({len(errors)} error(s)):\n"
        + "\n".join(lines)
    )
