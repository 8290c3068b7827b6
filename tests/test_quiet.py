"""Quiet by default: what a learner or a maintainer reads is what they need.

Each noise is measured with and without the fix, in a fresh Python, so each test can fail:
the table owner notice once per table (not once per query, nor per chunk), the book's
kernels without ipykernel's unencrypted-TCP warning, dask's in-process cluster without its
address probe's warning when there is no network.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ONLY_LOOPBACK, isolated_env, namespace_refusal, run_python

REPO = Path(__file__).resolve().parents[1]
NOTICE = "Table Owner Notice on proofreading_status_and_strategy"

QUERIES = """
import logging, sys
import microns_helpers
from microns_helpers.query import query_by_root_ids
if sys.argv[1] == "unfiltered":
    logging.getLogger("caveclient.base").filters.clear()
client = microns_helpers.connect()
table = client.materialize.tables.proofreading_status_and_strategy
ids = table().query(limit=60)["pt_root_id"].tolist()
table(status_axon=True).query(limit=5)
query_by_root_ids(client, "proofreading_status_and_strategy", ids, chunk_size=10, progress=False)
"""


@pytest.mark.parametrize("filtered, times", [("filtered", 1), ("unfiltered", 8)])
def test_a_table_owner_notice_is_printed_once_per_table(tmp_path, filtered, times):
    # two queries, then six chunks of one chunked query: eight notices from the server
    done = run_python(QUERIES, filtered, home=tmp_path, MICRONS_MODE="offline")
    assert done.returncode == 0, done.stderr
    assert done.stderr.count(NOTICE) == times, done.stderr
    # the row-limit warning that arrived in the same header as a repeated notice stays
    assert '201 - "Limited query to 5 rows' in done.stderr


KERNEL = """
import sys
import nbformat
from nbclient import NotebookClient
from microns_helpers._compat import encrypt_book_kernels
if sys.argv[1] == "encrypted":
    assert encrypt_book_kernels()
nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
NotebookClient(nb, kernel_name="python3").execute()
assert nb.cells[0].outputs[0]["text"] == "42\\n"
"""


@pytest.mark.parametrize("kind, warned", [("encrypted", False), ("as before", True)])
def test_the_book_kernels_start_without_the_unencrypted_tcp_warning(tmp_path, kind, warned):
    done = run_python(KERNEL, kind, home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert ("running over TCP without encryption" in done.stderr) is warned, done.stderr


def test_every_place_the_book_starts_kernels_encrypts_them():
    # nbval (every pytest run loads the root conftest), the site build, the recorder
    assert "encrypt_book_kernels()" in (REPO / "conftest.py").read_text()
    assert "quiet_kernels: _ext/" in (REPO / "_config.yml").read_text()
    assert "encrypt_book_kernels()" in (REPO / "_ext" / "quiet_kernels.py").read_text()
    assert "encrypt_book_kernels()" in (REPO / "microns_helpers" / "recorder.py").read_text()


CLUSTER = """
import sys
if sys.argv[1] == "with microns_helpers":
    import microns_helpers
from dask.distributed import Client, LocalCluster
with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster:
    with Client(cluster) as client:
        assert client.submit(sum, [1, 2]).result() == 3
"""


@pytest.mark.parametrize("kind, warned", [("with microns_helpers", False), ("dask alone", True)])
def test_dask_says_nothing_of_its_address_probe_without_a_network(tmp_path, kind, warned):
    refusal = namespace_refusal()
    if refusal:
        pytest.skip(refusal)
    done = subprocess.run(
        [*ONLY_LOOPBACK, sys.executable, "-c", CLUSTER, kind],
        env=isolated_env(tmp_path, "offline"),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert ("Couldn't detect a suitable IP address" in done.stderr) is warned, done.stderr


NGLUI_WARNING = """
import sys, warnings
if sys.argv[1] == "with microns_helpers":
    import microns_helpers
# what nglui 4.9's statebuilder warns, from its site-packages file, when a link is built
warnings.warn("CloudVolume is not available. Cannot get source information for precomputed://x")
"""


@pytest.mark.parametrize("kind, warned", [("with microns_helpers", False), ("nglui alone", True)])
def test_nglui_says_nothing_of_cloudvolume_which_the_chapter_never_needs(tmp_path, kind, warned):
    done = run_python(NGLUI_WARNING, kind, home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert ("CloudVolume is not available" in done.stderr) is warned, done.stderr


OFFLINE_QUERIES = """
import sys
import microns_helpers
from microns_helpers import modes
from microns_helpers.query import query_by_root_ids
client = microns_helpers.connect()
table = client.materialize.tables.proofreading_status_and_strategy
ids = table().query(limit=60)["pt_root_id"].tolist()
client.materialize.synapse_query(pre_ids=864691135808473885)
# six chunks on caveclient's and the helper's worker threads
query_by_root_ids(client, "proofreading_status_and_strategy", ids, chunk_size=10, progress=False)
client = microns_helpers.connect()  # a second connect(): nothing more to say
print("answered:", len(modes.STATE.sample_answered), file=sys.stderr)
"""


def test_offline_says_once_per_process_where_its_answers_come_from(tmp_path):
    """One line, and where to read what the sample holds; no line per request (there were
    six under every chapter's connect() and up to 24 in a chapter, two threads' lines run
    together); the server's warnings that matter (the owner notice, once) stay."""
    done = run_python(OFFLINE_QUERIES, home=tmp_path, MICRONS_MODE="offline")
    assert done.returncode == 0, done.stderr
    said = (done.stdout + done.stderr).splitlines()
    sample = [line for line in said if "sample" in line]
    assert len(sample) == 1, said
    assert sample[0].startswith("Offline: answers come from the package's sample data")
    assert "About these outputs" in sample[0]
    answered = int(done.stderr.split("answered:")[1])
    assert answered >= 5, done.stderr  # the sample did answer them, silently
    others = [line for line in done.stderr.splitlines() if not line.startswith("answered:")]
    # the server's own warnings (caveclient logs its Warning headers): the owner notice once
    assert "\n".join(others).count(NOTICE) == 1, others
    assert all(re.match(EXPLAINED_LINE, line) for line in others), others


# What a chapter may print on stderr: the server's warnings the chapter shows and explains
# (a row cap, a partial answer, the owner notice, a deprecation of a documented call), and
# the helper's progress bars. Nothing else: no per-request line, no path, no kernel warning.
EXPLAINED = (
    r'201 - "Limited query to \d+ rows',
    r'199 - "Sample data: this answer holds [\d,]+ of about [\d,]+ rows',  # a partial answer
    r"Table Owner Notice on \w+: ",
    r"Select_columns is deprecated for join queries",
    r"\w+: +\d+%\|",  # a progress bar
    r"Warning from the server",
)
EXPLAINED_LINE = "|".join(f"(?:{pattern})" for pattern in EXPLAINED)


def test_the_chapters_show_on_stderr_only_the_warnings_they_explain():
    from tools.setup_cell import chapters

    for path in chapters():
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            for output in cell.get("outputs", []):
                if output.get("name") != "stderr":
                    continue
                text = "".join(output["text"])
                for line in filter(str.strip, re.split(r"[\r\n]", text)):
                    assert re.match(EXPLAINED_LINE, line), (path.name, line)
