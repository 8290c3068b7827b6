"""The weekly drift check, offline: two small recordings folders with planted differences."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from vcr.request import Request

from microns_helpers.cassette import write_recording
from tools.drift_check import compare_frames, find_drift, main

LOCAL = "https://minnie.microns-daf.com/materialize/api/v3/datastack/minnie65_public/version/1078"
TABLES = f"{LOCAL}/tables"
NUCLEUS = f"{LOCAL}/table/nucleus_detection_v0/query?return_pyarrow=True&arrow_format=True"
SYNAPSES = f"{LOCAL}/table/synapses_pni_2/query?return_pyarrow=True&arrow_format=True"


def _arrow(frame: pd.DataFrame) -> dict:
    sink = io.BytesIO()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return _response(sink.getvalue(), "data.arrow")


def _response(body: bytes, content_type: str = "application/json", status: int = 200) -> dict:
    return {
        "status": {"code": status, "message": "OK"},
        "headers": {"Content-Type": [content_type]},
        "body": {"string": body},
    }


def _folder(tmp_path, name, answers: dict) -> Path:
    """A recordings folder in microns_helpers' format, one file holding ``answers``."""
    interactions = [
        (
            Request(
                "POST" if "query" in uri else "GET",
                uri,
                b'{"limit": 10}' if "query" in uri else None,
                {},
            ),
            response,
        )
        for uri, response in answers.items()
    ]
    folder = tmp_path / name
    write_recording(folder / "03_querying.json", interactions)
    return folder


NUCLEI = pd.DataFrame({"id": [1, 2, 3], "volume": [261.5, 240.1, 299.0], "pt_root_id": [7, 8, 9]})
COMMITTED = {
    TABLES: _response(
        b'["nucleus_detection_v0", "synapses_pni_2", "aibs_metamodel_celltypes_v661"]'
    ),
    NUCLEUS: _arrow(NUCLEI),
    SYNAPSES: _arrow(pd.DataFrame({"pre_pt_root_id": [7], "size": [1200]})),
}


def _about(request: str) -> str:
    """``tables`` or the table name, from ``POST /…/table/<name>/query?… {body}``."""
    path = request.split()[1].split("?")[0]
    return path.rsplit("/", 2)[-2] if "/table/" in path else path.rsplit("/", 1)[-1]


def test_identical_folders_show_no_drift(tmp_path):
    committed = _folder(tmp_path, "committed", COMMITTED)
    live = _folder(tmp_path, "live", COMMITTED)
    assert not find_drift(committed, live)
    assert main([str(committed), str(live)]) == 0


def test_planted_differences_are_all_reported(tmp_path, capsys):
    live_nuclei = NUCLEI.assign(volume=NUCLEI.volume.round().astype("int64"), cell_type="BC")
    live = {
        TABLES: _response(b'["nucleus_detection_v0", "synapses_pni_2", "new_table_v2"]'),
        NUCLEUS: _arrow(live_nuclei.iloc[:2]),
        f"{LOCAL}/table/brand_new/query?return_pyarrow=True&arrow_format=True": _arrow(NUCLEI),
    }
    committed = _folder(tmp_path, "committed", COMMITTED)
    drift = find_drift(committed, _folder(tmp_path, "live", live))

    changed = {_about(request): problems for request, problems in drift.changed.items()}
    assert changed["tables"] == [
        "no longer listed: `aibs_metamodel_celltypes_v661`",
        "newly listed: `new_table_v2`",
    ]
    assert changed["nucleus_detection_v0"] == [
        "column added: `cell_type`",
        "dtype of `volume`: float64 → int64",
        "rows: 3 → 2",
    ]
    assert [_about(r) for r in drift.only_committed] == ["synapses_pni_2"]
    assert [_about(r) for r in drift.only_live] == ["brand_new"]

    assert main([str(committed), str(tmp_path / "live")]) == 1
    printed = capsys.readouterr().out
    assert "dtype of `volume`: float64 → int64" in printed and "new_table_v2" in printed


def test_status_change_is_reported(tmp_path):
    live = dict(COMMITTED, **{TABLES: _response(b'{"error": "forbidden"}', status=403)})
    drift = find_drift(_folder(tmp_path, "committed", COMMITTED), _folder(tmp_path, "live", live))
    assert list(drift.changed.values()) == [["status: 200 → 403"]]


def test_compare_frames_on_equal_shapes_is_quiet():
    assert compare_frames(NUCLEI, NUCLEI.assign(volume=[1.0, 2.0, 3.0])) == []


def test_empty_folder_is_an_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main([str(_folder(tmp_path, "committed", COMMITTED)), str(tmp_path / "empty")]) == 2
    assert "no recordings" in capsys.readouterr().err


def test_help_runs(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0 and "drift" in capsys.readouterr().out
