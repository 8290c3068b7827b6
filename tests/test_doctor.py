"""``microns-helpers doctor`` against the sample service: true lines, exit status, no token."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

import microns_helpers
from microns_helpers import cli, modes
from microns_helpers import doctor as doctor_module
from microns_helpers.sample import SampleService
from tests.helpers import closed_port

REPO = Path(__file__).resolve().parent.parent
PLANTED_TOKEN = "planted-9a8b7c6d-NEVER-PRINT-5e4f3a2b"


def doctor(capsys, *args):
    """Run the doctor in this process: (exit status, printed lines)."""
    status = cli.main(["doctor", *args])
    return status, capsys.readouterr().out.splitlines()


def line(lines, words):
    """The one printed line that contains ``words``."""
    found = [text for text in lines if words in text]
    assert len(found) == 1, (words, lines)
    return found[0]


def test_a_good_setup_passes(home, monkeypatch, capsys):
    monkeypatch.setenv("CAVE_TOKEN", PLANTED_TOKEN)
    # The bound below is on the answers, not on importing dask and the rest the first time.
    for module in doctor_module.CHAPTER_PACKAGES:
        importlib.import_module(module)
    with SampleService(required_token=PLANTED_TOKEN) as s:
        started = time.perf_counter()
        status, lines = doctor(capsys, "--server-address", s.url)
        elapsed = time.perf_counter() - started
        assert "answers (HTTP" in line(lines, f"server {s.url}")
    assert status == 0
    assert all(text.startswith("✓ ") for text in lines), lines
    assert [text.split()[1] for text in lines[:2]] == ["Python", "caveclient"]
    for distribution, chapter, *_ in doctor_module.CHAPTER_PACKAGES.values():
        pattern = rf"✓ {distribution} \d\S* \({chapter}\)"
        assert [re.fullmatch(pattern, text) is not None for text in lines].count(True) == 1
    for distribution in doctor_module.RUNS_THE_CHAPTERS.values():
        pattern = rf"✓ {distribution} \d\S* \(every chapter\)"
        assert [re.fullmatch(pattern, text) is not None for text in lines].count(True) == 1
    line(lines, "RecursionError")
    line(lines, "mode: live")
    line(lines, "version: 1300, from the default")
    line(lines, "the CAVE token in the CAVE_TOKEN variable is accepted")
    line(lines, "version 1300 (the default) of minnie65_public is valid")
    assert PLANTED_TOKEN not in "\n".join(lines)
    assert elapsed < 3


def test_a_token_in_the_secret_file_is_found(home, capsys):
    secrets = home / ".cloudvolume" / "secrets"
    secrets.mkdir(parents=True)
    (secrets / "cave-secret.json").write_text(f'{{"token": "{PLANTED_TOKEN}"}}')
    with SampleService(required_token=PLANTED_TOKEN) as s:
        status, lines = doctor(capsys, "--server-address", s.url)
    assert status == 0
    line(lines, "the CAVE token in caveclient's secret file is accepted")
    assert PLANTED_TOKEN not in "\n".join(lines)


def test_a_rejected_token_is_a_cross_naming_the_rejection(home, monkeypatch, capsys):
    monkeypatch.setenv("CAVE_TOKEN", "an-old-token")
    with SampleService(required_token=PLANTED_TOKEN) as s:
        status, lines = doctor(capsys, "--server-address", s.url)
    assert status == 1
    token_line = line(lines, "the CAVE token in the CAVE_TOKEN variable")
    assert (
        token_line.startswith("✗ ") and "refused access" in token_line and "HTTP 403" in token_line
    )
    assert not any("accepted" in text for text in lines)


def test_a_missing_token_blocks_live_use(home, capsys):
    with SampleService(required_token=PLANTED_TOKEN) as s:
        status, lines = doctor(capsys, "--server-address", s.url)
        assert line(lines, f"server {s.url}").startswith("✓ ")
    assert status == 1
    token_line = line(lines, "no CAVE token found")
    assert token_line.startswith("✗ ") and "setup_token(make_new=True)" in token_line
    assert "not checked" in line(lines, "version 1300 (the default)")


def test_an_unreachable_server_blocks_live_use(home, monkeypatch, capsys):
    monkeypatch.setenv("CAVE_TOKEN", PLANTED_TOKEN)
    url = f"http://127.0.0.1:{closed_port()}"
    status, lines = doctor(capsys, "--server-address", url)
    assert status == 1
    server_line = line(lines, f"server {url}")
    assert server_line.startswith("✗ ") and "MICRONS_MODE=offline" in server_line
    assert line(lines, "version 1300 (the default)").endswith("not checked (server unreachable)")
    token_line = line(lines, "the CAVE token in the CAVE_TOKEN variable")
    assert token_line == (
        "✗ the CAVE token in the CAVE_TOKEN variable: not checked (server unreachable)"
    )


def test_an_expired_version_from_the_setting_says_since_when(home, monkeypatch, capsys):
    monkeypatch.setenv("MICRONS_VERSION", "1078")
    with SampleService() as s:
        status, lines = doctor(capsys, "--server-address", s.url)
    assert status == 1
    line(lines, "version: 1078, from MICRONS_VERSION")
    version_line = line(lines, "version 1078 (MICRONS_VERSION) of minnie65_public")
    assert version_line.startswith("✗ ") and "expired on 2025-06-05" in version_line
    assert "MICRONS_VERSION=1300" in version_line


def test_an_unknown_version_is_named(home, capsys):
    with SampleService() as s:
        status, lines = doctor(capsys, "--server-address", s.url, "--version", "1079")
    assert status == 1
    version_line = line(lines, "version 1079 (--version) of minnie65_public")
    assert version_line.startswith("✗ ") and "unknown" in version_line and "1822" in version_line


def test_the_timeout_setting_is_honoured(home, monkeypatch, capsys):
    monkeypatch.setenv("CAVE_TOKEN", PLANTED_TOKEN)
    monkeypatch.setenv("MICRONS_TIMEOUT", "0.2")
    with SampleService(delay=0.6) as s:
        status, lines = doctor(capsys, "--server-address", s.url)
        assert "no answer within 0.2 s" in line(lines, f"server {s.url}")
    assert status == 1


@pytest.mark.parametrize(
    "name, value, words",
    [
        ("MICRONS_MODE", "bogus", "MICRONS_MODE='bogus' is not a mode"),
        ("MICRONS_VERSION", "latest", "MICRONS_VERSION='latest' is not a materialization"),
        ("MICRONS_TIMEOUT", "inf", "MICRONS_TIMEOUT='inf' is not a number of seconds"),
    ],
)
def test_a_bad_setting_is_a_cross_line_not_a_crash(home, monkeypatch, capsys, name, value, words):
    monkeypatch.setenv(name, value)
    status, lines = doctor(capsys, "--server-address", f"http://127.0.0.1:{closed_port()}")
    assert status == 1
    assert line(lines, words).startswith("✗ ")


def test_a_missing_recordings_folder_is_named(home, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("MICRONS_MODE", "offline")
    monkeypatch.setenv("MICRONS_RECORDINGS", str(tmp_path / "nowhere"))
    status, lines = doctor(capsys)
    assert status == 1
    assert line(lines, "which does not exist. Point MICRONS_RECORDINGS").startswith("✗ ")


def test_options_choose_the_datastack_and_version(home, monkeypatch, capsys):
    monkeypatch.setenv("CAVE_TOKEN", PLANTED_TOKEN)
    with SampleService() as s:
        status, lines = doctor(
            capsys, "--server-address", s.url, "--datastack", "minnie65_public", "--version", "1718"
        )
        assert status == 0
        line(lines, "version 1718 (--version) of minnie65_public is valid")
        status, lines = doctor(capsys, "--server-address", s.url, "--datastack", "minnie99")
    assert status == 1
    assert "'minnie99'" in line(lines, "version 1300 (the default) of minnie99")


def test_in_record_mode_the_doctor_writes_nothing_and_leaves_the_mode(
    home, monkeypatch, capsys, tmp_path
):
    folder = tmp_path / "recordings"
    folder.mkdir()
    monkeypatch.setenv("MICRONS_MODE", "record")
    monkeypatch.setenv("MICRONS_RECORDINGS", str(folder))
    with SampleService() as s, modes.using("record", folder, name="chapter"):
        doctor(capsys, "--server-address", s.url)
        assert modes.active_mode() == "record"
        modes.flush()
    assert list(folder.iterdir()) == []


def test_in_replay_mode_live_checks_are_informational(home, monkeypatch, capsys, tmp_path):
    # Record connect() from the sample service into a folder of our own, then replay it.
    folder = tmp_path / "recordings"
    folder.mkdir()
    monkeypatch.setenv("MICRONS_RECORDINGS", str(folder))
    with SampleService(local_server=modes.PUBLIC_LOCAL) as s:
        monkeypatch.setenv("MICRONS_RECORD_TARGET", s.url)
        from microns_helpers import connect

        with modes.using("record", folder):
            connect(mode="record")
    monkeypatch.delenv("MICRONS_RECORD_TARGET")
    monkeypatch.setenv("MICRONS_MODE", "replay")
    url = f"http://127.0.0.1:{closed_port()}"
    status, lines = doctor(capsys, "--server-address", url)
    assert status == 0, lines
    assert line(lines, "replay: connect()").startswith("✓ ")
    assert line(lines, f"server {url}").startswith("✗ ")
    line(lines, "the live lines are informational")
    assert modes.active_mode() == "live"  # as the doctor found it


@pytest.mark.parametrize("mode", ["replay", "offline"])
def test_without_a_named_server_no_server_is_contacted(home, monkeypatch, capsys, mode):
    # Replay and offline must not send a request outside the process (a workshop with no
    # wifi, a site build): without --server-address the live checks are skipped, and say so.
    monkeypatch.setenv("MICRONS_MODE", mode)
    from microns_helpers import doctor as doctor_module

    sent = []
    monkeypatch.setattr(doctor_module, "_server_answers", lambda *args: sent.append(args))
    status, lines = doctor(capsys)
    assert sent == []
    assert status == 0, lines
    assert line(lines, f"{mode}: connect() answers from").startswith("✓ ")
    assert line(lines, f"{mode}: no token needed") == f"✓ {mode}: no token needed"
    assert line(lines, f"live checks skipped in {mode} mode").startswith("✓ ")
    assert all(text.startswith("✓ ") for text in lines), lines


def test_an_empty_recordings_folder_is_fine_in_replay_mode(home, monkeypatch, capsys, tmp_path):
    # recordings hold live answers only; without any, the sample data answers everything
    monkeypatch.setenv("MICRONS_RECORDINGS", str(tmp_path))
    monkeypatch.setenv("MICRONS_MODE", "replay")
    status, lines = doctor(capsys, "--server-address", f"http://127.0.0.1:{closed_port()}")
    assert status == 0
    assert "answers from recordings and sample data" in line(lines, "replay: connect()")


def test_python_m_and_a_console_that_cannot_print_checkmarks(home):
    """``python -m microns_helpers doctor`` falls back to ASCII; doctor never loads the recorder."""
    env = {k: v for k, v in os.environ.items() if k != "CAVE_TOKEN" and not k.startswith("MICRONS")}
    env.update(HOME=str(home), PYTHONIOENCODING="ascii", PYTHONPATH=str(REPO))
    url = f"http://127.0.0.1:{closed_port()}"
    done = subprocess.run(
        [sys.executable, "-m", "microns_helpers", "doctor", "--server-address", url],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("OK Python") and line(lines, f"server {url}").startswith("NO ")
    probe = (
        "import sys; from microns_helpers import cli; "
        f"cli.main(['doctor', '--server-address', '{url}']); "
        "print('recorder loaded:', 'microns_helpers.recorder' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.stdout.splitlines()[-1] == "recorder loaded: False"


def test_record_says_so_when_the_recorder_cannot_be_imported(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "microns_helpers.recorder", None)
    # an earlier test's import leaves the attribute, which `from . import` would find first
    monkeypatch.delattr(microns_helpers, "recorder", raising=False)
    # Folders of its own: should the import succeed after all, the recorder must not
    # re-record the book's chapters into the repository (it did once, when this failed).
    folders = ["--chapters", str(tmp_path), "--recordings", str(tmp_path / "recordings")]
    assert cli.main(["record", *folders]) == 1
    assert "microns_helpers.recorder could not be imported" in capsys.readouterr().err


def test_a_missing_package_names_the_chapter_that_needs_it(home, monkeypatch, capsys):
    monkeypatch.setenv("MICRONS_MODE", "offline")
    packages = {
        **doctor_module.CHAPTER_PACKAGES,
        "no_such_module_4f2": ("no-such-dist", "11_skeletons"),
        "no_such_optional_4f2": ("no-such-optional", "12_neuroglancer", "requirements-x.txt"),
    }
    monkeypatch.setattr(doctor_module, "CHAPTER_PACKAGES", packages)
    status, lines = doctor(capsys)
    assert status == 1
    needed = line(lines, "no-such-dist")
    assert needed.startswith("✗ no-such-dist cannot be imported (ModuleNotFoundError")
    assert "and 11_skeletons needs it: python -m pip install -r requirements-learner.txt" in needed
    # an optional extra left out is neither ✓ nor ✗: a neutral line, the chapter, the command
    optional = line(lines, "no-such-optional")
    assert optional == (
        "– no-such-optional not installed: optional, only 12_neuroglancer needs it "
        "(python -m pip install -r requirements-x.txt)"
    )
    assert not any("live lines are informational" in text for text in lines)
    # an optional package alone does not block
    del packages["no_such_module_4f2"]
    status, lines = doctor(capsys)
    assert status == 0, lines


def chapter_imports():
    """module imported by a chapter's code cell -> the first chapter (in _toc.yml order)."""
    import ast
    import re

    import nbformat
    import yaml

    toc = yaml.safe_load((REPO / "_toc.yml").read_text(encoding="utf-8"))
    files = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    first = {}
    for stem in files:
        path = REPO / f"{stem}.ipynb"
        if not path.exists():
            continue
        for cell in nbformat.read(str(path), as_version=4).cells:
            if cell.cell_type != "code":
                continue
            # IPython's %magics and !commands are not Python: a pass keeps the blocks whole
            source = re.sub(r"^(\s*)[%!].*$", r"\1pass", cell.source, flags=re.M)
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top not in sys.stdlib_module_names and top != "microns_helpers":
                        first.setdefault(name, Path(stem).name)
    return first


