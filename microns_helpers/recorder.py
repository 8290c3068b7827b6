"""``microns-helpers record``: record every chapter's requests, then store replayed outputs.

For each chapter notebook, in a fresh kernel each time:

1. run it top to bottom in ``record`` mode, against the package's sample service
   (``--sample-service``, the default) or the live CAVE servers (``--live``, needs a token),
   into a staging copy of the recordings folder;
2. run it again in ``offline`` mode (the mode a learner runs; the same answers as replay)
   from that staging folder, with no token, so that the stored outputs are what a
   learner's screen shows;
3. only if both passed, and the replayed outputs and the recording hold neither the token
   nor a path of this machine, swap the new recording, its manifest entry and the notebook
   with those replayed outputs (execution counts 1..n) into place, each by an atomic rename
   on the target's own file system. A failure or a kill at any moment leaves the previous
   recording and notebook as they were, and no partial file behind.

One recorder at a time writes into a recordings folder (a lock on the folder; a second one
is refused at once). A folder it cannot write into is refused before anything runs.

Example, from the repository root::

    microns-helpers record                 # every notebook in chapters/
    microns-helpers record 02_basics       # one chapter
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from . import modes
from .cassette import (
    display_path,
    folder_lock,
    partial_beside,
    read_manifest,
    update_manifest,
)
from .errors import RecordingRefusedError
from .scrub import token_needles

REPO_ROOT = Path(__file__).resolve().parent.parent
# What the modes read; cleared from the kernels' environment unless set on purpose.
_MODE_VARIABLES = ("MICRONS_MODE", "MICRONS_RECORD_NAME", "MICRONS_RECORD_TARGET")

# Test-only: tests/test_recorder_safety.py kills a run at each of these moments, in order,
# with MICRONS_TEST_KILL_AT=<moment> (a deterministic crash instead of a timed one). Unset,
# as everywhere else, they do nothing.
KILL_POINTS = (
    "staged",  # the staging folder made, no kernel yet
    "recording",  # a kernel is recording the chapter
    "recorded",  # recorded, not replayed
    "replayed",  # replayed, nothing swapped in
    "notebook-written-aside",  # the new notebook written beside the old one
    "recording-renamed",  # the new recording in place, its manifest entry not yet
    "manifest-updated",  # recording and manifest in place, the notebook not yet
    "notebook-renamed",  # all three in place
)


def _kill_point(moment: str) -> None:
    """SIGKILL this run (its kernels too, when it leads its own process group) at ``moment``
    when MICRONS_TEST_KILL_AT names it."""
    if os.environ.get("MICRONS_TEST_KILL_AT") != moment:
        return
    if os.getpgrp() == os.getpid():
        os.killpg(os.getpgrp(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)


class _Renamed(argparse.Action):
    """The flag ``--standin``, renamed ``--sample-service``: said, instead of "unrecognized"."""

    def __call__(self, parser, namespace, values, option_string=None):
        parser.error(
            f"{option_string} is now --sample-service (the default, so it can be left out); "
            "--live records the live CAVE servers."
        )


def add_arguments(parser) -> None:
    """Add the ``record`` options to an argparse parser."""
    parser.add_argument(
        "notebooks",
        nargs="*",
        help="chapters to record, as names (02_basics) or paths; default: all of chapters/",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--sample-service",
        dest="source",
        action="store_const",
        const="sample",
        default="sample",
        help="record the package's sample service and its sample data (default)",
    )
    source.add_argument("--standin", nargs=0, action=_Renamed, help=argparse.SUPPRESS)
    source.add_argument(
        "--live",
        dest="source",
        action="store_const",
        const="live",
        help="record the live CAVE servers (needs a network and a CAVE token)",
    )
    parser.add_argument(
        "--chapters", type=Path, default=None, help="folder of the notebooks (default: chapters/)"
    )
    parser.add_argument(
        "--recordings",
        type=Path,
        default=None,
        help="folder to write the recordings to (default: MICRONS_RECORDINGS or the package's)",
    )
    parser.add_argument(
        "--timeout", type=int, default=300, help="seconds a cell may run (default: 300)"
    )


def run(args) -> int:
    """Record, then replay, every chosen notebook; returns the exit status."""
    try:
        notebooks = _chosen_notebooks(args.notebooks, args.chapters)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    folder = Path(args.recordings) if args.recordings else modes.recordings_dir()
    unwritable = _unwritable([folder, *{nb.parent for nb in notebooks}])
    if unwritable:
        print(f"error: {unwritable}", file=sys.stderr)
        return 2
    token = _users_token() if args.source == "live" else None
    if args.source == "live" and token is None:
        print(
            "error: recording the live service needs a CAVE token, and there is none in "
            "CAVE_TOKEN or ~/.cloudvolume/secrets/. Get one as the Setup chapter shows, "
            "or record the sample service instead (--sample-service).",
            file=sys.stderr,
        )
        return 2

    failures = 0
    with tempfile.TemporaryDirectory(prefix="microns-record-") as tmp, ExitStack() as stack:
        try:  # one recorder per folder: two would mix their recordings and manifests
            stack.enter_context(folder_lock(folder, wait=0))
        except RecordingRefusedError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        _remove_partials(folder, *{nb.parent for nb in notebooks})  # a killed run's
        record_home, replay_home = Path(tmp, "record-home"), Path(tmp, "replay-home")
        replay_home.mkdir()
        record_env = {}
        if args.source == "sample":
            from .sample import SampleService

            # A planted token: the sample service demands it, so the scrubbing is exercised.
            token = secrets.token_hex(16)
            _write_token(record_home, token)
            server = stack.enter_context(
                SampleService(local_server=modes.PUBLIC_LOCAL, required_token=token)
            )
            record_env = {
                "HOME": str(record_home),
                "CAVE_TOKEN": token,
                "MICRONS_RECORD_TARGET": server.url,
            }
        print(f"Recording {len(notebooks)} notebook(s) from {_source_words(args.source)}:")
        for notebook in notebooks:
            staging = Path(tmp, "staging", notebook.stem)
            failures += not _record_and_replay(
                notebook,
                folder,
                staging,
                record_env,
                replay_home,
                args.timeout,
                token,
                keep=args.source == "live",
            )
    print(f"Recordings in {display_path(folder)}: {_total_size(folder) / 1e6:.2f} MB in total.")
    return 1 if failures else 0


def _record_and_replay(
    notebook, folder, staging, record_env, replay_home, timeout, token, *, keep=True
) -> bool:
    """Record one notebook into ``staging``, replay it there, and only then swap it in.

    ``staging`` starts as a copy of ``folder`` without this chapter's recording. The
    recording, its manifest entry and the notebook's stored outputs replace the old ones
    only once the replay run of the new recording has passed, each by an atomic rename: a
    kill at any moment leaves the previous recording, manifest and notebook intact. Without
    ``keep`` (a recording of the sample) the recording is dropped and the chapter's old one,
    with its manifest entry, removed: replay answers those requests from the sample.
    """
    name = notebook.stem
    file_name = f"{name}.json"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    folder.mkdir(parents=True, exist_ok=True)
    for other in folder.glob("*.json"):
        if other.name != file_name:
            shutil.copy2(other, staging / other.name)
    update_manifest(staging, file_name, None)
    _kill_point("staged")

    start = time.perf_counter()
    env = {"MICRONS_MODE": "record", "MICRONS_RECORD_NAME": name, **record_env}
    recorded_nb = _execute(notebook, staging, env, timeout, "recording", kill_point="recording")
    if recorded_nb is None:
        return False
    refusal = _save_refusal(recorded_nb)
    if refusal:
        print(f"FAILED {notebook.name}: the recording was refused: {refusal}", flush=True)
        return False
    if token and _token_found(staging, token):
        print(f"FAILED {notebook.name}: the token is in its recording; nothing kept.", flush=True)
        return False
    recorded = time.perf_counter() - start
    _kill_point("recorded")
    entry = read_manifest(staging).get(file_name)
    if not keep:  # replay from the sample itself, as the tests and the site build will
        (staging / file_name).unlink(missing_ok=True)
        update_manifest(staging, file_name, None)

    start = time.perf_counter()
    executed = _execute(
        notebook,
        staging,
        # offline: the learner's mode, so the site shows what a learner's screen shows
        {"MICRONS_MODE": "offline", "HOME": str(replay_home), "CAVE_TOKEN": None},
        timeout,
        "replaying",
    )
    if executed is None:
        return False
    replayed = time.perf_counter() - start

    _kill_point("replayed")
    machine_path = _machine_path(executed, staging)
    if machine_path:  # as for a token: stored outputs are read on every machine
        print(f"FAILED {notebook.name}: {machine_path}", flush=True)
        return False
    try:
        _swap_in(notebook, executed, staging / file_name, folder, entry if keep else None)
    except OSError as err:
        print(f"FAILED {notebook.name} while saving: {err}; nothing changed.", flush=True)
        return False
    entry = entry or {}
    kept = "kept" if keep else "not kept: the sample answers them in replay"
    print(
        f"{notebook.name:<28} recorded {entry.get('interactions', 0):>3} requests "
        f"({entry.get('bytes', 0) / 1e3:.0f} kB; {kept}) in {recorded:.1f} s, "
        f"replayed in {replayed:.1f} s",
        flush=True,
    )
    return True


def _swap_in(notebook: Path, executed, recorded: Path, folder: Path, entry) -> None:
    """Put the new recording, its manifest entry and the notebook in place.

    Both files are first written whole beside their targets (the same file system as the
    target, whatever TMPDIR is, so each rename is atomic), then renamed in a row; whatever
    fails, no partial file is left.
    """
    import nbformat

    text = nbformat.writes(executed)
    text += "" if text.endswith("\n") else "\n"  # as nbformat.write ends a file
    partials = []
    try:
        partials.append(partial_beside(notebook, text.encode("utf-8")))
        _kill_point("notebook-written-aside")
        if recorded.is_file():
            partials.append(partial_beside(folder / recorded.name, recorded.read_bytes()))
            os.replace(partials[-1], folder / recorded.name)
        else:
            (folder / recorded.name).unlink(missing_ok=True)  # the chapter makes no request now
        _kill_point("recording-renamed")
        update_manifest(folder, recorded.name, entry)
        _kill_point("manifest-updated")
        os.replace(partials[0], notebook)
        _kill_point("notebook-renamed")
    finally:
        for partial in partials:
            partial.unlink(missing_ok=True)


def _remove_partials(*folders: Path) -> None:
    """The partial files a killed run left (kills cannot clean up), older names included."""
    for folder in folders:
        for partial in [*folder.glob(".*.partial"), *folder.glob("*.partial")]:
            partial.unlink(missing_ok=True)


def _unwritable(folders) -> str | None:
    """Why the recorder cannot write into one of ``folders`` (created if missing), or None."""
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tempfile.TemporaryFile(dir=folder).close()
        except OSError as err:
            return (
                f"cannot write into {display_path(folder)} "
                f"({err.strerror or type(err).__name__}), so nothing could be saved. Record "
                "into folders you can write to (--recordings, --chapters)."
            )
    return None


def _machine_paths() -> list[str]:
    """Paths of this machine that stored outputs must not show: they are read everywhere.

    Each ends in a slash: a leak names something under the folder (``/root/.venv/...``),
    while the bare name can be a word of a URL (a home of ``/root`` and the chunkedgraph's
    ``/root_timestamps`` route)."""
    paths = {str(REPO_ROOT), sys.prefix, sys.base_prefix, str(Path.home())}
    paths.add(tempfile.gettempdir())
    paths = {p.rstrip("/") + "/" for p in paths if len(p.rstrip("/")) > 1}
    return sorted(paths, key=len, reverse=True)


def _machine_path(executed, staging: Path) -> str | None:
    """Where the notebook's outputs or the recordings show a path of this machine, in words
    (a warning naming site-packages, a temporary folder), or None."""
    paths = _machine_paths()
    for number, cell in enumerate(executed.cells, 1):
        text = json.dumps(cell.get("outputs", []), ensure_ascii=False)
        found = next((p for p in paths if p in text), None)
        if found:
            return (
                f"the outputs of cell {number} show a path of this machine ({found}); "
                "nothing kept. Make the cell print no local path (or silence the warning "
                "that does), then record again."
            )
    for path in staging.glob("*.json"):
        found = next((p for p in paths if p.encode() in path.read_bytes()), None)
        if found:
            return f"{path.name} holds a path of this machine ({found}); nothing kept."
    return None


def _save_refusal(executed) -> str | None:
    """The reason a save was refused inside the recording kernel, if its outputs say so."""
    for cell in executed.cells:
        for output in cell.get("outputs", []):
            text = output.get("text", "")
            for line in text.splitlines() if isinstance(text, str) else []:
                if line.startswith("microns_helpers: the recording was not saved:"):
                    return line.split(":", 2)[-1].strip()
    return None


KERNEL_LOG_LINES = 20  # of the kernel's terminal output, on a failed run


def _execute(
    notebook: Path,
    folder: Path,
    env_changes: dict,
    timeout: int,
    doing: str,
    kill_point: str | None = None,
):
    """Run a notebook top to bottom in a fresh kernel; returns the executed notebook, or
    None when it failed, after saying so (``doing``: "recording", "replaying").

    ``kill_point``: the test-only moment (``_kill_point``) reached after each cell."""
    import nbformat
    from nbclient import NotebookClient

    from ._compat import encrypt_book_kernels

    encrypt_book_kernels()  # no "running over TCP without encryption" at each kernel start
    env = {k: v for k, v in os.environ.items() if k not in _MODE_VARIABLES}
    env.update(env_changes, MICRONS_RECORDINGS=str(folder.resolve()))
    env = {k: v for k, v in env.items() if v is not None}  # None: unset it
    # The kernels import the same microns_helpers as this process, installed or not.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    nb = nbformat.read(str(notebook), as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(notebook.parent)}},
        on_cell_executed=(lambda **_: _kill_point(kill_point)) if kill_point else None,
    )
    # The kernel process's own terminal output (not its cells'): ipykernel can print a
    # traceback of its own while shutting down after a run that went well (seen with
    # ipykernel 7.4.0 when two recorders run at once). Kept aside, and shown only when the
    # run fails, where it may say why.
    with tempfile.TemporaryFile() as kernel_log:
        try:
            return client.execute(env=env, stdout=kernel_log, stderr=kernel_log)
        except Exception as err:
            print(f"FAILED {notebook.name} while {doing}: {_short(err)}", flush=True)
            kernel_log.seek(0)
            said = kernel_log.read().decode(errors="replace").strip().splitlines()
            if said:
                print("  the kernel's own output ended with:", flush=True)
                print("\n".join(f"    {line}" for line in said[-KERNEL_LOG_LINES:]), flush=True)
            return None


def _chosen_notebooks(names, chapters) -> list[Path]:
    folder = Path(chapters) if chapters else _default_chapters()
    if not names:
        found = sorted(folder.glob("*.ipynb"))
        if not found:
            raise ValueError(f"no notebooks in {folder}; pass --chapters or notebook paths")
        return found
    chosen = []
    for name in names:
        path = Path(name)
        if not path.is_file():
            path = folder / (path.stem + ".ipynb")
        if not path.is_file():
            raise ValueError(f"no notebook {name!r} (looked in {folder})")
        chosen.append(path)
    return chosen


def _default_chapters() -> Path:
    in_repo = REPO_ROOT / "chapters"
    return in_repo if in_repo.is_dir() else Path("chapters")


def _users_token() -> str | None:
    """The token connect() would use (CAVE_TOKEN or caveclient's file), never shown."""
    from .client import find_token

    return find_token()[0]


def _write_token(home: Path, token: str) -> None:
    secrets_dir = home / ".cloudvolume" / "secrets"
    secrets_dir.mkdir(parents=True)
    (secrets_dir / "cave-secret.json").write_text(json.dumps({"token": token}))


def _token_found(folder: Path, token: str) -> bool:
    needles = token_needles([token])
    return any(needle in path.read_bytes() for path in folder.glob("*.json") for needle in needles)


def _total_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.glob("*.json"))


def _source_words(source: str) -> str:
    return "the sample service" if source == "sample" else "the live CAVE servers"


def _short(err: Exception) -> str:
    """The last line of an nbclient error (the exception in the cell), or the error itself."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(err)).strip().splitlines()
    return text[-1] if text else type(err).__name__
