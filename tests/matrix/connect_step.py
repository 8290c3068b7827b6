"""One step of the caveclient matrix, run by the interpreter under test.

    python tests/matrix/connect_step.py raw|connect STANDIN_URL

``raw`` is the documentation's init: ``CAVEclient(...)`` then
``client.materialize.version = 1078``. ``connect`` is ``microns_helpers.connect()``
followed by a query of the reference table through ``client.materialize.tables``.
Prints one JSON object on the last line of stdout; needs PYTHONPATH = repository root.
"""

import json
import sys

DATASTACK, VERSION, REFERENCE_TABLE = "minnie65_public", 1078, "aibs_metamodel_celltypes_v661"


def raw(url):
    from caveclient import CAVEclient

    client = CAVEclient(DATASTACK, server_address=url, write_server_cache=False)
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


if __name__ == "__main__":
    import caveclient

    step, url = sys.argv[1], sys.argv[2]
    result = {"raw": raw, "connect": connect}[step](url)
    result["caveclient"] = caveclient.__version__
    print(json.dumps(result))
