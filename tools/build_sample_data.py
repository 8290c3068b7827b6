"""Build the sample dataset of minnie65_public: ``python tools/build_sample_data.py``.

The builder is ``tools/sample_data/`` (one module per table family); it reads the published
values kept in ``tools/sample_data/inputs/`` and writes ``microns_helpers/sample/dataset/``
and ``microns_helpers/sample/bulk/``. Deterministic: a clone rebuilds them byte for byte.
"""

import sys
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
sys.path[:0] = [str(TOOLS.parent), str(TOOLS)]  # the package and the builder beside this file

from sample_data.build import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
