"""microns_helpers._compat: the one place for other libraries' private names."""

import caveclient
import pytest

import microns_helpers
from microns_helpers import _compat
from tests.compat_names import missing_private_names, unchecked_releases


def test_every_checked_library_is_a_checked_release_here():
    for library, (low, high) in _compat.CHECKED.items():
        installed = _compat.version_tuple(_compat.installed_version(library) or "0")
        assert low <= installed < high, (library, installed)
    assert unchecked_releases() == []  # the same, read from pyproject.toml's bounds


def test_every_private_name_the_patches_use_is_here():
    """Looked up by name, not passed as True (tests/matrix/offline_step.py does the same in
    every caveclient environment of the matrix)."""
    assert missing_private_names() == []


def test_a_missing_private_name_is_named():
    planted = (("caveclient.base", "requests_that_never_were", None),)
    assert missing_private_names(planted) == ["caveclient.base.requests_that_never_were"]


def test_an_unchecked_release_of_a_patched_library_is_refused(monkeypatch):
    monkeypatch.setitem(_compat.CHECKED, "vcrpy", ((1, 0), (2,)))
    with pytest.raises(microns_helpers.UnsupportedDependencyError) as caught:
        _compat.require_checked("vcrpy", True)
    message = str(caught.value)
    # the install command follows the checked range (here the planted one)
    assert "vcrpy 9.4.2" in message and "pip install 'vcrpy>=1.0,<2'" in message


def test_a_private_name_that_is_gone_is_refused(monkeypatch):
    with pytest.raises(microns_helpers.UnsupportedDependencyError, match="lacks them"):
        _compat.require_checked("caveclient", False)


def test_the_patches_are_undone_after_use():
    from caveclient import base, materializationengine

    real_requests, real_manager = base.requests, materializationengine.TableManager
    with _compat.requests_time_out_after(1.0), _compat.table_manager_deferred():
        assert base.requests is not real_requests
        assert materializationengine.TableManager is not real_manager
    assert base.requests is real_requests and materializationengine.TableManager is real_manager


def test_filter_fields_lists_the_filter_arguments(sample_service, home):
    client = caveclient.CAVEclient(
        "minnie65_public", server_address=sample_service.url, write_server_cache=False
    )
    client.materialize.version = 1300
    fields = _compat.filter_fields(client.materialize.tables.aibs_metamodel_celltypes_v661)
    assert {"cell_type", "pt_root_id"} <= set(fields)


def test_other_warnings_in_the_same_header_are_kept():
    import logging

    once = _compat._OncePerTable()

    def passed(text):
        record = logging.LogRecord("caveclient.base", logging.WARNING, "", 0, text, (), None)
        return record.getMessage() if once.filter(record) else None

    a, b = "Table Owner Notice on a: read me, please", "Table Owner Notice on b: me too"
    assert passed(f"{a}, {b}") == f"{a}, {b}"
    assert passed(a) is None and passed(f"{b}, {a}") is None
    assert passed(f'201 - "Limited query to 5 rows, {a}') == '201 - "Limited query to 5 rows'
    assert passed("Table Owner Notice on a: a new text") == "Table Owner Notice on a: a new text"
    assert passed("something else") == "something else"


def test_pyproject_bounds_caveclient_as_compat_checked_it():
    """The caveclient range is written once, in _compat.CHECKED; the package's requirement
    must say the same (the errors' install commands are made from CHECKED)."""
    from pathlib import Path

    import tomllib

    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    dependencies = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    assert _compat.requirement("caveclient") in dependencies
    assert _compat.install_command("caveclient") == "pip install 'caveclient>=5.17,<9'"
