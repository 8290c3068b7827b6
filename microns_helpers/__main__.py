"""``python -m microns_helpers doctor``: the same as the ``microns-helpers`` command."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
