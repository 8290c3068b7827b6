"""One step of the caveclient matrix, run by the interpreter under test.

    python tests/matrix/connect_step.py raw|connect|expired|limit SAMPLE_SERVICE_URL
    python tests/matrix/connect_step.py all SPEC.json     # every step, in one interpreter

``raw`` is the documentation's init at the long-term version: ``CAVEclient(...)`` then
``client.materialize.version = 1300``. ``connect`` is ``microns_helpers.connect()``
followed by a query of the reference table through ``client.materialize.tables``;
``expired`` is ``connect(version=1078)``. ``limit`` gives ``limit=0`` and ``limit=-1`` to
the three queries of a ``connect()`` client, which must refuse them with our error. Prints
one JSON object on the last line of stdout; needs PYTHONPATH = repository root.

``all`` runs the four in one interpreter, in that order, each with its own service URL and
home folder from SPEC.json ({step: [url, home]}): ``raw`` first, so the documentation's
init meets caveclient as a learner's fresh kernel has it (nothing of connect() before it),
``limit`` last, since it wraps the transport; HOME is set before each (caveclient expands
``~`` when it reads or writes a file, not at import). Prints {step: result}.
"""

import json
import sys

DATASTACK, VERSION, REFERENCE_TABLE = "minnie65_public", 1300, "aibs_metamodel_celltypes_v661"


def raw(url):
    import os

    from caveclient import CAVEclient

    # caveclient reads no environment variable: the token goes in as the argument
    token = os.environ.get("CAVE_TOKEN")
    client = CAVEclient(DATASTACK, server_address=url, write_server_cache=False, auth_token=token)
    try:
        client.materialize.version = VERSION
    except RecursionError:
        return {"outcome": "RecursionError"}
    return {"outcome": "ok", "version": int(client.materialize.version)}


def connect(url):
    from microns_helpers import connect

    client = connect(DATASTACK, VERSION, server_address=url, mode="live")
    table = getattr(client.materialize.tables, REFERENCE_TABLE)
    rows = table(cell_type="BC").query()
    return {
        "outcome": "ok",
        "version": int(client.materialize.version),
        "rows": len(rows),
        "cell_types": sorted(set(rows["cell_type"])),
    }


def expired(url):
    import microns_helpers

    try:
        microns_helpers.connect(DATASTACK, 1078, server_address=url, mode="live")
    except microns_helpers.VersionExpiredError as err:
        return {"outcome": "VersionExpiredError", "message": str(err)}
    return {"outcome": "ok"}


def limit(url):
    import datetime

    import microns_helpers

    client = microns_helpers.connect(DATASTACK, VERSION, server_address=url, mode="live")
    materialize = client.materialize
    now = datetime.datetime.now(datetime.timezone.utc)
    calls = {
        "query_table": lambda n: materialize.query_table(REFERENCE_TABLE, limit=n),
        "live_query": lambda n: materialize.live_query(REFERENCE_TABLE, now, limit=n),
        "synapse_query": lambda n: materialize.synapse_query(pre_ids=864691135808473885, limit=n),
    }
    import requests.adapters

    real_send, sent = requests.adapters.HTTPAdapter.send, []

    def send(self, request, *args, **kwargs):  # counts what reaches the transport
        sent.append(request.url)
        return real_send(self, request, *args, **kwargs)

    requests.adapters.HTTPAdapter.send = send
    outcomes = {}
    for name, call in calls.items():
        for n in (0, -1):
            try:
                call(n)
                outcomes[f"{name}({n})"] = "no error"
            except microns_helpers.MicronsHelpersError as err:
                outcomes[f"{name}({n})"] = f"{type(err).__name__}: {err}"
            except Exception as err:
                outcomes[f"{name}({n})"] = f"raw {type(err).__name__}: {err}"
    requests.adapters.HTTPAdapter.send = real_send
    rows = len(materialize.query_table(REFERENCE_TABLE, limit=3))
    return {"outcome": "ok", "limits": outcomes, "sent": sent, "rows": rows}


STEPS = {"raw": raw, "connect": connect, "expired": expired, "limit": limit}


def run(step, url):
    import caveclient

    result = STEPS[step](url)
    result["caveclient"] = caveclient.__version__
    return result


def run_all(spec):
    import os

    results = {}
    for step in STEPS:  # raw first, limit last
        url, home = spec[step]
        os.environ["HOME"] = home
        results[step] = run(step, url)
        results[step]["home"] = os.path.expanduser("~")  # where caveclient would write
    return results


if __name__ == "__main__":
    if sys.argv[1] == "all":
        with open(sys.argv[2], encoding="utf-8") as spec:
            print(json.dumps(run_all(json.load(spec))))
    else:
        print(json.dumps(run(sys.argv[1], sys.argv[2])))
