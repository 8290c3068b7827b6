"""Tests of microns_helpers.query with a fake client that answers from a small table."""

import logging
from types import SimpleNamespace

import pandas as pd
import pytest

import microns_helpers.query as query
from microns_helpers.errors import InvalidInputError
from microns_helpers.query import query_by_root_ids
from microns_helpers.sample.engine import partial_warning

# caveclient's logger, by its public name (caveclient.base logs the server's warnings)
CAVECLIENT_LOGGER = "caveclient.base"

FIRST_ID = 864691135000000000


class FakeTables:
    """Stands for client.materialize.tables with one table, ``cells``, answered from a frame.

    Each query applies its filters the way caveclient does (a list means "is in", anything
    else "equals") and is logged in ``calls``.
    """

    def __init__(self, frame):
        self.frame = frame
        self.calls = []

    def __contains__(self, name):
        return name == "cells"

    def find(self, text):
        return ["cells"] if text.lower() in "cells" else []

    @property
    def cells(self):
        tables = self

        class CellsFilter:
            fields = list(tables.frame.columns)

            def __init__(self, **filters):
                self.filters = filters

            def query(self, **options):
                tables.calls.append({"filters": self.filters, "options": options})
                rows = tables.frame
                for column, wanted in self.filters.items():
                    if isinstance(wanted, list):
                        rows = rows[rows[column].isin(wanted)]
                    else:
                        rows = rows[rows[column] == wanted]
                rows = rows.copy()
                rows.attrs = {"dataframe_resolution": [4, 4, 40], "filters": self.filters}
                return rows

        return CellsFilter


class FakeClient:
    def __init__(self, frame):
        self.materialize = SimpleNamespace(tables=FakeTables(frame))

    @property
    def calls(self):
        return self.materialize.tables.calls


@pytest.fixture
def client():
    ids = [FIRST_ID + i for i in range(1200)]
    return FakeClient(pd.DataFrame({"pt_root_id": ids, "cell_type": ["23P", "BC", "MC"] * 400}))


def test_queries_in_chunks_and_concatenates_in_order(client):
    ids = [FIRST_ID + i for i in range(1199, -1, -1)]  # every id, in reverse order
    result = query_by_root_ids(client, "cells", ids, chunk_size=500, progress=False)
    sizes = [len(call["filters"]["pt_root_id"]) for call in client.calls]
    assert sizes == [500, 500, 200]
    assert len(result) == 1200
    assert result.index.tolist() == list(range(1200))
    # rows come chunk by chunk: the first chunk holds the 500 highest ids
    assert set(result["pt_root_id"][:500]) == set(ids[:500])


def test_duplicate_ids_are_queried_once(client):
    ids = [FIRST_ID, FIRST_ID + 1, FIRST_ID, FIRST_ID + 1]
    result = query_by_root_ids(client, "cells", ids, progress=False)
    assert client.calls[0]["filters"] == {"pt_root_id": ids[:2]}
    assert len(result) == 2


def test_passes_query_options_and_other_filters(client):
    result = query_by_root_ids(
        client,
        "cells",
        [FIRST_ID, FIRST_ID + 1],
        filters={"cell_type": "BC"},
        select_columns=["pt_root_id"],
        progress=False,
    )
    call = client.calls[0]
    assert call["options"] == {"select_columns": ["pt_root_id"]}
    assert call["filters"] == {"pt_root_id": [FIRST_ID, FIRST_ID + 1], "cell_type": "BC"}
    assert result["pt_root_id"].tolist() == [FIRST_ID + 1]  # the ids are 23P, BC, MC...


def test_keeps_the_resolution_the_chunks_share(client):
    ids = [FIRST_ID + i for i in range(10)]
    result = query_by_root_ids(client, "cells", ids, chunk_size=3, progress=False)
    assert result.attrs["dataframe_resolution"] == [4, 4, 40]


def test_ids_matching_nothing_give_an_empty_frame_with_the_columns(client):
    result = query_by_root_ids(client, "cells", [1, 2, 3], chunk_size=2, progress=False)
    assert len(result) == 0
    assert list(result.columns) == ["pt_root_id", "cell_type"]


