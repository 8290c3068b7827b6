"""The sample service refuses what the real MaterializationEngine refuses, and never 5xx.

Two parts. A walk over every route the sample serves (the routers of ``server.SERVICES``)
with malformed paths, query strings and bodies, sent with ``requests``: no answer is a 5xx
(the tally line says how many were sent). Then each malformed call the issue lists, made
through caveclient 8 as a learner would: a 4xx whose message names the argument, in the
wording of MaterializationEngine where it has one (validation.py says where).
"""

import itertools
import json
import re

import pytest
import requests

from microns_helpers.sample import SampleService
from microns_helpers.sample.server import SERVICES
from tests.helpers import HOSTILE_TALLY

caveclient = pytest.importorskip("caveclient")

MAT = "/materialize/api/v3/datastack/minnie65_public/version/1300"
NUCLEUS, SYNAPSES = "nucleus_detection_v0", "synapses_pni_2"
ROOT = "864691136040432126"

# One well-formed value per path part, and the malformed ones sent in its place.
GOOD = {
    "api": "3",
    "ds": "minnie65_public",
    "v": "1300",
    "t": NUCLEUS,
    "table_id": "minnie65_public",
    "root": ROOT,
    "sv": "88393925175541468",
    "root_id": ROOT,
    "name": "cell_type_local",
    "skvn": "4",
    "rid": ROOT,
    "fmt": "flatdict",
    "gms": "True",
    "rids": ROOT,
}
BAD_PART = ["abc", "-1", "0", "99999999999999999999999999", "%2E%2E", "1.5", "\u00b2"]

BAD_ARGS = [
    {},
    {"timestamp": "abc"},
    {"timestamp": "1e400"},
    {"timestamp_past": "nan", "timestamp_future": "x"},
    {"expired": "maybe", "latest": "x"},
    {"return_pyarrow": "maybe"},
    {"split_positions": "2", "count": "zz"},
    {"random_sample": "0"},
    {"random_sample": "abc"},
    {"bounds": "a-b_c"},
    {"attribute_names": "rep_coord_nm,nope"},
    {"schema_names": ",,,"},
]

BAD_RAW = [b"", b"{bad", b"null", b"[]", b'"x"', b"1e400", b"\xff\xfe", b"\x00" * 7]

BAD_JSON = [
    {"node_ids": ["abc"]},
    {"node_ids": [True, -1]},
    {"node_ids": "abc"},
    {"root_ids": ["abc", None]},
    {"root_ids": 5},
    {"l2_ids": ["x"]},
    {"l2_ids": [1.5, -3]},
    {"skeleton_version": "abc", "root_ids": ["abc"]},
]

# Malformed query bodies: each a well-formed one (limit 1) with one argument broken.
BAD_VALUES = ["abc", -5, 10**30, 1.5, True, None, [], {}, [1, 2], {"a": 1}, float("nan")]


def _query_bodies(table):
    bodies = []
    for field in ("offset", "limit", "desired_resolution", "select_columns", "tables"):
        bodies += [{"limit": 1, field: v} for v in BAD_VALUES]
    bodies += [{"limit": 1, "desired_resolution": r} for r in ([0, 0, 0], [4, 4], ["a", 4, 40])]
    for kind in (
        "filter_in_dict",
        "filter_notin_dict",
        "filter_equal_dict",
        "filter_greater_dict",
        "filter_less_dict",
        "filter_greater_equal_dict",
        "filter_less_equal_dict",
        "filter_spatial_dict",
        "filter_regex_dict",
        "filter_out_dict",
        "filter_nope_dict",
    ):
        bodies += [{"limit": 1, kind: v} for v in BAD_VALUES]
        bodies += [{"limit": 1, kind: {"nope": {}}}, {"limit": 1, kind: {table: 5}}]
        for column in ("pt_root_id", "valid", "volume", "created", "pt_position", "nope"):
            bodies += [{"limit": 1, kind: {table: {column: v}}} for v in BAD_VALUES[:6]]
            bodies.append({"limit": 1, kind: {table: {column: [[1, 2, 3]]}}})
            bodies.append({"limit": 1, kind: {table: {column: [[5, 5, 5], [1, 1, 1]]}}})
            bodies.append({"limit": 1, kind: {table: {column: "(["}}})
    for field in ("select_column_map", "suffix_map", "suffixes"):
        bodies += [{"limit": 1, field: v} for v in BAD_VALUES]
        bodies.append({"limit": 1, field: {table: 5, "nope": ["x"]}})
    return bodies


