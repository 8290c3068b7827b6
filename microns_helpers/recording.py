"""Live, replay and record modes for every HTTP request of the process.

Minimal first version: only ``live`` is implemented; ``replay`` and ``record``
follow.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from .errors import ModeError

MODES = ("live", "replay", "record")
PUBLIC_GLOBAL = "https://global.daf-apis.com"
PUBLIC_LOCAL = "https://minnie.microns-daf.com"

_active_mode = "live"


def current_mode() -> str:
    """The mode asked for by ``MICRONS_MODE`` (default ``live``)."""
    mode = os.environ.get("MICRONS_MODE", "").strip().lower() or "live"
    if mode not in MODES:
        raise ModeError(
            f"MICRONS_MODE={mode!r} is not a mode. Set it to one of {', '.join(MODES)}."
        )
    return mode


def recordings_dir() -> Path:
    """The recordings folder: ``MICRONS_RECORDINGS`` or the package's ``recordings/``."""
    override = os.environ.get("MICRONS_RECORDINGS")
    return Path(override) if override else Path(__file__).parent / "recordings"


def active_mode() -> str:
    """The mode in force in this process."""
    return _active_mode


def activate(mode: str, recordings: Optional[Path] = None) -> None:
    """Switch the process to ``mode``. Only ``live`` works in this first version."""
    if mode not in MODES:
        raise ModeError(f"mode={mode!r} is not a mode. Use one of {', '.join(MODES)}.")
    if mode != "live":
        raise NotImplementedError(f"{mode} mode is not implemented yet")


def activate_from_environment() -> None:
    """Activate the mode named by ``MICRONS_MODE``, if any."""
    mode = current_mode()
    if mode != "live":
        activate(mode)
