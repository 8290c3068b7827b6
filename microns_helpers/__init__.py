"""Helpers for the MICrONs Programmatic Access book.

The one entry point is :func:`connect`, a CAVEclient init that works on every
caveclient from 5.17 on::

    from microns_helpers import connect
    client = connect()          # minnie65_public, pinned to the long-term version 1300

Importing the package reads ``MICRONS_MODE``: with ``offline``, ``replay`` or ``record``
every HTTP request of the process, including those of plain caveclient code, is answered
from (or written to) the recorded responses, and in offline mode by the package's sample
service for whatever was not recorded. A bad setting never breaks the import, and never
leaves the process live: every request fails with its error until it is fixed.
"""

import warnings

from . import _compat, modes, notebook_errors
from .client import choose_mode, connect
from .errors import (
    InvalidInputError,
    MicronsHelpersError,
    MissingExtraError,
    ModeError,
    NetworkSignInError,
    NoTokenError,
    NotRecordedError,
    RecordingDamagedError,
    RecordingRefusedError,
    ServerIncompatibleError,
    ServerUnreachableError,
    TokenRejectedError,
    UnknownDatastackError,
    UnsupportedCaveclientError,
    UnsupportedDependencyError,
    VersionExpiredError,
    VersionNotAvailableError,
)
from .notebook_errors import short_errors

__version__ = "0.2.0"

__all__ = [
    "choose_mode",
    "connect",
    "modes",
    "short_errors",
    "InvalidInputError",
    "MicronsHelpersError",
    "MissingExtraError",
    "ModeError",
    "NetworkSignInError",
    "NoTokenError",
    "NotRecordedError",
    "RecordingDamagedError",
    "RecordingRefusedError",
    "ServerIncompatibleError",
    "ServerUnreachableError",
    "TokenRejectedError",
    "UnknownDatastackError",
    "UnsupportedCaveclientError",
    "UnsupportedDependencyError",
    "VersionExpiredError",
    "VersionNotAvailableError",
]

modes.activate_from_environment()
if modes.active_mode() == "offline":
    # plain caveclient's skeletons, offline, with or without cloud-volume or a token
    from .client import install_segmentation_cloudvolume

    try:
        install_segmentation_cloudvolume()
    except UnsupportedDependencyError:
        pass  # never breaks the import: connect() raises it with what to install
_compat.owner_notices_once()
# In IPython (a notebook's kernel): a CAVE request the server refused is shown in a few
# lines, the full traceback one %tb away (MICRONS_SHORT_ERRORS=0 turns it off).
notebook_errors.register_from_environment()
# dask.distributed's in-process cluster asks the operating system which address would reach
# 8.8.8.8 (no packet is sent) and warns when there is no network; it then uses the loopback
# address, which is all the chapters need.
warnings.filterwarnings(
    "ignore", message="Couldn't detect a suitable IP address", category=RuntimeWarning
)
# nglui warns at import that CloudVolume is not installed, naming its site-packages path;
# the Neuroglancer chapter builds links only and never needs CloudVolume.
warnings.filterwarnings("ignore", message="CloudVolume is not available", category=UserWarning)
