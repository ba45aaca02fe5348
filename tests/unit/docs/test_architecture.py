"""docs/architecture.md's layers table names every file of module_utils and plugin_utils once, and the imports
keep the rules it states above the table."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "architecture.md"
PACKAGE = "ansible_collections.containerops.lifecycle.plugins"
UTILS = ("module_utils", "plugin_utils")
ENGINE_ROW = "backends"
# The backend interface: the engine row's files every layer above may know.
INTERFACE = {"module_utils._backend", "module_utils._parts"}
# module_utils files no module uses, each with the controller plugin that does (none: an engine's event feed, which
# keeps the event source's cursor, is part of its backend).
CONTROLLER_ONLY_IN_MODULE_UTILS: dict[str, str] = {}


def layers() -> dict[str, set[str]]:
    """The layers table: {layer: the module_utils and plugin_utils files its row names, as 'module_utils._x'}."""
    text = DOC.read_text(encoding="utf-8")
    table = text[text.index("## Layers") :].split("\n## ", 1)[0]
    rows = {}
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] in ("layer", "---"):
            continue
        named = set()
        for stem in re.findall(r"`(?:[\w/]+/)?(_\w+)\.py`", cells[1]):
            named |= {f"{utils}.{stem}" for utils in UTILS if (ROOT / "plugins" / utils / f"{stem}.py").exists()}
        rows[cells[0]] = named
    return rows


def imports(path: Path) -> set[str]:
    """The collection's plugin files ``path`` imports, as 'module_utils._x', 'plugin_utils._x', 'filter.x'..."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PACKAGE + "."):
            module = node.module[len(PACKAGE) + 1 :]
            found |= {f"{module}.{alias.name}" for alias in node.names} if "." not in module else {module}
        elif isinstance(node, ast.Import):
            found |= {alias.name[len(PACKAGE) + 1 :] for alias in node.names if alias.name.startswith(PACKAGE + ".")}
    return found


def source(name: str) -> Path:
    return ROOT / "plugins" / (name.replace(".", "/") + ".py")


def reached(name: str) -> set[str]:
    """What ``name`` imports, and what those import, and so on."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        for found in imports(source(todo.pop())) - seen:
            seen.add(found)
            todo.append(found)
    return seen


def utils_files() -> set[str]:
    return {f"{utils}.{path.stem}" for utils in UTILS for path in (ROOT / "plugins" / utils).glob("_*.py")}


MODULES = sorted((ROOT / "plugins" / "modules").glob("*.py"))
ROWS = layers()


def test_the_table_names_every_file_once():
    named = [name for files in ROWS.values() for name in files]
    assert sorted(set(named)) == sorted(named), "a file named in two rows"
    missing, absent = sorted(utils_files() - set(named)), sorted(set(named) - utils_files())
    assert not missing and not absent, f"not in the table: {missing}; named but absent: {absent}"


def test_module_utils_imports_nothing_only_the_controller_has():
    for name in sorted(utils_files()):
        if name.startswith("module_utils."):
            assert all(found.startswith("module_utils.") for found in imports(source(name))), name


@pytest.mark.parametrize("module", MODULES, ids=lambda path: path.stem)
def test_a_module_imports_module_utils_and_no_engine(module):
    found = imports(module)
    assert found and all(name.startswith("module_utils.") for name in found), found
    assert not found & ROWS[ENGINE_ROW] - INTERFACE


def test_every_module_utils_file_is_used_by_a_module_or_named_as_controller_only():
    used = set().union(*(reached(f"modules.{module.stem}") for module in MODULES))
    unused = {name for name in utils_files() if name.startswith("module_utils.")} - used
    assert unused == {f"module_utils.{stem}" for stem in CONTROLLER_ONLY_IN_MODULE_UTILS}, (
        "a module_utils file no module imports belongs in plugins/plugin_utils/"
    )


@pytest.mark.parametrize(
    ("layer", "must_not_reach", "transitively"),
    [
        ("carrying plans out", ROWS[ENGINE_ROW] - INTERFACE, False),
        ("backends", ROWS["shared option handling"] | ROWS["carrying plans out"], False),
        (
            "decisions",
            ROWS[ENGINE_ROW] - INTERFACE
            | {"module_utils._http"}
            | ROWS["shared option handling"]
            | ROWS["carrying plans out"],
            True,
        ),
        (
            "controller decisions",
            ROWS[ENGINE_ROW] | {"module_utils._http"} | ROWS["shared option handling"] | ROWS["carrying plans out"],
            True,
        ),
        ("transport", utils_files() - ROWS["transport"], False),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_a_layer_keeps_to_its_rule(layer, must_not_reach, transitively):
    assert ROWS[layer]
    for name in sorted(ROWS[layer]):
        found = reached(name) if transitively else imports(source(name))
        assert not found & must_not_reach, f"{name} imports {sorted(found & must_not_reach)}"