def test_the_doctor_checks_every_package_the_chapters_import():
    # A chapter that imports something new fails here until doctor.CHAPTER_PACKAGES has its
    # line: the doctor then checks it on every laptop, and names the chapter.
    imports = chapter_imports()
    table = doctor_module.CHAPTER_PACKAGES

    def covering(name):
        # importing dask.dataframe imports dask: one line covers both
        return [
            key
            for key in table
            if name == key or f"{name}.".startswith(f"{key}.") or key.startswith(name + ".")
        ]

    uncovered = sorted(name for name in imports if not covering(name))
    assert not uncovered, f"add to doctor.CHAPTER_PACKAGES: {uncovered}"
    for key, (_, chapter, *_) in table.items():
        chapters = sorted(imports[name] for name in imports if key in covering(name))
        assert chapters, f"no chapter imports {key}: remove it from doctor.CHAPTER_PACKAGES"
        assert chapter == chapters[0], f"{key} is first imported by {chapters[0]}, not {chapter}"


def versionless(text):
    """A doctor line with its version numbers blanked (3.11.9, 2026.8.0, 5.17.1-5.23.0)."""
    return re.sub(r"\d+\.\d+[\w.]*", "N", text)


def without_the_extra(monkeypatch):
    """The learner install: nglui, the Neuroglancer chapter's optional extra, not there."""
    real = importlib.import_module

    def import_module(name, *args):
        if name.split(".")[0] == "nglui":
            raise ModuleNotFoundError(f"No module named {name!r}")
        return real(name, *args)

    monkeypatch.setattr(doctor_module.importlib, "import_module", import_module)


