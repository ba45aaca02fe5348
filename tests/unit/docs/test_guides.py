"""docs/site/guides.py: the guide pages are README's sections, and say so again whenever README changes."""

from __future__ import annotations

import importlib.util
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SPEC = importlib.util.spec_from_file_location("guides", os.path.join(ROOT, "docs", "site", "guides.py"))
guides = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(guides)


def test_the_committed_guide_pages_are_readmes_sections():
    assert guides.main(["--check"]) == 0, "run python docs/site/guides.py"


def test_a_readme_change_shows_on_the_page():
    with open(guides.README, encoding="utf-8") as handle:
        readme = handle.read()
    changed = readme.replace("## Status logs on Docker\n", "## Status logs on Docker\n\nA new `sentence`.\n", 1)
    assert "A new ``sentence``." in guides.pages(changed)["guide_status_logs.rst"]
    assert "A new" not in guides.pages(readme)["guide_status_logs.rst"]


def test_markdown_becomes_rst():
    rst = guides.to_rst(
        "A `code\nspan` and [a link](https://x.example).\n\n| a | b |\n|---|---|\n| `1` | **2** |\n"
        "\n```yaml\nkey: value\n```\n\n### Sub\n"
    )
    assert "A ``code\nspan`` and `a link <https://x.example>`__." in rst
    assert ".. list-table::\n   :header-rows: 1\n\n   * - a\n     - b\n   * - ``1``\n     - **2**" in rst
    assert ".. code-block:: yaml\n\n   key: value" in rst
    assert "Sub\n---" in rst


def test_a_missing_readme_section_is_named():
    try:
        guides.pages("## Something else\n")
    except SystemExit as exc:
        assert "README.md has no section" in str(exc)
    else:
        raise AssertionError("no error for a README without the guides' sections")
