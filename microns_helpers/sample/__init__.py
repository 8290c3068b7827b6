"""The sample CAVE service: answers CAVE requests on 127.0.0.1 from a small sample dataset.

Offline mode (``MICRONS_MODE=offline``) starts it inside the process and sends it every
request that no recording answers; tests and the recorder start it themselves::

    from microns_helpers.sample import SampleService
    with SampleService() as s:
        s.url        # http://127.0.0.1:<port>, global and local routes on one port
        s.requests   # [(method, path_with_query), ...] served so far

The dataset is partly real (published values) and mostly synthetic: ``dataset/README.md``
says which is which. ``python -m microns_helpers.sample`` serves it in the foreground.
"""

from .data import (
    DATASET_DIR,
    DELETED,
    SELECT_ORDER,
    SampleData,
    columns_from_schema,
    load_sample_data,
)
from .lineage import Lineage
from .server import SampleService

__all__ = [
    "DATASET_DIR",
    "DELETED",
    "SELECT_ORDER",
    "Lineage",
    "SampleData",
    "SampleService",
    "columns_from_schema",
    "load_sample_data",
]