def test_what_the_readme_and_the_guide_say_the_doctor_prints_is_what_it_prints(
    home, monkeypatch, capsys
):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    guide = (REPO / "chapters" / "instructor_guide.md").read_text(encoding="utf-8")
    monkeypatch.setenv("MICRONS_MODE", "offline")
    with monkeypatch.context() as patched:
        without_the_extra(patched)  # what the README's learner install prints
        status, offline = doctor(capsys)
    assert status == 0
    # the guide shows the whole offline output of the learner install: every line ✓ but
    # the optional extra's neutral one
    shown = (
        guide.split("Offline, on the\n  learner install, it prints:")[1]
        .split("```text\n")[1]
        .split("```")[0]
    )
    shown = [text.strip() for text in shown.strip().splitlines()]
    assert list(map(versionless, shown)) == list(map(versionless, offline))
    neutral = [text for text in offline if not text.startswith("✓ ")]
    assert len(neutral) == 1 and neutral[0].startswith("– nglui not installed: optional, only")
    assert "12_neuroglancer" in neutral[0]
    for name, text in (("README.md", readme), ("instructor_guide.md", guide)):
        flat = " ".join(text.split())
        assert " ".join(neutral[0].split()) in flat, name  # quoted whole
        assert "every line should show `✓`" not in flat.lower(), name
    # with a token and no network: the token "not checked (server unreachable)"
    monkeypatch.setenv("MICRONS_MODE", "live")
    monkeypatch.setenv("CAVE_TOKEN", PLANTED_TOKEN)
    _, unreachable = doctor(capsys, "--server-address", f"http://127.0.0.1:{closed_port()}")
    assert "the token line says `not checked (server unreachable)`" in guide
    assert line(unreachable, "CAVE token").endswith(": not checked (server unreachable)")
    # every doctor line quoted in the README is printed
    quoted = re.findall(r"`([✓✗–] [^`]+)`", readme)
    assert quoted, "the README quotes no line of the doctor"
    for text in quoted:
        assert " ".join(text.split()) in offline + unreachable, text
    # both run the doctor in the mode the learner then uses (offline, before jupyter lab)
    for name, text in (("README.md", readme), ("instructor_guide.md", guide)):
        blocks = re.findall(r"```(?:bash|powershell)\n(.*?)```", text, flags=re.S)
        runs = [t.split("#")[0] for b in blocks for t in b.splitlines() if "doctor" in t]
        assert len(runs) == 2, (name, runs)  # Linux and macOS, Windows
        for run in runs:
            assert re.search(r"MICRONS_MODE ?= ?\"?offline", run), (name, run)


def test_a_python_the_book_does_not_test_is_said_and_blocks_nothing(home, monkeypatch, capsys):
    from tools.check_python import NEWEST, OLDEST

    assert doctor_module.TESTED_PYTHONS == (OLDEST, NEWEST)
    monkeypatch.setenv("MICRONS_MODE", "offline")
    monkeypatch.setattr(doctor_module, "TESTED_PYTHONS", ((3, 1), (3, 2)))
    status, lines = doctor(capsys)
    assert status == 0, lines
    assert lines[0].startswith("✗ Python ") and "not one the book is tested on" in lines[0]
