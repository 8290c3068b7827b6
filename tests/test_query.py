"""Tests of microns_helpers.query with a fake client that answers from a small table."""

import pandas as pd
import pytest

import microns_helpers.query as query
from microns_helpers.errors import InvalidInputError
from microns_helpers.query import query_by_root_ids

FIRST_ID = 864691135000000000


class FakeMaterialize:
    """Answers query_table from ``table`` by applying filter_in_dict, and logs each call."""

    def __init__(self, table):
        self.table = table
        self.calls = []

    def query_table(self, table, filter_in_dict=None, **kwargs):
        self.calls.append({"table": table, "filter_in_dict": filter_in_dict, **kwargs})
        rows = self.table
        for column, allowed in (filter_in_dict or {}).items():
            rows = rows[rows[column].isin(allowed)]
        rows = rows.copy()
        rows.attrs = {"dataframe_resolution": [4, 4, 40], "filters": filter_in_dict}
        return rows


class FakeClient:
    def __init__(self, table):
        self.materialize = FakeMaterialize(table)


@pytest.fixture
def client():
    ids = [FIRST_ID + i for i in range(1200)]
    return FakeClient(pd.DataFrame({"pt_root_id": ids, "cell_type": ["23P", "BC", "MC"] * 400}))


def test_queries_in_chunks_and_concatenates_in_order(client):
    ids = [FIRST_ID + i for i in range(1199, -1, -1)]  # every id, in reverse order
    result = query_by_root_ids(client, "cells", ids, chunk_size=500, progress=False)
    sizes = [len(call["filter_in_dict"]["pt_root_id"]) for call in client.materialize.calls]
    assert sizes == [500, 500, 200]
    assert len(result) == 1200
    assert result.index.tolist() == list(range(1200))
    # rows come chunk by chunk: the first chunk holds the 500 highest ids
    assert set(result["pt_root_id"][:500]) == set(ids[:500])


def test_duplicate_ids_are_queried_once(client):
    ids = [FIRST_ID, FIRST_ID + 1, FIRST_ID, FIRST_ID + 1]
    result = query_by_root_ids(client, "cells", ids, progress=False)
    assert client.materialize.calls[0]["filter_in_dict"] == {"pt_root_id": ids[:2]}
    assert len(result) == 2


def test_passes_query_options_and_merges_other_filters(client):
    query_by_root_ids(
        client,
        "cells",
        [FIRST_ID, FIRST_ID + 1],
        column="pt_root_id",
        select_columns=["pt_root_id"],
        filter_in_dict={"cell_type": ["BC"]},
        progress=False,
    )
    call = client.materialize.calls[0]
    assert call["select_columns"] == ["pt_root_id"]
    assert call["filter_in_dict"] == {"cell_type": ["BC"], "pt_root_id": [FIRST_ID, FIRST_ID + 1]}


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


def test_a_chunk_at_the_row_limit_is_an_error_not_a_silent_cut(client, monkeypatch):
    monkeypatch.setattr(query, "SERVER_ROW_LIMIT", 2)
    with pytest.raises(InvalidInputError, match="Chunk 1 of 2 returned 2 rows.*smaller chunk_size"):
        query_by_root_ids(
            client, "cells", [FIRST_ID + i for i in range(3)], chunk_size=2, progress=False
        )


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
    assert client.materialize.calls == []


def test_bad_chunk_size(client):
    with pytest.raises(InvalidInputError, match="chunk_size"):
        query_by_root_ids(client, "cells", [FIRST_ID], chunk_size=0, progress=False)


def test_filtering_the_chunked_column_twice_is_refused(client):
    with pytest.raises(InvalidInputError, match="already filters 'pt_root_id'"):
        query_by_root_ids(
            client, "cells", [FIRST_ID], filter_in_dict={"pt_root_id": [1]}, progress=False
        )
