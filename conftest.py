"""Loaded by every pytest run in this repository, the chapters' nbval runs included.

It sorts the checks into families (pyproject.toml's markers). `make test` runs them on
pytest-xdist workers with ``--dist loadscope``: the cells of one notebook (nbval runs them
in order in one kernel) and the tests of one module (its module fixtures build an
environment, a recording or a browser once) each go to one worker. (``--dist loadgroup``
with a group per file did not keep nbval's cells together: its items never carried the
group in their node ids, and a notebook's cells ran on two workers.)
"""

from pathlib import Path

import pytest

from microns_helpers._compat import encrypt_book_kernels

# nbval's kernels: no "running over TCP without encryption" warning at each start.
encrypt_book_kernels()

# The slow families, by module or by module::test: a default `pytest` leaves them out,
# `make test` runs them. (Chapter notebooks under nbval are "notebooks", tests of the built
# site "site".)
FAMILIES = {
    "envs": (  # run steps in other Python environments (caveclient releases, learner install)
        "test_caveclient_matrix",
        "test_chapters_offline",
        "test_learner_install",
        "test_offline",
        "test_opened_alone",
        "test_sample_service::test_caveclient_523_recursion_error_only_without_the_reference_table",
        "test_links::test_the_chapters_state_holds_its_segments_points_units_and_layers",
        "test_links::test_the_chapter_runs_offline_with_only_loopback_and_an_empty_home",
    ),
    "recorder": ("test_recorder_safety",),  # full recorder runs, killed at each moment
    "long": (  # single checks of half a minute or more (a full run, 2 cores, lightly loaded)
        "test_sample_validation::test_every_route_refuses_malformed_input_without_a_5xx",
        "test_bulk_export::test_export_is_deterministic",
        "test_sample_service::test_sample_data_rebuilds_identically",
    ),
    "site": ("test_browser",),  # a browser on the built site
}
SITE_FIXTURES = {"site_build", "built_site"}


def family(item) -> str | None:
    """The slow family of a collected test, or None for the quick ones."""
    if Path(str(item.fspath)).suffix == ".ipynb":
        return "notebooks"
    if SITE_FIXTURES & set(getattr(item, "fixturenames", ())):
        return "site"
    module, test = test_name(item)
    for name, members in FAMILIES.items():
        if module in members or test in members:
            return name
    return None


def pytest_addoption(parser):
    parser.addoption(
        "--every-family",
        action="store_true",
        help="run the slow families too (make test); a plain pytest runs the quick checks",
    )


def quick_only(config) -> bool:
    """A plain `pytest`: no file named, no -m, no --every-family. A pytest-xdist worker is
    told by the controller (its own arguments always name the paths)."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and "quick_only" in workerinput:
        return workerinput["quick_only"]
    named = config.args_source == pytest.Config.ArgsSource.ARGS
    return not (named or config.option.markexpr or config.getoption("every_family"))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """pytest-xdist, on the controller: hand each worker the choice made here."""
    node.workerinput["quick_only"] = quick_only(node.config)


# Scheduling on pytest-xdist workers (make test: --dist loadscope --no-loadscope-reorder).
# loadscope sends each module to one worker, so its module fixtures (a browser, a release's
# connect() run) are made once. These modules' tests are independent runs of up to a few
# minutes with cheap fixtures (a chapter in an environment, a release's variations): each
# test is a unit of its own, so the workers share them and end together.
SPLIT_MODULES = {"test_learner_install", "test_chapters_offline", "test_offline"}
# Longest first (the durations of a full run): the units are handed out in this order, the
# rest after them in collection order, so no long unit starts when the other worker is
# nearly done. A name is a module or module::test.
LONG_FIRST = (
    "test_learner_install::test_the_readme_learner_steps_run_as_written",
    "test_offline::test_offline_answers_the_documented_code_and_every_variation",
    "test_recorder_safety",
    "test_hostile_inputs",
    "test_browser",
    "test_sample_service",
    "test_cloudvolume_offline",
    "test_offline",
    "test_learner_install",
    "test_chapters_offline",
    "test_caveclient_matrix",
    "test_modes",
)


def test_name(item) -> tuple[str, str]:
    """(module stem, module::test) of a collected test."""
    module = Path(str(item.fspath)).stem
    return module, f"{module}::{getattr(item, 'originalname', item.name)}"


def long_rank(item) -> int:
    """The place of ``item`` in LONG_FIRST, or after all of it."""
    names = test_name(item)
    return next((i for i, n in enumerate(LONG_FIRST) if n in names), len(LONG_FIRST))


def work_unit(nodeid: str) -> str:
    """The unit of work a test belongs to: itself in SPLIT_MODULES, else what loadscope
    makes it (its module, or its class: the node id without its last ``::`` part)."""
    module = Path(nodeid.split("::", 1)[0]).stem
    return nodeid if module in SPLIT_MODULES else nodeid.rsplit("::", 1)[0]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """loadscope, with the units of ``work_unit``. ``_split_scope`` is the one private name
    of pytest-xdist the tests use (checked on 3.8.0); where it is gone, the default
    loadscope runs everything, only less evenly."""
    from xdist.scheduler import LoadScopeScheduling

    if config.getvalue("dist") != "loadscope" or not hasattr(LoadScopeScheduling, "_split_scope"):
        return None

    class SplitScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    return SplitScheduling(config, log)


# The test that runs nbval on every chapter in the learner install's kernels: where it is
# collected and can run, nbval's own run in this environment would check the same outputs
# a second time, so it is left out (one execution per chapter for nbval).
NBVAL_ON_THE_LEARNER_INSTALL = (
    "test_learner_install::test_every_chapter_passes_nbval_on_the_learner_install"
)


# Decided once per run, at collection; the collection report says it.
NBVAL_MOVED = pytest.StashKey[bool]()


def nbval_moved(items) -> bool:
    """Whether nbval runs in the learner install's kernels in this run (see above)."""
    from tests.environments import nbval_runs_here

    moved = any(NBVAL_ON_THE_LEARNER_INSTALL in test_name(item) for item in items)
    return moved and nbval_runs_here()


def pytest_collection_modifyitems(config, items):
    items.sort(key=long_rank)  # stable: a notebook's cells and a module's tests keep order
    moved = config.stash[NBVAL_MOVED] = nbval_moved(items)
    kept, left_out = [], []
    for item in items:
        kind = family(item)
        if kind:
            item.add_marker(getattr(pytest.mark, kind))
        leave = kind and quick_only(config) or (kind == "notebooks" and moved)
        (left_out if leave else kept).append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept


def pytest_report_header(config):
    if quick_only(config):
        return (
            "quick checks only: the notebooks, site, envs, recorder and long families are "
            "left out (make test runs them: --every-family)"
        )


def pytest_report_collectionfinish(config, items):
    if config.stash.get(NBVAL_MOVED, False):
        return (
            "nbval checks the chapters in the learner install's kernels "
            "(test_every_chapter_passes_nbval_on_the_learner_install), not again here"
        )