def _fill(pattern: str):
    """The paths of one route: its parts well-formed, then each part malformed in turn."""
    source = pattern.removesuffix("/?$")
    source = re.sub(r"\(\?:([^|)]*)(?:\|[^)]*)?\)", r"\1", source)  # first alternative
    names = re.findall(r"\(\?P<(\w+)>", source)

    def render(values):
        path = source
        for name in names:
            path = re.sub(
                r"\(\?P<" + name + r">(?:[^()]|\([^()]*\))*\)", values[name], path, count=1
            )
        return path.replace("\\", "")

    good = {n: GOOD.get(n, "x") for n in names}
    paths = [render(good)]
    for name, bad in itertools.product(names, BAD_PART):
        paths.append(render({**good, name: bad}))
    return paths


def _walk(s):
    """Every route, malformed: [(method, path, args, body, status, text)] of each answer.

    The well-formed path of a route gets every query string and body; each path with one
    part malformed gets two bodies; the query routes get every malformed query body."""
    answers = []
    session = requests.Session()

    def send(method, path, args, body):
        data = json.dumps(body).encode() if isinstance(body, dict) else body  # NaN too
        r = session.request(method, s.url + path, params=args, data=data)
        answers.append((module, method, path, args, body, r.status_code, r.text[:300]))

    for service in SERVICES:
        module = service.__name__.rsplit(".", 1)[-1]
        for method, pattern, _fn in service.router.routes:
            good, *bad_paths = _fill(pattern.pattern)
            bodies = [None, b"{bad"] if method == "GET" else BAD_RAW + BAD_JSON
            for body in bodies:
                send(method, good, {}, body)
            for args in BAD_ARGS[1:]:
                send(method, good, args, bodies[0] if method == "GET" else b"{}")
            for path in bad_paths:
                for body in bodies[:2]:
                    send(method, path, {}, body)
            if pattern.pattern.endswith("/query/?$"):
                for body in _query_bodies(NUCLEUS):
                    send(method, good, {"return_pyarrow": "False"}, body)
    return answers


@pytest.fixture(scope="module")
def service():
    with SampleService() as s:
        yield s


@pytest.fixture(scope="module")
def walk(service):
    return _walk(service)


def _five_hundreds(answers):
    fives = [a for a in answers if a[5] >= 500]
    shown = "\n".join(f"{m} {p} {a} {b!r:.80} -> {st} {t}" for _, m, p, a, b, st, t in fives[:15])
    return fives, f"{len(fives)} answers were 5xx:\n{shown}"


def test_every_route_refuses_malformed_input_without_a_5xx(walk):
    routes = sum(len(m.router.routes) for m in SERVICES)
    fives = [a for a in walk if a[5] >= 500]
    fours = [a for a in walk if 400 <= a[5] < 500]
    print(
        f"\nsample service walk: {routes} routes walked, {len(walk)} requests sent, "
        f"{len(fours)} 4xx, {len(walk) - len(fours) - len(fives)} 2xx/3xx, 5xx={len(fives)}"
    )
    HOSTILE_TALLY["5xx"] += len(fives)  # the closing tally line of the test log
    _, shown = _five_hundreds(fives)
    assert not fives, shown
    assert len(fours) > len(walk) / 2  # the walk did send malformed requests


def test_a_json_body_nested_too_deep_is_a_400(service):
    r = requests.post(f"{service.url}{MAT}/table/{NUCLEUS}/query", data=b"[" * 100_000)
    assert r.status_code == 400, r.text


# -- each case of the issue, through caveclient ---------------------------------------------------


