"""Webhooks: signed JSON POSTs when a job ends, retried with backoff.

The signature header is ``Affectline-Signature: t=<unix seconds>,v1=<hex>``, where ``v1`` is
HMAC-SHA256 with the API key's webhook secret over ``<t>.<raw body>`` (the scheme Stripe uses:
the timestamp inside the signed text stops replays of old bodies). A delivery that does not get
a 2xx answer within the timeout is tried again after :data:`BACKOFF` seconds; every attempt is
recorded on the job.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

SIGNATURE_HEADER = "Affectline-Signature"
BACKOFF: tuple[float, ...] = (30.0, 120.0, 480.0, 1920.0)
"""Seconds before the 2nd, 3rd, 4th and 5th attempt; after the 5th, delivery is given up."""
TOLERANCE = 300
"""Seconds a receiver should accept a signature's timestamp for."""


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, body: bytes, header: str, now: float | None = None) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` within :data:`TOLERANCE` seconds (for
    receivers, and for the tests)."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > TOLERANCE:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def next_delay(attempt: int) -> float | None:
    """Seconds until the attempt after ``attempt`` (1-based), ``None`` when it was the last."""
    return BACKOFF[attempt - 1] if attempt <= len(BACKOFF) else None


def check_url(url: str) -> str:
    """``url`` if it can receive webhooks.

    Raises:
        ValueError: not an absolute http(s) URL with a host, or credentials in it.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"callback_url must be an absolute http(s) URL, got {url!r}")
    if parts.username or parts.password:
        raise ValueError("callback_url must not contain credentials; the signature proves "
                         "the sender")  # fmt: skip
    if len(url) > 2000:
        raise ValueError("callback_url is longer than 2000 characters")
    return url.strip()


def body_of(event: str, job: dict[str, Any]) -> bytes:
    return json.dumps({"event": event, "job": job}, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Outcome:
    """What one delivery attempt came to."""

    ok: bool
    status_code: int | None
    error: str | None
    duration_ms: float


def post(
    client: httpx.Client,
    url: str,
    body: bytes,
    *,
    secret: str,
    event: str,
    delivery_id: str,
    timeout: float,
) -> Outcome:
    """POST ``body`` once; any 2xx answer is success. Never raises."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Affectline-Webhook/1",
        "Affectline-Event": event,
        "Affectline-Delivery": delivery_id,
        SIGNATURE_HEADER: sign(secret, body, int(time.time())),
    }
    started = time.perf_counter()
    try:
        answer = client.post(url, content=body, headers=headers, timeout=timeout,
                             follow_redirects=False)  # fmt: skip
    except httpx.TimeoutException:
        error = f"no answer within {timeout:g} s"
        return Outcome(False, None, error, (time.perf_counter() - started) * 1000)
    except httpx.HTTPError as e:
        return Outcome(False, None, f"could not connect ({type(e).__name__}: {e})",
                       (time.perf_counter() - started) * 1000)  # fmt: skip
    ms = (time.perf_counter() - started) * 1000
    if 200 <= answer.status_code < 300:
        return Outcome(True, answer.status_code, None, ms)
    return Outcome(False, answer.status_code, f"receiver answered {answer.status_code}", ms)
