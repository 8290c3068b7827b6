"""The builder of the sample dataset (``python tools/build_sample_data.py``), one module per
table family; its published inputs are in ``inputs/`` (see ``inputs/PROVENANCE.md``)."""
