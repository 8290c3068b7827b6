"""One chapter's code cells, run in order in the interpreter under test, as its kernel would.

    MICRONS_MODE=offline PYTHONPATH=<repository> python tests/matrix/chapter_step.py \
        CHAPTER.ipynb OUT.json [EXTRA_SITE_PACKAGES]

Run inside a network namespace with only loopback by tests/test_chapters_offline.py. The
cells go through IPython (which every caveclient installs), so the setup cell's ``%pip``
line parses as it does in Jupyter. EXTRA_SITE_PACKAGES, if given, is appended to the *end*
of ``sys.path``: a caveclient environment of the matrix lacks the chapters' figure and
space packages (matplotlib, scipy, standard_transform), and takes them from there without
any of its own packages (caveclient, numpy, pandas) being shadowed. Writes one JSON object:
the network interfaces seen, the mode, the caveclient release, where the main modules were
imported from, how many code cells ran, and the first failing cell with its error.
"""

import json
import os
import socket
import sys

result = {"interfaces": [name for _, name in socket.if_nameindex()]}
if len(sys.argv) > 3:
    sys.path.append(sys.argv[3])
os.environ.setdefault("MPLBACKEND", "Agg")  # no display: figures are drawn, not shown

from IPython.core.interactiveshell import InteractiveShell  # noqa: E402

with open(sys.argv[1], encoding="utf-8") as notebook:
    cells = [c for c in json.load(notebook)["cells"] if c["cell_type"] == "code"]
shell = InteractiveShell.instance()
result["code_cells"], result["cells_run"] = len(cells), 0
for cell in cells:
    source = "".join(cell["source"])
    outcome = shell.run_cell(source, store_history=True)
    if not outcome.success:
        error = outcome.error_in_exec or outcome.error_before_exec
        result["failed"] = {"source": source[:400], "error": repr(error)[:2000]}
        break
    result["cells_run"] += 1

import caveclient  # noqa: E402

import microns_helpers  # noqa: E402

result["caveclient"] = caveclient.__version__
result["mode"] = microns_helpers.modes.active_mode()
result["modules"] = {
    name: getattr(sys.modules[name], "__file__", None)
    for name in ("caveclient", "numpy", "pandas", "scipy", "matplotlib", "standard_transform")
    if name in sys.modules
}
with open(sys.argv[2], "w") as out:
    json.dump(result, out)
