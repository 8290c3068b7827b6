"""The errors a learner can meet, each saying what happened and what to do next.

Every exception raised on purpose by :mod:`microns_helpers` is a subclass of
:class:`MicronsHelpersError`, so a notebook or a script can catch them all at once; most
also have the built-in base a Python programmer would catch (``ConnectionError``,
``LookupError``, ``ValueError``)::

    try:
        client = connect()
    except MicronsHelpersError as err:
        print(err)
"""

from __future__ import annotations


class MicronsHelpersError(Exception):
    """Base class of every error raised on purpose by microns_helpers."""


# --- connecting (microns_helpers.client) -------------------------------------
class NoTokenError(MicronsHelpersError):
    """Live mode was asked for but no CAVE token was found."""


class TokenRejectedError(MicronsHelpersError, PermissionError):
    """The server answered 401 or 403 to our token."""


class UnknownDatastackError(MicronsHelpersError, LookupError):
    """The info service does not know the datastack name."""


class VersionNotAvailableError(MicronsHelpersError, LookupError):
    """The requested materialization version is not served.

    ``version`` is the version asked for; ``available_versions`` the valid versions the
    server listed (empty when they could not be listed).
    """

    def __init__(self, message: str, *, version=None, available_versions=()):
        super().__init__(message)
        self.version = version
        self.available_versions = list(available_versions)


class VersionExpiredError(VersionNotAvailableError):
    """The version existed but has expired: the server keeps its record, not its data.

    ``expired_on`` and ``time_stamp`` come from the server's version metadata (datetimes,
    or None where it gave none); the data of that moment can still be queried with
    ``timestamp=time_stamp``.
    """

    def __init__(self, message, *, version=None, available_versions=(), expired_on, time_stamp):
        super().__init__(message, version=version, available_versions=available_versions)
        self.expired_on = expired_on
        self.time_stamp = time_stamp


class ServerUnreachableError(MicronsHelpersError, ConnectionError):
    """The server could not be reached, or did not answer in time."""


class NetworkSignInError(ServerUnreachableError):
    """The network answered in place of the server: a sign-in page (hotel or campus wifi)."""


class ServerIncompatibleError(MicronsHelpersError):
    """The server is too old for the installed caveclient, or answered something else."""


class UnsupportedCaveclientError(MicronsHelpersError, ImportError):
    """The installed caveclient is older than we support, or not importable."""


class UnsupportedDependencyError(MicronsHelpersError, ImportError):
    """A library whose internals we work around is a release we have not checked."""


# --- modes and recorded responses (microns_helpers.modes) --------------------
class ModeError(MicronsHelpersError, ValueError):
    """An unknown mode was asked for (MICRONS_MODE or connect(mode=...)), or a bad setting."""


class NotRecordedError(MicronsHelpersError, LookupError):
    """Replay mode met a request that was never recorded.

    ``request`` is the request as replay saw it: ``"GET /path?query {body}"``, with any
    token removed.
    """

    def __init__(self, message: str, *, request: str = ""):
        super().__init__(message)
        self.request = request


class RecordingDamagedError(MicronsHelpersError):
    """A recording file could not be read."""


class RecordingRefusedError(MicronsHelpersError):
    """The recorder refused to write a recording (a token or a loopback address in it)."""


# --- the chapters' helpers (synapses, plots, query) ---------------------------
class InvalidInputError(MicronsHelpersError, ValueError):
    """A helper was given input it cannot use (a missing column, an empty list of ids...)."""


# --- neuroglancer links (microns_helpers.links) -------------------------------
class MissingExtraError(MicronsHelpersError, ImportError):
    """A chapter's optional extra (nglui, for the Neuroglancer chapter) is not installed."""
