"""How make test shares the checks between its pytest-xdist workers (conftest.py): a
notebook's cells and a module with shared fixtures stay on one worker; the long independent
runs are units of their own, and the longest are handed out first."""

from types import SimpleNamespace

import conftest


def test_a_notebook_and_a_module_with_shared_fixtures_stay_one_unit():
    cells = [f"chapters/05_synapses.ipynb::Cell {i}" for i in range(3)]
    assert {conftest.work_unit(c) for c in cells} == {"chapters/05_synapses.ipynb"}
    pages = [f"tests/test_browser.py::test_page_renders[chapters/0{i}_x-light]" for i in (1, 2)]
    assert {conftest.work_unit(p) for p in pages} == {"tests/test_browser.py"}


def test_the_long_independent_runs_are_units_of_their_own():
    runs = [
        "tests/test_learner_install.py::test_every_chapter_runs[3.12-01_setup]",
        "tests/test_learner_install.py::test_every_chapter_runs[3.12-02_basics]",
        "tests/test_offline.py::test_offline_answers[pinned]",
        "tests/test_offline.py::test_offline_answers[5.17.2]",
        "tests/test_chapters_offline.py::test_chapter_runs[01_setup-pinned]",
    ]
    assert [conftest.work_unit(r) for r in runs] == runs


def item(path: str, name: str):
    return SimpleNamespace(fspath=path, name=name, originalname=name.split("[")[0])


def test_the_longest_are_handed_out_first_and_the_rest_keep_their_order():
    items = [
        item("chapters/01_setup.ipynb", "Cell 0"),
        item("chapters/01_setup.ipynb", "Cell 1"),
        item("tests/test_learner_install.py", "test_every_chapter_runs[3.12-01_setup]"),
        item(
            "tests/test_offline.py",
            "test_offline_answers_the_documented_code_and_every_variation[pinned]",
        ),
        item("tests/test_learner_install.py", "test_the_readme_learner_steps_run_as_written"),
        item("tests/test_doctor.py", "test_a"),
    ]
    ordered = sorted(items, key=conftest.long_rank)
    assert [i.name for i in ordered] == [
        "test_the_readme_learner_steps_run_as_written",
        "test_offline_answers_the_documented_code_and_every_variation[pinned]",
        "test_every_chapter_runs[3.12-01_setup]",
        "Cell 0",
        "Cell 1",
        "test_a",
    ]