def test_progress_bar_counts_chunks_on_stderr(client, capsys):
    query_by_root_ids(client, "cells", [FIRST_ID + i for i in range(5)], chunk_size=2)
    assert "3/3" in capsys.readouterr().err


def test_no_progress_bar_when_asked(client, capsys):
    query_by_root_ids(client, "cells", [FIRST_ID], progress=False)
    assert capsys.readouterr().err == ""


def test_a_chunk_at_the_row_limit_is_split_and_asked_again(client, monkeypatch):
    monkeypatch.setattr(query, "SERVER_ROW_LIMIT", 2)
    ids = [FIRST_ID + i for i in range(3)]
    df = query_by_root_ids(client, "cells", ids, chunk_size=2, progress=False)
    assert df["pt_root_id"].tolist() == ids
    asked = [call["filters"]["pt_root_id"] for call in client.calls]
    assert asked == [ids[:2], ids[:1], ids[1:2], ids[2:]]


def test_one_id_at_the_row_limit_is_an_error_not_a_silent_cut(client, monkeypatch):
    monkeypatch.setattr(query, "SERVER_ROW_LIMIT", 1)
    with pytest.raises(InvalidInputError, match=f"Root id {FIRST_ID} .*alone returned 1 rows"):
        query_by_root_ids(client, "cells", [FIRST_ID], progress=False)


def test_the_samples_partial_notes_are_said_once_summed(client, monkeypatch, caplog):
    logger = logging.getLogger(CAVECLIENT_LOGGER)
    original = FakeTables.cells.fget

    def noted(tables):
        filter_class = original(tables)

        class Noted(filter_class):
            def query(self, **options):
                rows = super().query(**options)
                logger.warning(
                    f'201 - "Limited query to 9 rows, {partial_warning(len(rows), 10, 10)}'
                )
                return rows

        return Noted

    monkeypatch.setattr(FakeTables, "cells", property(noted))
    ids = [FIRST_ID + i for i in range(3)]
    with caplog.at_level(logging.WARNING, logger=CAVECLIENT_LOGGER):
        query_by_root_ids(client, "cells", ids, chunk_size=2, progress=False)
    said = [r.getMessage() for r in caplog.records]
    assert said == ['201 - "Limited query to 9 rows'] * 2 + [partial_warning(3, 20, 20)], said


@pytest.mark.parametrize(
    ("root_ids", "message"),
    [
        (FIRST_ID, rf"list of one: \[{FIRST_ID}\]"),
        ("864691135808473885", "got str"),
        ([], "empty"),
        ([8.646911358084739e17], "must be integers"),
        ([FIRST_ID, None], "must be integers"),
    ],
)
def test_bad_root_ids_say_what_to_pass(client, root_ids, message):
    with pytest.raises(InvalidInputError, match=message):
        query_by_root_ids(client, "cells", root_ids, progress=False)
    assert client.calls == []


def test_bad_chunk_size(client):
    with pytest.raises(InvalidInputError, match="chunk_size"):
        query_by_root_ids(client, "cells", [FIRST_ID], chunk_size=0, progress=False)


def test_filtering_the_chunked_column_twice_is_refused(client):
    with pytest.raises(InvalidInputError, match="already filters 'pt_root_id'"):
        query_by_root_ids(client, "cells", [FIRST_ID], filters={"pt_root_id": [1]}, progress=False)


def test_an_unknown_table_names_the_close_ones(client):
    with pytest.raises(InvalidInputError, match="no table 'cell'.*similar name: cells"):
        query_by_root_ids(client, "cell", [FIRST_ID], progress=False)


def test_an_unknown_filter_lists_the_filters_there_are(client):
    with pytest.raises(InvalidInputError, match="'root_id'.*are: pt_root_id, cell_type"):
        query_by_root_ids(client, "cells", [FIRST_ID], column="root_id", progress=False)
    assert client.calls == []
