"""The guide pages of the rendered docs, generated from README.md so the two never say different things.

Each guide is one or more README sections (``## Heading``) turned into RST under a label of the collection's
docsite, after an introduction of its own:

    python docs/site/guides.py           write docs/docsite/rst/guide_*.rst
    python docs/site/guides.py --check   exit 1, naming them, if any differs from README.md (tests/unit run it)

The Markdown converted is the README's: headings, paragraphs, lists, pipe tables, fenced code, inline code,
bold and links.
"""

from __future__ import annotations

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
README = os.path.join(ROOT, "README.md")
PAGES = os.path.join(ROOT, "docs", "docsite", "rst")
LABEL = "ansible_collections.containerops.lifecycle.docsite."


def ref(page: str, text: str = "") -> str:
    """An RST reference to a page of the collection's docsite."""
    return f":ref:`{text} <{LABEL}{page}>`" if text else f":ref:`{LABEL}{page}`"


# page: (title, README sections in order, introduction)
GUIDES: dict[str, tuple[str, list[str], str]] = {
    "guide_backends": (
        "Backends and what each can do",
        ["Statuses and operations", "What each backend can and cannot do"],
        "Every module, the inventory plugin and the event source speak to the Docker Engine (``backend: docker``, the\n"
        "default), the Hoody API v1 (``hoody``) and Dockhand (``dockhand``) through one interface. The connection\n"
        "options and the environment variables each falls back to are the same for every module: see\n"
        ":ref:`container_state's parameters <ansible_collections.containerops.lifecycle.container_state_module>`.\n"
        "When an engine does not answer or a request fails, see " + ref("guide_failures") + ".",
    ),
    "guide_failures": ("What happens when things go wrong", ["What happens when things go wrong"], ""),
    "guide_fleets": (
        "Fleets across engines",
        ["Fleets across engines"],
        "The variables and commands of the fleet playbook are on its page: " + ref("playbook_fleet") + ".",
    ),
    "guide_status_logs": (
        "Status logs on Docker",
        ["Status logs on Docker"],
        "What :ref:`container_status_logs <ansible_collections.containerops.lifecycle.container_status_logs_module>`\n"
        "returns on Docker, where the engine keeps no log of its own. The event source "
        + ref("container_events", "container_events")
        + "\nnames operations by the same rules.",
    ),
}


def sections(markdown: str) -> dict[str, str]:
    """README's ``## `` sections by heading (fenced code is never a heading)."""
    found: dict[str, list[str]] = {}
    current = None
    fenced = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("## "):
            current = found.setdefault(line[3:].strip(), [])
            continue
        if current is not None:
            current.append(line)
    return {heading: "\n".join(lines).strip("\n") for heading, lines in found.items()}


def inline(text: str) -> str:
    """Inline Markdown as RST: code spans first, then links (whose RST form uses backticks too)."""
    text = re.sub(r"(?<!`)`([^`]+)`(?!`)", r"``\1``", text)
    return re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r"`\1 <\2>`__", text)


def _cells(line: str) -> list[str]:
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", line.strip().strip("|"))]


def to_rst(markdown: str, level: str = "-") -> str:
    """README Markdown as RST; ``##``-level and deeper headings use ``level`` and the next characters."""
    underline = {3: level, 4: "^", 5: '"'}
    lines = markdown.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            language = line[3:].strip() or "text"
            out += [f".. code-block:: {language}", ""]
            i += 1
            while not lines[i].startswith("```"):
                out.append(f"   {lines[i]}" if lines[i] else "")
                i += 1
            out.append("")
            i += 1
            continue
        if line.startswith("|") and i + 1 < len(lines) and re.match(r"^\|[-| :]+\|$", lines[i + 1].strip()):
            header = _cells(line)
            rows = []
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(_cells(lines[i]))
                i += 1
            out += [".. list-table::"] + (["   :header-rows: 1"] if any(header) else []) + [""]
            for row in ([header] if any(header) else []) + rows:
                out += [("   * - " if n == 0 else "     - ") + inline(cell) for n, cell in enumerate(row)]
            out.append("")
            continue
        heading = re.match(r"^(#{3,5}) (.*)", line)
        if heading:
            title = inline(heading.group(2))
            out += [title, underline[len(heading.group(1))] * len(title)]
            i += 1
            continue
        paragraph = [line]  # inline code may go on over a line break: convert a paragraph at once
        i += 1
        while i < len(lines) and lines[i].strip() and not re.match(r"^(```|\||#{3,5} )", lines[i]):
            paragraph.append(lines[i])
            i += 1
        out += inline("\n".join(paragraph)).split("\n")
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip("\n") + "\n"


def pages(markdown: str) -> dict[str, str]:
    """{file name: RST} of every guide."""
    found = sections(markdown)
    rendered = {}
    for page, (title, headings, introduction) in GUIDES.items():
        missing = [heading for heading in headings if heading not in found]
        if missing:
            raise SystemExit(f"docs/site/guides.py: README.md has no section {missing} for {page}")
        parts = [
            f".. _{LABEL}{page}:",
            "",
            title,
            "=" * len(title),
            "",
            ".. Generated from README.md by docs/site/guides.py: edit README.md, then run it.",
            "",
        ]
        if introduction:
            parts += [introduction, ""]
        for heading in headings:
            if len(headings) > 1:
                parts += [heading, "-" * len(heading), ""]
            parts.append(to_rst(found[heading], "^" if len(headings) > 1 else "-"))
        rendered[f"{page}.rst"] = re.sub(r"\n{3,}", "\n\n", "\n".join(parts))
    return rendered


def main(argv: list[str]) -> int:
    with open(README, encoding="utf-8") as handle:
        wanted = pages(handle.read())
    stale = []
    for name, text in wanted.items():
        path = os.path.join(PAGES, name)
        current = None
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                current = handle.read()
        if current != text:
            stale.append(name)
            if "--check" not in argv:
                with open(path, "w", encoding="utf-8") as handle:
                    handle.write(text)
    if stale and "--check" in argv:
        print(
            f"docs/docsite/rst/{', '.join(stale)} differ from README.md: run python docs/site/guides.py",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
