"""How far has the live CAVE service drifted from the committed recordings?

Pairs the requests of two recordings folders (the committed one and a fresh live
recording of the same chapters) and compares what the chapters rely on: the tables
present, and for every query its columns, dtypes and row count; other JSON answers by
their keys and lengths. Prints a Markdown report. Exit status: 0 no drift, 1 drift, 2 the
folders could not be read.

    microns-helpers record --live --recordings /tmp/live      # needs a CAVE token
    python tools/drift_check.py microns_helpers/recordings /tmp/live

The recordings are read with microns_helpers' own reader, so this follows its format.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from microns_helpers.cassette import describe_request, match_key, read_recording, recording_files
from microns_helpers.errors import MicronsHelpersError

LISTED = 8  # names listed per difference before "… and N more"


@dataclass
class Answer:
    """One recorded response, decoded."""

    request: str
    status: int
    content_type: str
    body: bytes

    def frame(self) -> pd.DataFrame | None:
        """The query result as caveclient reads it (an Arrow stream), else None."""
        if "arrow" not in self.content_type:
            return None
        import pyarrow as pa

        with pa.ipc.open_stream(io.BytesIO(self.body)) as reader:
            return reader.read_pandas()

    def json(self):
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return None


@dataclass
class Drift:
    """Differences found, by request."""

    only_committed: list[str] = field(default_factory=list)
    only_live: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.only_committed or self.only_live or self.changed)


def _names(label: str, names) -> str:
    names = sorted(map(str, names))
    shown = ", ".join(f"`{n}`" for n in names[:LISTED])
    more = f" … and {len(names) - LISTED} more" if len(names) > LISTED else ""
    return f"{label}: {shown}{more}"


def compare_frames(committed: pd.DataFrame, live: pd.DataFrame) -> list[str]:
    """Columns, dtypes and row count of two query results.

    >>> compare_frames(pd.DataFrame({"a": [1]}), pd.DataFrame({"a": [1.5], "b": [2]}))
    ['column added: `b`', 'dtype of `a`: int64 → float64']
    """
    problems = []
    added = [c for c in live.columns if c not in committed.columns]
    removed = [c for c in committed.columns if c not in live.columns]
    if added:
        problems.append(_names("column added", added))
    if removed:
        problems.append(_names("column removed", removed))
    for column in (c for c in committed.columns if c in live.columns):
        if committed[column].dtype != live[column].dtype:
            problems.append(
                f"dtype of `{column}`: {committed[column].dtype} → {live[column].dtype}"
            )
    if len(committed) != len(live):
        problems.append(f"rows: {len(committed)} → {len(live)}")
    return problems


def compare_json(committed, live) -> list[str]:
    """Names present (a list of names, such as the tables), keys, and lengths of two answers."""
    if type(committed) is not type(live):
        return [f"answer changed from {type(committed).__name__} to {type(live).__name__}"]
    problems = []
    if isinstance(committed, list) and all(isinstance(x, str) for x in committed + live):
        gone, new = set(committed) - set(live), set(live) - set(committed)
        if gone:
            problems.append(_names("no longer listed", gone))
        if new:
            problems.append(_names("newly listed", new))
    elif isinstance(committed, list):
        if len(committed) != len(live):
            problems.append(f"items: {len(committed)} → {len(live)}")
        if committed and live and all(isinstance(x, dict) for x in committed + live):
            problems += compare_json(committed[0], live[0])
    elif isinstance(committed, dict):
        gone, new = set(committed) - set(live), set(live) - set(committed)
        if gone:
            problems.append(_names("key removed", gone))
        if new:
            problems.append(_names("key added", new))
    return problems


def compare_answers(committed: Answer, live: Answer) -> list[str]:
    """What changed between two answers to the same request."""
    if committed.status != live.status:
        return [f"status: {committed.status} → {live.status}"]
    try:
        frames = committed.frame(), live.frame()
    except Exception as err:  # any unreadable body is one line of the report
        return [f"query result unreadable ({type(err).__name__}: {err})"]
    if frames[0] is not None and frames[1] is not None:
        return compare_frames(*frames)
    committed_json, live_json = committed.json(), live.json()
    if committed_json is not None and live_json is not None:
        return compare_json(committed_json, live_json)
    return [] if committed.body == live.body else ["body changed (neither JSON nor Arrow)"]


def load_answers(folder: Path) -> dict[tuple, Answer]:
    """Every recorded answer of a folder, by what replay matches on."""
    answers = {}
    for path in recording_files(folder):
        for request, response in read_recording(path):
            headers = {k.lower(): v[0] if v else "" for k, v in response["headers"].items()}
            answers[match_key(request)] = Answer(
                request=describe_request(request),
                status=response["status"]["code"],
                content_type=headers.get("content-type", ""),
                body=response["body"]["string"] or b"",
            )
    return answers


def find_drift(committed_folder: Path, live_folder: Path) -> Drift:
    """Compare two recordings folders request by request."""
    committed, live = load_answers(committed_folder), load_answers(live_folder)
    drift = Drift()
    for key in sorted(committed.keys() - live.keys(), key=str):
        drift.only_committed.append(committed[key].request)
    for key in sorted(live.keys() - committed.keys(), key=str):
        drift.only_live.append(live[key].request)
    for key in sorted(committed.keys() & live.keys(), key=str):
        problems = compare_answers(committed[key], live[key])
        if problems:
            drift.changed[committed[key].request] = problems
    return drift


def report(drift: Drift, committed_folder: Path, live_folder: Path) -> str:
    """The drift as Markdown, for a job summary or an issue."""
    lines = ["## Live drift check", ""]
    lines.append(f"Committed recordings `{committed_folder}` against live `{live_folder}`.")
    lines.append("")
    if not drift:
        return "\n".join(lines + ["No drift: every recorded answer has the same shape live."])
    lines.append(
        "The live service answers differently from the recordings the book replays. "
        "Check the chapters against the live service, then re-record "
        "(`microns-helpers record --live`) and review the diff."
    )
    if drift.changed:
        lines += ["", "### Answers that changed", ""]
        for request, problems in drift.changed.items():
            lines.append(f"- `{request}`")
            lines += [f"  - {problem}" for problem in problems]
    if drift.only_committed:
        lines += ["", "### Recorded requests the chapters no longer make live", ""]
        lines += [f"- `{request}`" for request in drift.only_committed]
    if drift.only_live:
        lines += ["", "### Requests made live that were never recorded", ""]
        lines += [f"- `{request}`" for request in drift.only_live]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("committed", type=Path, help="the committed recordings folder")
    parser.add_argument("live", type=Path, help="a folder recorded live just now")
    args = parser.parse_args(argv)
    for folder in (args.committed, args.live):
        if not recording_files(folder):
            print(f"error: no recordings in {folder}", file=sys.stderr)
            return 2
    try:
        drift = find_drift(args.committed, args.live)
    except MicronsHelpersError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(report(drift, args.committed, args.live))
    return 1 if drift else 0


if __name__ == "__main__":
    sys.exit(main())
