# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The unit tests mirror the source: one test file per source file, named after it, and no test file without one.

The rule: the source file ``<dir>/<name>.py`` (``<dir>`` one of ``SOURCE_DIRS``) is tested by
``tests/unit/<dir>/test_<name without leading underscores>.py``: ``plugins/module_utils/_docker.py`` by
``tests/unit/plugins/module_utils/test_docker.py``, ``extensions/eda/plugins/event_source/container_events.py`` by
``tests/unit/extensions/eda/plugins/event_source/test_container_events.py``. A file in a package below ``<dir>``
is tested beside the package's tests, named after both (``_hoody/_events.py``: ``test_hoody_events.py``; the
package's ``__init__.py``, when it defines anything: ``test_hoody.py``), so no two test files share a name (pytest
imports them by file name).

Outside the mirror: ``tests/unit/test_<name>.py`` tests the test helper ``tests/unit/<name>.py`` (the shared fake
against the contract suite), and any other ``tests/unit/<dir>/test_<name>.py`` something called ``<name>`` (a file
of any type, or a folder) in ``<dir>`` or below it: ``tests/unit/docs/test_architecture.py`` tests
``docs/architecture.md``, ``tests/unit/extensions/awx/test_credential_types.py`` the folder of credential types.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "tests" / "unit"
SOURCE_DIRS = (
    "plugins/module_utils",
    "plugins/plugin_utils",
    "plugins/modules",
    "plugins/inventory",
    "plugins/filter",
    "extensions/eda/plugins/event_source",
)
# Files that may have a unit test file, named by the same rule, but need none: doc fragments are documentation only.
MAY_BE_TESTED = ("plugins/doc_fragments",)
# Test files outside every rule above, each with why.
UNMIRRORED = {"tests/unit/test_layout.py": "this check: it tests the layout of tests/unit, no file of its own"}


def defines_something(path: Path) -> bool:
    """Whether ``path`` holds a function, a class or an assignment (not only a docstring and imports)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(not isinstance(node, (ast.Import, ast.ImportFrom, ast.Expr)) for node in tree.body)


def mirror_of(source: Path) -> Path:
    """Where the unit tests of ``source`` (a file below one of SOURCE_DIRS) belong."""
    folder = next(ROOT / name for name in SOURCE_DIRS + MAY_BE_TESTED if source.is_relative_to(ROOT / name))
    parts = source.relative_to(folder).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return UNIT / folder.relative_to(ROOT) / f"test_{'_'.join(part.lstrip('_') for part in parts)}.py"


def sources(folders: tuple[str, ...] = SOURCE_DIRS) -> dict[Path, Path]:
    """Every source file under ``folders`` with code of its own: {its test file: the source file}."""
    found = {}
    for folder in folders:
        for source in sorted((ROOT / folder).rglob("*.py")):
            if source.name == "__init__.py" and (source.parent == ROOT / folder or not defines_something(source)):
                continue
            found[mirror_of(source)] = source
    return found


def names_what_it_tests(test: Path) -> bool:
    """Whether a test file outside the mirror names what it tests (the rules for test helpers and the rest)."""
    name = test.stem.removeprefix("test_")
    folder = test.parent.relative_to(UNIT)
    if folder == Path("."):
        return (UNIT / f"{name}.py").exists()
    if any(folder.is_relative_to(mirrored) for mirrored in SOURCE_DIRS + MAY_BE_TESTED):
        return False  # the mirror's own rule, nothing looser
    return any(path.stem == name for path in (ROOT / folder).rglob(f"{name}*"))


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_every_source_file_has_its_unit_test_file():
    missing = [
        f"{relative(source)}: create {relative(test)}" for test, source in sources().items() if not test.exists()
    ]
    assert missing == [], "source files without their unit test file:\n" + "\n".join(missing)


def test_every_unit_test_file_names_the_file_it_tests():
    mirrored = sources(SOURCE_DIRS + MAY_BE_TESTED)
    strays = [
        relative(test)
        for test in sorted(UNIT.rglob("test_*.py"))
        if test not in mirrored and relative(test) not in UNMIRRORED and not names_what_it_tests(test)
    ]
    assert strays == [], (
        "unit test files that name no source file (name each after the file it tests, as "
        "tests/unit/test_layout.py says; or move its tests into that file):\n" + "\n".join(strays)
    )


@pytest.mark.parametrize(
    ("source", "test"),
    [
        ("plugins/module_utils/_docker.py", "tests/unit/plugins/module_utils/test_docker.py"),
        ("plugins/filter/__blue_green.py", "tests/unit/plugins/filter/test_blue_green.py"),
        ("plugins/modules/container_state.py", "tests/unit/plugins/modules/test_container_state.py"),
        ("plugins/module_utils/_hoody/_events.py", "tests/unit/plugins/module_utils/test_hoody_events.py"),
        ("plugins/module_utils/_hoody/__init__.py", "tests/unit/plugins/module_utils/test_hoody.py"),
        (
            "extensions/eda/plugins/event_source/container_events.py",
            "tests/unit/extensions/eda/plugins/event_source/test_container_events.py",
        ),
    ],
)
def test_the_test_file_of_a_source_file(source, test):
    assert relative(mirror_of(ROOT / source)) == test


def test_the_checks_see_a_missing_test_file_and_a_stray_one(tmp_path, monkeypatch):
    """Both checks fail, saying which file, on a tree with an untested source file or a test file naming nothing,
    and pass once each file is where the rule says."""
    module = sys.modules[__name__]
    monkeypatch.setattr(module, "ROOT", tmp_path)
    monkeypatch.setattr(module, "UNIT", tmp_path / "tests" / "unit")
    (tmp_path / "plugins" / "module_utils").mkdir(parents=True)
    (tmp_path / "plugins" / "module_utils" / "_new.py").write_text("VALUE = 1\n")
    (tmp_path / "tests" / "unit" / "plugins" / "module_utils").mkdir(parents=True)
    (tmp_path / "tests" / "unit" / "plugins" / "module_utils" / "test_theme.py").write_text("")
    untested = "plugins/module_utils/_new.py: create tests/unit/plugins/module_utils/test_new.py"
    with pytest.raises(AssertionError, match=re.escape(untested)):
        test_every_source_file_has_its_unit_test_file()
    (tmp_path / "tests" / "unit" / "plugins" / "module_utils" / "test_new.py").write_text("")
    test_every_source_file_has_its_unit_test_file()
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "architecture.md").write_text("")
    (tmp_path / "tests" / "unit" / "docs").mkdir()
    (tmp_path / "tests" / "unit" / "docs" / "test_architecture.py").write_text("")
    (tmp_path / "tests" / "unit" / "docs" / "test_design.py").write_text("")
    with pytest.raises(AssertionError, match=re.escape("tests/unit/docs/test_design.py")):
        test_every_unit_test_file_names_the_file_it_tests()
    (tmp_path / "tests" / "unit" / "docs" / "test_design.py").unlink()
    with pytest.raises(AssertionError, match=re.escape("tests/unit/plugins/module_utils/test_theme.py")):
        test_every_unit_test_file_names_the_file_it_tests()
    (tmp_path / "tests" / "unit" / "plugins" / "module_utils" / "test_theme.py").unlink()
    test_every_unit_test_file_names_the_file_it_tests()  # test_new.py and test_architecture.py name their files
