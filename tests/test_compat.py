"""microns_helpers._compat: the one place for other libraries' private names."""

import caveclient
import pytest

import microns_helpers
from microns_helpers import _compat


def test_every_checked_library_is_a_checked_release_here():
    for library in _compat.CHECKED:
        _compat.require_checked(library, True)


def test_an_unchecked_release_of_a_patched_library_is_refused(monkeypatch):
    monkeypatch.setitem(_compat.CHECKED, "vcrpy", ((1, 0), (2,)))
    with pytest.raises(microns_helpers.UnsupportedDependencyError) as caught:
        _compat.require_checked("vcrpy", True)
    message = str(caught.value)
    assert "vcrpy 9.4.2" in message and "pip install 'vcrpy>=8.5,<10'" in message


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
