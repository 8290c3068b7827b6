"""One caveclient of the offline matrix: the documented calls and the learner variations.

    MICRONS_MODE=offline PYTHONPATH=<repository> python tests/matrix/offline_step.py OUT.json

Run by the interpreter under test, inside a network namespace with only loopback
(tests/test_offline.py). Writes one JSON object: the caveclient release, the network
interfaces seen, the private names _compat.py needs that are missing, the documented
calls that ran, and each variation's outcome.
"""

import json
import socket
import sys
import traceback

result = {"interfaces": [name for _, name in socket.if_nameindex()]}
import caveclient  # noqa: E402

import microns_helpers  # noqa: E402
from tests.compat_names import missing_private_names, unchecked_releases  # noqa: E402
from tests.documented_calls import run_documented_calls  # noqa: E402
from tests.variations import run_variations  # noqa: E402

result["caveclient"] = caveclient.__version__
result["mode"] = microns_helpers.modes.active_mode()
# the compat check of tests/test_compat.py, in this environment
result["compat"] = {"missing": missing_private_names(), "unchecked": unchecked_releases()}
try:
    result["documented"] = sorted(run_documented_calls(microns_helpers.connect))
except Exception as err:
    result["documented_error"] = traceback.format_exception_only(type(err), err)[-1].strip()
result["variations"] = run_variations(microns_helpers.connect)
with open(sys.argv[1], "w") as out:
    json.dump(result, out)
