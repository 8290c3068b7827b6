"""The documentation's calls, written as the documentation writes them.

Used by the recording tests, the offline test, the hostile-input tests and the replay
benchmark: record these from the sample service, then replay them. ``run_documented_calls()``
returns every result by name, so that a recording and its replay can be compared. A test
run records them once (``recorded_once``, the ``documented_recording`` fixture of
tests/conftest.py), for every module and pytest-xdist worker.

    python -m tests.documented_calls     # runs them in the current MICRONS_MODE
"""

from __future__ import annotations

from caveclient import CAVEclient

NEURON = 864691135808473885
ROOT_IDS = [864691135771677771, 864691135560505569, 864691136723556861]
FORMAT = dict(split_positions=True, desired_resolution=[1, 1, 1], limit=10)


def run_documented_calls(connect=None) -> dict:
    """Every documented call, verbatim; with ``connect``, also the same through it."""
    results = {}
    client = CAVEclient("minnie65_public")
    client.materialize.version = 1300  # the documentation's 1078 has expired
    results.update(_calls(client, "caveclient"))
    if connect is not None:
        results.update(_calls(connect(), "connect"))
    return results


def _calls(client, prefix: str) -> dict:
    r = {}
    r["datastack_info"] = client.info.get_datastack_info()
    r["tables"] = client.materialize.get_tables()
    r["nucleus_metadata"] = client.materialize.get_table_metadata("nucleus_detection_v0")
    r["nucleus"] = client.materialize.query_table("nucleus_detection_v0")
    r["nucleus_formatted"] = client.materialize.query_table(
        "nucleus_detection_v0",
        split_positions=True,
        desired_resolution=[1, 1, 1],
        select_columns=["pt_position", "pt_root_id"],
        limit=10,
    )
    cell_types = client.materialize.tables.aibs_metamodel_celltypes_v661
    r["cell_types"] = cell_types().query()
    r["cell_types_formatted"] = cell_types().query(
        split_positions=True,
        desired_resolution=[1, 1, 1],
        select_columns=["pt_position", "pt_root_id", "cell_type"],
        limit=10,
    )
    r["basket_cells"] = cell_types(cell_type="BC").query()
    r["three_neurons"] = cell_types(pt_root_id=ROOT_IDS).query()
    r["outputs"] = client.materialize.synapse_query(pre_ids=NEURON)
    r["inputs"] = client.materialize.synapse_query(post_ids=NEURON)
    # Both ends: the neuron and its strongest output partner, as the Synapses chapter does.
    partner = r["outputs"]["post_pt_root_id"].value_counts().index[0]
    r["between"] = client.materialize.synapse_query(pre_ids=NEURON, post_ids=partner)
    return {f"{prefix}:{name}": value for name, value in r.items()}


def record_from_sample_service(folder, home, token: str, *, name="documented_calls", connect=None):
    """Record the documented calls from a fresh sample service into ``folder``; returns results.

    The sample service demands ``token``, which caveclient finds in ``home`` (and which is also
    in ``CAVE_TOKEN``), so the recording has secrets to scrub. The process is left in
    ``live`` mode and the environment as it was.
    """
    import json
    import os
    from pathlib import Path
    from unittest import mock

    from microns_helpers import modes
    from microns_helpers.sample import SampleService

    secrets_dir = Path(home) / ".cloudvolume" / "secrets"
    secrets_dir.mkdir(parents=True, exist_ok=True)
    (secrets_dir / "cave-secret.json").write_text(json.dumps({"token": token}))
    with SampleService(local_server=modes.PUBLIC_LOCAL, required_token=token) as service:
        env = {
            "HOME": str(home),
            "CAVE_TOKEN": token,
            "MICRONS_RECORD_TARGET": service.url,
            "MICRONS_MODE": "record",  # what connect() reads
        }
        with mock.patch.dict(os.environ, env):
            with modes.using("record", recordings=folder, name=name):
                return run_documented_calls(connect)


def recorded_once(run_folder) -> tuple:
    """(recordings folder, results seen while recording, token) of the documented calls,
    plain and through connect(), recorded from a fresh sample service the first time a test
    run asks (``run_folder``: one folder for the whole run, its xdist workers included) and
    read back after. A lock keeps the other workers waiting meanwhile; ``done`` is written
    last, so a recording cut short is made again. Nothing in it is to be changed: copy it.
    """
    import fcntl
    import pickle
    import secrets
    import shutil
    from pathlib import Path

    from microns_helpers import connect

    root = Path(run_folder) / "documented-calls"
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / "documented-calls.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "done").exists():
            shutil.rmtree(root, ignore_errors=True)
            (root / "recordings").mkdir(parents=True)
            (root / "home").mkdir()
            token = "planted-" + secrets.token_hex(20)
            results = record_from_sample_service(
                root / "recordings", root / "home", token, connect=connect
            )
            (root / "results.pickle").write_bytes(pickle.dumps(results))
            (root / "token").write_text(token)
            (root / "done").write_text("recorded once for this run\n")
    results = pickle.loads((root / "results.pickle").read_bytes())
    return root / "recordings", results, (root / "token").read_text()


if __name__ == "__main__":
    import microns_helpers

    for name, value in run_documented_calls(microns_helpers.connect).items():
        print(name, getattr(value, "shape", type(value).__name__))
