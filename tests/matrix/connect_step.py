"""One step of the caveclient matrix, run by the interpreter under test.

    python tests/matrix/connect_step.py raw|connect|expired SAMPLE_SERVICE_URL

``raw`` is the documentation's init at the long-term version: ``CAVEclient(...)`` then
``client.materialize.version = 1300``. ``connect`` is ``microns_helpers.connect()``
followed by a query of the reference table through ``client.materialize.tables``;
``expired`` is ``connect(version=1078)``. Prints one JSON object on the last line of
stdout; needs PYTHONPATH = repository root.
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


if __name__ == "__main__":
    import caveclient

    step, url = sys.argv[1], sys.argv[2]
    result = {"raw": raw, "connect": connect, "expired": expired}[step](url)
    result["caveclient"] = caveclient.__version__
    print(json.dumps(result))
