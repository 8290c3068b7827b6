"""Tokens out of everything the modes store, replay or log: the one place secrets are
scrubbed.

A CAVE token can travel in a header, a query, a cookie, a JSON field or a body, plain,
URL-encoded or inside base64. :mod:`~microns_helpers.modes` learns each token it sees
(:func:`learn_secrets`) into one live set and scrubs what it records with
:func:`scrub_text` and :func:`scrub_body`; :mod:`~microns_helpers.cassette` scrubs replayed
answers (:func:`scrubbed_response`) and refuses to write a file that still holds a
:func:`token_needles`; :class:`ScrubbedLogs` keeps tokens out of other libraries' log lines.

    >>> scrub_text("GET /info?token=abc123def", {"abc123def"})
    'GET /info?token=REDACTED'
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
from typing import Iterable
from urllib.parse import quote, unquote

REDACTED = "REDACTED"
# Query parameters, JSON fields and cookies whose value is a token, whatever it is.
TOKEN_NAMES = {"token", "auth_token", "middle_auth_token", "access_token"}


def secret_forms(secrets: Iterable[str]) -> list[str]:
    """Each token as it may travel: plain and URL-encoded (with and without "/" kept);
    longest first, so a token that contains another is replaced whole."""
    forms = {
        form
        for secret in list(secrets)
        if secret
        for form in (secret, quote(secret, safe=""), quote(secret))
    }
    return sorted(forms, key=len, reverse=True)


def base64_forms(secret: bytes) -> list[bytes]:
    """Substrings that a base64 encoding of any data containing ``secret`` must contain.

    One per alignment of the secret within the 3-byte groups of base64, in the standard and
    the URL-safe alphabet.
    """
    forms = []
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + secret)
        start = 4 if offset else 0
        end = len(encoded) - (4 if (offset + len(secret)) % 3 else 0)
        if end - start >= 8:
            forms.append(encoded[start:end])
            forms.append(encoded[start:end].replace(b"+", b"-").replace(b"/", b"_"))
    return forms


def token_needles(secrets: Iterable[str]) -> list[bytes]:
    """What a stored file must not contain: each of :func:`secret_forms`, and its base64."""
    return [
        needle
        for form in secret_forms(secrets)
        for needle in [form.encode(), *base64_forms(form.encode())]
    ]


def learn_secrets(headers, secrets: set) -> None:
    """Add to ``secrets`` the tokens a request carries: ``CAVE_TOKEN``, the bearer token of
    its Authorization header, and its ``middle_auth_token`` cookie (plain and decoded)."""
    secrets.add(os.environ.get("CAVE_TOKEN", "").strip())
    auth = headers.get("Authorization") or ""
    if auth.lower().startswith("bearer "):
        secrets.add(auth.split(" ", 1)[1].strip())
    for match in re.finditer(r"middle_auth_token=([^;\s]+)", headers.get("Cookie") or ""):
        secrets.add(match.group(1))
        secrets.add(unquote(match.group(1)))
    secrets.discard("")


def scrub_text(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every form of each token replaced: plain, URL-encoded and base64."""
    for needle in token_needles(secrets):
        text = text.replace(needle.decode("utf-8"), REDACTED)
    return text


def scrub_body(body, secrets: Iterable[str]):
    """A request's or response's body (bytes) with every known token replaced, and the
    token-named fields of a JSON body redacted."""
    if not body:
        return body
    if isinstance(body, str):
        body = body.encode("utf-8")
    for form in secret_forms(secrets):
        body = body.replace(form.encode(), REDACTED.encode())
    if any(name.encode() in body for name in TOKEN_NAMES):
        try:
            parsed = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return body
        scrubbed = scrub_json(parsed)
        if scrubbed != parsed:
            body = json.dumps(scrubbed).encode("utf-8")
    return body


def scrub_json(value):
    """Parsed JSON with the value of every token-named field replaced, at any depth."""
    if isinstance(value, dict):
        return {
            k: REDACTED if str(k).lower() in TOKEN_NAMES else scrub_json(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [scrub_json(v) for v in value]
    return value


def scrubbed_response(response: dict, secrets: Iterable[str], is_text) -> dict:
    """A replayed response (vcrpy's dict) with every form of each token replaced, in its
    headers and, when ``is_text(body, headers)``, its body; binary bodies (Arrow) are left
    as they are.

    A recording made elsewhere may hold this learner's token (planted, or echoed by a
    server), and caveclient logs the Warning header and puts error bodies into the messages
    of its exceptions.
    """
    needles = token_needles(secrets)
    if not needles:
        return response

    def clean(data: bytes) -> bytes:
        for needle in needles:
            data = data.replace(needle, REDACTED.encode())
        return data

    headers = {
        name: [clean(str(value).encode("utf-8")).decode("utf-8") for value in values]
        for name, values in response["headers"].items()
    }
    body = response["body"]["string"] or b""
    if is_text(body, headers):
        body = clean(body)
    return {**response, "headers": headers, "body": {"string": body}}


class ScrubbedLogs(logging.Filter):
    """Hide the tokens of a live set in log records: vcrpy logs every request at DEBUG level
    as it arrives, caveclient logs a server's Warning header (which a careless server may
    fill with the Authorization header it got), urllib3 logs URLs."""

    def __init__(self, secrets: set):
        super().__init__()
        self.secrets = secrets

    def filter(self, record):
        if self.secrets:
            record.msg, record.args = scrub_text(record.getMessage(), self.secrets), None
        return True


SCRUBBED_LOGGERS = ("vcr", "caveclient", "urllib3")


def scrub_logs(log_filter: ScrubbedLogs) -> None:
    """Put ``log_filter`` on the loggers of vcrpy, caveclient and urllib3 that exist now.

    A logger's filters see only its own records, so each module logger gets one.
    """
    for name in list(logging.root.manager.loggerDict):
        if name.split(".")[0] in SCRUBBED_LOGGERS:
            logger = logging.getLogger(name)
            if log_filter not in logger.filters:
                logger.addFilter(log_filter)
