"""Short errors in a notebook: a CAVE request the server refused, in a few lines.

Run in a real Jupyter kernel (nbclient), offline: a typo'd table name, asked through
``connect()`` and through a learner's own ``CAVEclient``, shows the server's message in a
few lines; ``%tb`` in the next cell gives the full traceback through caveclient; with the
setting off (``microns_helpers.short_errors(False)`` or ``MICRONS_SHORT_ERRORS=0``) the
whole traceback is back. An HTTPError raised outside caveclient keeps its usual traceback.
"""

from __future__ import annotations

import json

import pytest

from tests.helpers import run_python

TYPO = "nucleus_detection_v1"  # the real table is nucleus_detection_v0

KERNEL = """
import json, sys
import nbformat
from nbclient import NotebookClient

cells = json.loads(sys.argv[1])
nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
NotebookClient(nb, kernel_name="python3", allow_errors=True, timeout=120).execute()
outputs = []
for cell in nb.cells:
    shown = []
    for out in cell.outputs:
        if out["output_type"] == "error":
            shown.append({"error": out["ename"], "lines": out["traceback"]})
        elif out["output_type"] == "stream":
            shown.append({out["name"]: out["text"]})
    outputs.append(shown)
print(json.dumps(outputs))
"""

SETUP = "import microns_helpers\nfrom caveclient import CAVEclient"
CONNECT = "client = microns_helpers.connect()"
PLAIN = 'client = CAVEclient("minnie65_public")\nclient.materialize.version = 1300'
QUERY = f'client.materialize.query_table("{TYPO}")'


def run_cells(tmp_path, cells, **env) -> list:
    done = run_python(KERNEL, json.dumps(cells), home=tmp_path, MICRONS_MODE="offline", **env)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def error_of(outputs) -> dict:
    errors = [o for o in outputs if "error" in o]
    assert len(errors) == 1, outputs
    return errors[0]


@pytest.mark.parametrize("client", [CONNECT, PLAIN], ids=["connect", "plain-caveclient"])
def test_a_refused_request_is_a_few_lines_and_tb_gives_the_rest(tmp_path, client):
    cells = [SETUP, client, QUERY, "%tb"]
    _, _, refused, full = run_cells(tmp_path, cells)
    error = error_of(refused)
    assert error["error"] == "HTTPError"
    text = "\n".join(error["lines"])
    assert len(text.splitlines()) <= 5, text
    assert "materialization service answered 404" in text, text
    assert TYPO in text, text  # the server's message names the table
    assert f'Sent by: line 1: client.materialize.query_table("{TYPO}")' in text, text
    assert "%tb" in text
    # %tb: the whole path through caveclient, as IPython shows it without the handler
    shown = "\n".join(error_of(full)["lines"])
    assert "caveclient" in shown and len(shown.splitlines()) > 20, shown[-2000:]


def test_turned_off_the_traceback_is_whole_again(tmp_path):
    cells = [SETUP, CONNECT, "microns_helpers.short_errors(False)", QUERY]
    refused = run_cells(tmp_path, cells)[-1]
    text = "\n".join(error_of(refused)["lines"])
    assert "caveclient" in text and len(text.splitlines()) > 20, text


def test_the_setting_in_the_environment_turns_it_off(tmp_path):
    refused = run_cells(tmp_path, [SETUP, CONNECT, QUERY], MICRONS_SHORT_ERRORS="0")[-1]
    text = "\n".join(error_of(refused)["lines"])
    assert "caveclient" in text and len(text.splitlines()) > 20, text


def test_an_http_error_outside_caveclient_keeps_its_traceback(tmp_path):
    raise_it = (
        "import requests\n"
        "def fetch():\n"
        "    raise requests.HTTPError('404 from elsewhere', response=requests.Response())\n"
        "fetch()"
    )
    refused = run_cells(tmp_path, [SETUP, raise_it])[-1]
    text = "\n".join(error_of(refused)["lines"])
    assert "def fetch" in text or "fetch()" in text, text
    assert "answered" not in text, text