@pytest.fixture
def client(service, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("CAVE_TOKEN", raising=False)
    return caveclient.CAVEclient(
        "minnie65_public", server_address=service.url, write_server_cache=False, version=1300
    )


def _refused(call, *words, status=400):
    with pytest.raises(requests.HTTPError) as err:
        call()
    assert f"{status} Client Error" in str(err.value), str(err.value)
    message = err.value.response.json()["message"]  # what caveclient shows, unescaped
    for word in words:
        assert word in message, f"{word!r} not in {message}"
    return message


BOX = "pre_pt_position"
CASES = {
    "box with one corner": (
        lambda c: c.materialize.query_table(SYNAPSES, filter_spatial_dict={BOX: [[1, 2, 3]]}),
        ["filter_spatial_dict", BOX, "two corners"],
    ),
    "box with text corners": (
        lambda c: c.materialize.query_table(
            SYNAPSES, filter_spatial_dict={BOX: [["a", "b", "c"], [1, 2, 3]]}
        ),
        ["filter_spatial_dict", BOX],
    ),
    "box with two-number corners": (
        lambda c: c.materialize.query_table(
            SYNAPSES, filter_spatial_dict={BOX: [[0, 0], [10**7, 10**7]]}
        ),
        ["filter_spatial_dict", BOX, "[[x, y, z], [x, y, z]]"],
    ),
    "box with min above max": (
        lambda c: c.materialize.query_table(
            SYNAPSES, filter_spatial_dict={BOX: [[5, 5, 5], [1, 1, 1]]}
        ),
        ["filter_spatial_dict", "min bounds: [5 5 5] must be less than max bounds: [1 1 1]"],
    ),
    "resolution of zeros": (
        lambda c: c.materialize.query_table(NUCLEUS, limit=1, desired_resolution=[0, 0, 0]),
        ["desired_resolution", "positive"],
    ),
    "resolution as text": (
        lambda c: c.materialize.query_table(NUCLEUS, limit=1, desired_resolution="nm"),
        ["Error parsing request body", "'desired_resolution': ['Not a valid list.']"],
    ),
    "resolution of two numbers": (
        lambda c: c.materialize.query_table(NUCLEUS, limit=1, desired_resolution=[4, 4]),
        ["Error parsing request body", "'desired_resolution': ['Length must be 3.']"],
    ),
    "text in an integer column": (
        lambda c: c.materialize.query_table(NUCLEUS, filter_equal_dict={"pt_root_id": "abc"}),
        ["filter_equal_dict", "pt_root_id", "is not an integer"],
    ),
    "a list in filter_equal_dict": (
        lambda c: c.materialize.query_table(NUCLEUS, filter_equal_dict={"pt_root_id": [1, 2]}),
        ["filter_equal_dict", "pt_root_id"],
    ),
    "synapse_query with text ids": (
        lambda c: c.materialize.synapse_query(pre_ids="abc"),
        ["filter_in_dict", "pre_pt_root_id", "must be a list"],
    ),
    "text ids in filter_in_dict": (
        lambda c: c.materialize.query_table(NUCLEUS, filter_in_dict={"pt_root_id": ["abc"]}),
        ["filter_in_dict", "pt_root_id", "is not an integer"],
    ),
    "negative offset": (
        lambda c: c.materialize.query_table(NUCLEUS, limit=1, offset=-5),
        ["Invalid offset: -5"],
    ),
    "a boolean offset": (
        lambda c: c.materialize.query_table(NUCLEUS, limit=1, offset=True),
        ["Error parsing request body", "'offset': ['Not a valid integer.']"],
    ),
    "an unknown column in select": (
        lambda c: c.materialize.query_table(NUCLEUS, limit=1, select_columns=["nope"]),
        ["select_columns", "column nope not found in nucleus_detection_v0"],
    ),
    "an unknown filter column": (
        lambda c: c.materialize.query_table(NUCLEUS, filter_equal_dict={"nope": 1}),
        ["filter_equal_dict", "column nope not found in nucleus_detection_v0"],
    ),
    "a regex on a number column": (
        lambda c: c.materialize.query_table(NUCLEUS, filter_regex_dict={"volume": "1.*"}),
        ["filter_regex_dict", "Regex filter is only supported on string columns"],
    ),
    "select_column_map of a table not joined": (
        lambda c: c.materialize.join_query(
            [[NUCLEUS, "id"], ["nucleus_ref_neuron_svm", "target_id"]],
            select_columns={"nope": ["id"]},
            limit=1,
        ),
        ["select_column_map", "table nope not part of this query"],
    ),
    "select_column_map with an unknown column": (
        lambda c: c.materialize.join_query(
            [[NUCLEUS, "id"], ["nucleus_ref_neuron_svm", "target_id"]],
            select_columns={NUCLEUS: ["nope"]},
            limit=1,
        ),
        ["select_column_map", "column nope not found in nucleus_detection_v0"],
    ),
    "suffix_map with one suffix twice": (
        lambda c: c.materialize.join_query(
            [[NUCLEUS, "id"], ["nucleus_ref_neuron_svm", "target_id"]],
            suffixes={NUCLEUS: "_a", "nucleus_ref_neuron_svm": "_a"},
            limit=1,
        ),
        ["suffix_map", "Duplicate suffixes set in"],
    ),
    "a join on an unknown column": (
        lambda c: c.materialize.join_query(
            [[NUCLEUS, "nope"], ["nucleus_ref_neuron_svm", "target_id"]], limit=1
        ),
        ["tables", "column nope not found in nucleus_detection_v0"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_malformed_call_of_the_issue_is_a_400_naming_the_argument(client, case):
    call, words = CASES[case]
    _refused(lambda: call(client), *words)


def test_chunkedgraph_time_stamps_are_refused_with_pychunkedgraphs_words(service):
    url = f"{service.url}/segmentation/api/v1/table/minnie65_public/is_latest_roots"
    r = requests.post(url, params={"timestamp": "soon"}, json={"node_ids": [int(ROOT)]})
    assert r.status_code == 400
    assert r.json()["message"] == "Timestamp parameter timestamp is not a valid unix timestamp"


@pytest.mark.parametrize(
    "body, words",
    [
        (b"{bad", "Failed to decode JSON object"),
        (b"[1]", "Error parsing request body: {'_schema': ['Invalid input type.']}"),
        (b'{"filter_nope_dict": {}}', "'filter_nope_dict': ['Unknown field.']"),
        (b'{"filter_out_dict": {}}', "'filter_out_dict': ['Unknown field.']"),
        (b'{"limit": null}', "'limit': ['Field may not be null.']"),
        (b'{"limit": -1}', "Invalid limit: -1"),
        (b'{"offset": 1e30}', "Invalid offset"),
        (b'{"select_columns": [5]}', "'select_columns': {0: ['Not a valid string.']}"),
        (b'{"tables": [["a", "b"]]}', "'tables': ['Unknown field.']"),
    ],
)
def test_a_malformed_body_gets_the_servers_400(service, body, words):
    r = requests.post(f"{service.url}{MAT}/table/{NUCLEUS}/query", data=body)
    assert r.status_code == 400, r.text
    assert words in r.json()["message"]


@pytest.mark.parametrize(
    "body, words",
    [
        ({}, "'tables': ['Missing data for required field.']"),
        ({"tables": [[NUCLEUS]]}, "'tables': {0: ['Length must be 2.']}"),
        ({"tables": [[NUCLEUS, "id"]]}, "a join query needs exactly two different tables"),
        ({"tables": [[NUCLEUS, "id"], [NUCLEUS, "id"]]}, "two different tables"),
    ],
)
def test_a_malformed_join_gets_a_400(service, body, words):
    r = requests.post(f"{service.url}{MAT}/query", json=body)
    assert r.status_code == 400, r.text
    assert words in r.json()["message"]


def test_query_string_flags_are_read_as_the_servers_query_parser_reads_them(service):
    url = f"{service.url}{MAT}/table/{NUCLEUS}/query"
    r = requests.post(url, json={"limit": 1}, params={"split_positions": "yes"})
    assert r.status_code == 400
    assert "split_positions: Invalid literal for boolean(): yes" in r.json()["message"]
    r = requests.post(url, json={"limit": 1}, params={"random_sample": "-3"})
    assert "random_sample: Invalid argument: -3" in r.json()["message"]


# -- what well-formed queries answer (tests/test_sample_service.py has the published ones) ------


def _rows(service, body, table=NUCLEUS):
    r = requests.post(
        f"{service.url}{MAT}/table/{table}/query",
        json=body,
        params={"return_pyarrow": "False", "split_positions": "True"},
    )
    assert r.status_code == 200, r.text
    return r.json(), r.headers


def test_limit_0_answers_no_rows_as_the_servers_limit_0(service):
    rows, headers = _rows(service, {"limit": 0})
    assert rows == []
    assert headers["Warning"] == '201 - "Limited query to 0 rows'


def test_well_formed_filters_of_every_type_still_answer(service):
    ten, _ = _rows(service, {"limit": 10})
    first = ten[0]
    rows, _ = _rows(service, {"limit": 5, "filter_equal_dict": {NUCLEUS: {"id": str(first["id"])}}})
    assert [r["id"] for r in rows] == [first["id"]]
    rows, _ = _rows(service, {"limit": 3, "filter_equal_dict": {NUCLEUS: {"valid": "t"}}})
    assert len(rows) == 3
    rows, _ = _rows(
        service, {"limit": 3, "filter_equal_dict": {NUCLEUS: {"id": first["id"] + 0.5}}}
    )
    assert rows == []  # Postgres compares 730537 with 730537.5: no row (not truncated)
    rows, _ = _rows(service, {"limit": 3, "filter_equal_dict": {NUCLEUS: {"superceded_id": None}}})
    assert len(rows) == 3  # equal to null is IS NULL
    rows, _ = _rows(
        service, {"limit": 3, "filter_greater_dict": {NUCLEUS: {"created": "2000-01-01"}}}
    )
    assert len(rows) == 3
    x, y, z = (first[f"pt_position_{a}"] for a in "xyz")
    box = [[x, y, z], [x + 1, y + 1, z + 1]]
    rows, _ = _rows(service, {"filter_spatial_dict": {NUCLEUS: {"pt_position": box}}})
    assert first["id"] in [r["id"] for r in rows]
