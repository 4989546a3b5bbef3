"""The README's Quick start: the commands a new user types, and CI running the same test command."""

from __future__ import annotations

import re
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]


def quick_start() -> list[str]:
    """The shell lines of the README's Quick start, in order."""
    section = ROOT.joinpath("README.md").read_text(encoding="utf-8").split("## Quick start", 1)[1]
    section = section.split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section)


def test_quick_start_lines_make_and_use_a_virtual_environment() -> None:
    demo, tests = quick_start()
    for line in (demo, tests):
        # pip outside a venv is refused on Debian 12 and Ubuntu 24.04 (PEP 668)
        assert line.startswith("python3 -m venv .venv && . .venv/bin/activate && pip install "), line
    assert demo.endswith("fahras serve --demo") and tests.endswith("pytest")


def test_ci_runs_the_readme_test_command() -> None:
    _, tests = quick_start()
    ci = ROOT.joinpath(".ci", "run").read_text(encoding="utf-8").splitlines()
    assert any(line.startswith(tests) for line in ci), (
        "the README's test command must begin a line of .ci/run"
    )


def test_the_installed_package_holds_every_package_of_the_tree() -> None:
    """``pip install .`` installs the packages pyproject.toml lists, and the demo runs what is installed:
    a package left out of the list (search.backends.embedded once was) breaks ``fahras serve --demo``
    while the tests, run from the tree, still pass."""
    listed = tomllib.loads(ROOT.joinpath("pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    in_tree = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for top in ("index", "search", "web")
        for path in ROOT.joinpath(top).rglob("__init__.py")
    }
    assert set(listed["packages"]) == in_tree
