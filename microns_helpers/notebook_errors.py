"""Short errors in a notebook: a CAVE request the server refused, in a few lines.

caveclient raises ``requests.HTTPError`` from deep inside its own code, and a notebook prints
the whole path there (some 80 lines for a typo'd table name) before the one sentence that
matters, the server's message. When :mod:`microns_helpers` is imported inside IPython (a
Jupyter kernel, the IPython shell), it registers a handler for those errors that prints the
error, the server's message and the line of the cell that sent the request; the full
traceback is one ``%tb`` away. Other errors are shown as usual.

Turn it off for the session with ``microns_helpers.short_errors(False)``, or for every
session with ``MICRONS_SHORT_ERRORS=0`` in the environment before the import.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from urllib.parse import urlsplit

from . import _compat

SETTING = "MICRONS_SHORT_ERRORS"
# The request went through caveclient when one of the traceback's frames is in it.
_CAVECLIENT = f"{os.sep}caveclient{os.sep}"
_MAX_MESSAGE = 600  # characters of the server's message shown


def short_errors(on: bool = True) -> bool:
    """Show CAVE errors short in this IPython session (True), or with their whole traceback
    (False). Returns whether the short display is on; outside IPython it is never on."""
    shell = _ipython()
    if shell is None:
        return False
    import requests

    if on and not shell.custom_exceptions:
        shell.set_custom_exc((requests.HTTPError,), _show_short)
    elif not on and shell.custom_exceptions == (requests.HTTPError,):
        shell.set_custom_exc((), None)
    return shell.custom_exceptions == (requests.HTTPError,)


def register_from_environment() -> None:
    """At import: the short display, unless MICRONS_SHORT_ERRORS says 0 (or false, off, no)."""
    if os.environ.get(SETTING, "1").strip().lower() in ("0", "false", "off", "no"):
        return
    short_errors(True)


def _ipython():
    # Only an IPython that is already running: a script never imports IPython because of us.
    if "IPython" not in sys.modules:
        return None
    try:
        return sys.modules["IPython"].get_ipython()
    except Exception:  # an IPython too old or too odd to ask: keep its own display
        return None


def _show_short(shell, etype, value, tb, tb_offset=None):
    """IPython's custom exception handler: the short form of a refused CAVE request, or the
    usual traceback for an HTTPError raised elsewhere."""
    # %tb reads these: the full traceback stays one magic away.
    sys.last_type, sys.last_value, sys.last_traceback = etype, value, tb
    if sys.version_info >= (3, 12):
        sys.last_exc = value
    frames = traceback.extract_tb(tb)
    response = getattr(value, "response", None)
    if response is None or not any(_CAVECLIENT in f.filename for f in frames):
        lines = shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
    else:
        lines = short_lines(value, frames)
    _compat.show_error_lines(shell, etype, value, lines)


def short_lines(error, frames) -> list[str]:
    """The lines shown for ``error`` (an HTTPError with its response), raised below ``frames``."""
    response = error.response
    service = _service(response)
    lines = [f"{type(error).__name__}: the {service} answered {_status(response)}."]
    message = server_message(response)
    if message:
        lines.append(f"Its message: {message}")
    where = _cell_line(frames)
    if where:
        lines.append(f"Sent by: {where}")
    lines.append(
        "Run %tb in the next cell for the full traceback; "
        "microns_helpers.short_errors(False) shows it every time."
    )
    return lines


def server_message(response) -> str:
    """The server's own sentence: the JSON ``message`` (or ``error``), else the text."""
    try:
        body = response.json()
    except (ValueError, json.JSONDecodeError):
        body = None
    if isinstance(body, dict):
        text = body.get("message") or body.get("error") or ""
    elif isinstance(body, str):
        text = body
    else:
        text = (response.text or "").strip()
    text = " ".join(str(text).split())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def _status(response) -> str:
    reason = response.reason or ""
    if isinstance(reason, bytes):
        reason = reason.decode("utf-8", "replace")
    return f"{response.status_code} {reason}".strip()


def _service(response) -> str:
    """The CAVE service of the request's path: materialization, chunkedgraph, ... (no host,
    no query: the rest of a URL can hold anything)."""
    path = urlsplit(response.url or "").path
    first = path.strip("/").split("/")[0] if path else ""
    names = {
        "materialize": "materialization service",
        "segmentation": "chunkedgraph service",
        "info": "info service",
        "schema": "schema service",
        "auth": "auth service",
        "skeletoncache": "skeleton service",
        "l2cache": "level-2 cache service",
    }
    return names.get(first, "server")


def _cell_line(frames) -> str:
    """The last line of the learner's own code the error passed through (a notebook cell's
    frames have no file on disk, or one in the kernel's temporary folder)."""
    own = [
        f
        for f in frames
        if _CAVECLIENT not in f.filename
        and "site-packages" not in f.filename
        and f"{os.sep}microns_helpers{os.sep}" not in f.filename
    ]
    if not own:
        return ""
    frame = own[-1]
    code = (frame.line or "").strip()
    return f"line {frame.lineno}: {code}" if code else f"line {frame.lineno}"
