"""The ``microns-helpers`` command (also ``python -m microns_helpers``).

Example::

    $ microns-helpers doctor          # is this machine ready for the book?
    $ microns-helpers record          # re-record the chapters' responses (maintainers)
"""

from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    """Run the command line; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(
        prog="microns-helpers",
        description="Helpers for the MICrONs Programmatic Access book.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    from . import doctor

    doctor_parser = commands.add_parser(
        "doctor", help="check Python, caveclient, token, mode and server, one line each"
    )
    doctor.add_arguments(doctor_parser)
    doctor_parser.set_defaults(run=doctor.run)

    record_parser = commands.add_parser(
        "record", help="record the chapters' requests, then store their replayed outputs"
    )
    # The recorder (nbclient, kernels) is imported only when `record` is asked for.
    if argv[:1] == ["record"]:
        recorder = _recorder()
        if recorder is None:
            return 1
        recorder.add_arguments(record_parser)
        record_parser.set_defaults(run=recorder.run)

    args = parser.parse_args(argv)
    return args.run(args)


def _recorder():
    """microns_helpers.recorder, or None after saying why it cannot be imported."""
    try:
        from . import recorder
    except ImportError as err:
        print(
            f"microns-helpers record is not available: microns_helpers.recorder could not be "
            f"imported ({err}). Install the development requirements "
            "(pip install -r requirements-dev.txt) and try again.",
            file=sys.stderr,
        )
        return None
    return recorder
