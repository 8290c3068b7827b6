"""The errors a learner can meet, each saying what happened and what to do next.

Every exception raised on purpose by :mod:`microns_helpers` is a subclass of
:class:`MicronsHelpersError`, so a notebook or a script can catch them all at once::

    try:
        client = connect()
    except MicronsHelpersError as err:
        print(err)
"""


class MicronsHelpersError(Exception):
    """Base class of every error raised on purpose by microns_helpers."""


# --- connecting (microns_helpers.client) -------------------------------------
class NoTokenError(MicronsHelpersError):
    """Live mode was asked for but no CAVE token was found."""


class TokenRejectedError(MicronsHelpersError):
    """The server answered 401 or 403 to our token."""


class UnknownDatastackError(MicronsHelpersError):
    """The info service does not know the datastack name."""


class VersionNotAvailableError(MicronsHelpersError):
    """The requested materialization version is not (or no longer) served."""


class ServerUnreachableError(MicronsHelpersError):
    """The server could not be reached, or did not answer in time."""


class ServerIncompatibleError(MicronsHelpersError):
    """The server is too old for the installed caveclient."""


class UnsupportedCaveclientError(MicronsHelpersError):
    """The installed caveclient is older than we support, or not importable."""


# --- recorded responses (microns_helpers.recording) ---------------------------
class NotRecordedError(MicronsHelpersError):
    """Replay mode met a request that was never recorded."""


class RecordingDamagedError(MicronsHelpersError):
    """A recording file could not be read."""


class ModeError(MicronsHelpersError):
    """An unknown mode was asked for (MICRONS_MODE or connect(mode=...))."""


# --- the chapters' helpers (synapses, plots, query) ---------------------------
class InvalidInputError(MicronsHelpersError, ValueError):
    """A helper was given input it cannot use (a missing column, an empty list of ids...)."""
