"""The sample's bulk export: written on first use, the same bytes every time, the same rows
as the sample service serves."""

import pandas as pd

from microns_helpers import bulk
from microns_helpers.sample import load_sample_data
from microns_helpers.sample.bulk_export import write_export


def test_export_is_deterministic(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    write_export(a)
    write_export(b)
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir()) and len(names) == 8
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_sample_export_holds_the_served_rows():
    files = bulk.sample_export(1300)
    assert sorted(files) == [
        "aibs_metamodel_celltypes_v661",
        "nucleus_detection_v0",
        "proofreading_status_and_strategy",
        bulk.SYNAPSE_VIEW,
    ]
    header = bulk.read_header(files[bulk.SYNAPSE_VIEW].header)
    names, dtype = bulk.dask_names(header)
    synapses = pd.read_csv(files[bulk.SYNAPSE_VIEW].data, header=None, names=names, dtype=dtype)
    served = load_sample_data().rows("synapses_pni_2", 1300)
    assert len(synapses) == len(served)
    assert set(synapses["id"]) == set(served["id"])
    # asked again, the same folder is reused (not written twice)
    assert bulk.sample_export(1300)[bulk.SYNAPSE_VIEW].data == files[bulk.SYNAPSE_VIEW].data


def test_sample_export_of_a_version_the_sample_lacks_is_refused():
    import pytest

    from microns_helpers.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="no version 1301"):
        bulk.sample_export(1301)
