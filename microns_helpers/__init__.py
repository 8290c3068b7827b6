"""Helpers for the MICrONs Programmatic Access book.

The one entry point is :func:`connect`, a CAVEclient init that works on every
caveclient from 5.17 on::

    from microns_helpers import connect
    client = connect()          # minnie65_public, pinned to version 1078

Importing the package reads ``MICRONS_MODE``: with ``replay`` (or ``record``)
every HTTP request of the process, including those of plain caveclient code,
is answered from (or written to) the recorded responses.
"""

from . import recording
from .client import connect
from .errors import (
    InvalidInputError,
    MicronsHelpersError,
    ModeError,
    NoTokenError,
    NotRecordedError,
    RecordingDamagedError,
    ServerIncompatibleError,
    ServerUnreachableError,
    TokenRejectedError,
    UnknownDatastackError,
    UnsupportedCaveclientError,
    VersionNotAvailableError,
)

__version__ = "0.1.0"

__all__ = [
    "connect",
    "recording",
    "InvalidInputError",
    "MicronsHelpersError",
    "ModeError",
    "NoTokenError",
    "NotRecordedError",
    "RecordingDamagedError",
    "ServerIncompatibleError",
    "ServerUnreachableError",
    "TokenRejectedError",
    "UnknownDatastackError",
    "UnsupportedCaveclientError",
    "VersionNotAvailableError",
]

recording.activate_from_environment()
