"""Query a table for a long list of root ids, a chunk at a time, with a progress bar.

One request with ten thousand ids is slow to send, slow to answer, and its answer may be
cut at the server's row limit without you noticing. :func:`query_by_root_ids` sends the ids
in chunks, shows how far it has got, and joins the answers into one DataFrame::

    from microns_helpers.query import query_by_root_ids
    cells = query_by_root_ids(client, "aibs_metamodel_celltypes_v661", root_ids)

The chunks go through ``client.materialize.tables``, the filtering interface of chapter 4.
A chunk whose answer reaches the server's row cap is split in two and asked again, so no
chunk is cut. Offline, the sample service's notes that an answer holds fewer rows than live
(one per chunk) are said once, summed, at the end.
"""

from __future__ import annotations

import logging
import numbers
import re
import threading
import warnings
from collections.abc import Iterable

import numpy as np
import pandas as pd

from ._compat import CAVECLIENT_LOGGER, NOTICE, filter_fields
from .errors import InvalidInputError

#: The most rows the public materialization server returns for one query; a chunk that
#: comes back with this many rows has almost certainly been cut short.
SERVER_ROW_LIMIT = 200_000


def _progress_bar(total: int, desc: str, disable: bool):
    """A tqdm bar: a widget in Jupyter when ipywidgets is installed, else plain text."""
    from tqdm import TqdmWarning

    with warnings.catch_warnings():
        # Without ipywidgets, tqdm.auto warns and falls back to the text bar, which is
        # all we need: the warning would only be noise in a chapter's output.
        warnings.simplefilter("ignore", TqdmWarning)
        from tqdm.auto import tqdm
    # Redrawn every tenth of the chunks, whatever their speed: the same frames each run, so
    # a chapter's stored output does not depend on how fast the server answered.
    return tqdm(
        total=total,
        desc=desc,
        unit="chunk",
        disable=disable,
        miniters=max(1, -(-total // 10)),
        mininterval=0,
        maxinterval=float("inf"),
    )


class _PartialNotes(logging.Filter):
    """Takes the sample's "this answer holds N of about M rows" notes out of caveclient's
    log while a chunked query runs, and adds up their numbers; every other warning passes."""

    _NUMBERS = re.compile(r"holds ([0-9,]+) of about ([0-9,]+) rows")

    def __init__(self):
        super().__init__()
        # The sample's own module says what its notes look like (imported late: the sample
        # service is only needed offline).
        from .sample.engine import PARTIAL_MARK, partial_warning

        self._START = '199 - "' + PARTIAL_MARK
        self.summary = partial_warning
        self.held = self.live = self.notes = 0
        self.lock = threading.Lock()

    def filter(self, record) -> bool:
        text = record.getMessage()
        start = text.find(self._START)
        if start < 0:
            return True
        found = self._NUMBERS.search(text, start)
        if found:
            with self.lock:
                self.notes += 1
                self.held += int(found[1].replace(",", ""))
                self.live += int(found[2].replace(",", ""))
        end = text.find(NOTICE, start)
        rest = text[:start].removesuffix(", ") + (", " + text[end:] if end >= 0 else "")
        if not rest.strip(", "):
            return False
        record.msg, record.args = rest.strip(", "), ()
        return True


def _as_root_ids(root_ids) -> list[int]:
    """The ids as a list of Python ints, duplicates dropped, order kept."""
    if isinstance(root_ids, (str, bytes)) or not isinstance(root_ids, Iterable):
        hint = f"[{root_ids}]" if isinstance(root_ids, numbers.Integral) else "[...]"
        raise InvalidInputError(
            f"root_ids must be a list (or array, or Series) of root ids, got "
            f"{type(root_ids).__name__}. For a single neuron, pass a list of one: {hint}."
        )
    values = (
        list(np.asarray(root_ids, dtype=object).ravel())
        if hasattr(root_ids, "__array__")
        else list(root_ids)
    )
    if not values:
        raise InvalidInputError("root_ids is empty: there is nothing to query.")
    for value in values:
        if isinstance(value, (bool, np.bool_)):
            raise InvalidInputError(
                "root ids must be whole numbers, not booleans (True/False). Pass the ids "
                "themselves, e.g. df['pt_root_id'], not a mask such as df['pt_root_id'] > 0."
            )
        if not isinstance(value, numbers.Integral):
            raise InvalidInputError(
                f"root ids must be integers, but {value!r} is a {type(value).__name__}. A "
                "float cannot hold an 18-digit root id exactly: keep ids as int64 from the "
                "start."
            )
        if not 0 < int(value) < 2**64:
            raise InvalidInputError(
                f"{int(value)} is not a root id: root ids are between 1 and 2**64 (18-digit "
                "numbers such as 864691135808473885). Check where the id came from."
            )
    return list(dict.fromkeys(int(v) for v in values))


def _table_filter(client, table: str):
    """The filter class of ``client.materialize.tables`` for ``table``, or a clear error."""
    tables = client.materialize.tables
    if table not in tables:
        close = tables.find(table.split("_")[0]) if table else []
        hint = f" Tables with a similar name: {', '.join(close)}." if close else ""
        raise InvalidInputError(
            f"There is no table {table!r} in this materialization version.{hint} "
            "client.materialize.get_tables() lists them all."
        )
    return getattr(tables, table)


def query_by_root_ids(
    client,
    table: str,
    root_ids,
    *,
    column: str = "pt_root_id",
    chunk_size: int = 500,
    filters: dict | None = None,
    progress: bool = True,
    **query_kwargs,
) -> pd.DataFrame:
    """Rows of ``table`` whose ``column`` is one of ``root_ids``, queried chunk by chunk.

    Each chunk is one query through the tables interface of chapter 4,
    ``client.materialize.tables.<table>(<column>=chunk, **filters).query(**query_kwargs)``,
    so reference tables such as the cell-type tables are joined to their nuclei and can be
    filtered on ``pt_root_id``. The results are concatenated in the order of the chunks,
    with a fresh 0..n-1 index; duplicate ids are queried once. Nothing is cut at the
    server's row limit without a word: a chunk that reaches it is split in two and queried
    again, and only a single id whose rows alone reach it raises.

    ``filters`` are further filters of the same table (``{"cell_type": "BC"}``);
    ``query_kwargs`` go to ``.query()`` (``select_columns``, ``desired_resolution``,
    ``split_positions``...). For synapses, use ``table="synapses_pni_2"`` with
    ``column="pre_pt_root_id"`` or ``"post_pt_root_id"``.

    Example::

        cells = query_by_root_ids(client, "aibs_metamodel_celltypes_v661", partner_ids)
    """
    ids = _as_root_ids(root_ids)
    if not isinstance(chunk_size, numbers.Integral) or chunk_size < 1:
        raise InvalidInputError(
            f"chunk_size must be a whole number of at least 1, got {chunk_size!r}."
        )
    filters = dict(filters or {})
    if column in filters:
        raise InvalidInputError(
            f"filters already filters {column!r}, the column the chunks filter on. "
            "Put those ids in root_ids instead."
        )
    table_filter = _table_filter(client, table)
    fields = filter_fields(table_filter)
    unknown = [name for name in [column, *filters] if name not in fields]
    if unknown:
        raise InvalidInputError(
            f"{table} cannot be filtered on {', '.join(map(repr, unknown))}. "
            f"Its filter arguments are: {', '.join(fields)}."
        )

    chunks = [ids[start : start + chunk_size] for start in range(0, len(ids), chunk_size)]

    def ask(chunk, number):
        """The rows of one chunk; a chunk cut at the row cap is split in two and asked again."""
        frame = table_filter(**{column: chunk}, **filters).query(**query_kwargs)
        if len(frame) < SERVER_ROW_LIMIT:
            return [frame]
        if len(chunk) == 1:
            raise InvalidInputError(
                f"Root id {chunk[0]} (chunk {number} of {len(chunks)}) alone returned "
                f"{len(frame)} rows, the server's limit, so some rows are missing. Restrict "
                "the query further with filters (a box, the other end's root ids)."
            )
        half = len(chunk) // 2
        return ask(chunk[:half], number) + ask(chunk[half:], number)

    notes = _PartialNotes()
    logger = logging.getLogger(CAVECLIENT_LOGGER)
    logger.addFilter(notes)
    frames = []
    try:
        with _progress_bar(len(chunks), desc=table, disable=not progress) as bar:
            for number, chunk in enumerate(chunks, start=1):
                frames += ask(chunk, number)
                bar.update(1)
    finally:
        logger.removeFilter(notes)
    if notes.notes:
        # One note for the whole query, where each chunk would have said its own.
        logger.warning(notes.summary(notes.held, notes.live, notes.live))
    # Empty chunks are left out (pandas warns when concatenating them), unless all are.
    result = pd.concat([f for f in frames if len(f)] or frames[:1], ignore_index=True)
    # Each chunk's attrs name its own ids, so pandas drops them all; keep the resolution,
    # which every chunk shares and positions_um() needs.
    resolutions = {repr(f.attrs.get("dataframe_resolution")) for f in frames}
    if len(resolutions) == 1 and "dataframe_resolution" in frames[0].attrs:
        result.attrs["dataframe_resolution"] = frames[0].attrs["dataframe_resolution"]
    return result
