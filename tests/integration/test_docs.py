"""The rendered docs: antsibull-docs' own lint, then the HTML site of `make docs`, looked at in Chromium.

The site is built once (docs/site/build.sh, as `make docs` runs it) from the installed collection. Every
module, inventory plugin and role gets a page; each page is opened in headless Chromium (Debian's
``chromium``), and the DOM it renders must hold the options table with a row for every option ansible-doc
knows, the examples exactly as the plugin's EXAMPLES, and for modules the return values. One page is also
taken as a screenshot (kept in the test's directory) to show it renders as a page, not as a blank.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from typing import Optional

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
TOOLS_ENV = dict(os.environ, PATH=f"{BIN}:{os.environ.get('PATH', '')}")
COLLECTION = "containerops.lifecycle"
PAGES = "collections/containerops/lifecycle"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars"]
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Node:
    def __init__(self, tag: str, attrs: dict[str, str], parent: Optional[Node]):
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node | str] = []

    def text(self) -> str:
        return "".join(child if isinstance(child, str) else child.text() for child in self.children)

    def walk(self):
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.walk()

    def find(self, tag: Optional[str] = None, **attrs: str) -> Optional[Node]:
        return next(self.find_all(tag, **attrs), None)

    def find_all(self, tag: Optional[str] = None, **attrs: str):
        for node in self.walk():
            if (tag is None or node.tag == tag) and all(
                    value in (node.attrs.get(key.rstrip("_")) or "").split() if key.endswith("_")
                    else node.attrs.get(key) == value for key, value in attrs.items()):
                yield node


class DOM(HTMLParser):
    """The DOM Chromium dumped, as a tree of Nodes (enough of HTML for these pages)."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.root = self.current = Node("#document", {}, None)
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {key: value or "" for key, value in attrs}, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def installed_collection() -> str:
    for base in filter(None, os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep)):
        path = os.path.join(base, "ansible_collections", "containerops", "lifecycle")
        if os.path.isdir(path):
            return path
    pytest.fail("containerops.lifecycle is not in ANSIBLE_COLLECTIONS_PATH (make collection)")


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.fail("no Chromium to look at the docs with: apt-get install chromium (.ci/run installs it)")


def browse(url: str, profile: str, *args: str) -> subprocess.CompletedProcess:
    """Headless Chromium with a fresh profile of its own."""
    return subprocess.run([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args, url],
                          capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """(lint result, the built site's html directory, ansible-doc's JSON of every plugin)."""
    out = tmp_path_factory.mktemp("docs")
    lint = subprocess.run([os.path.join(BIN, "antsibull-docs"), "lint-collection-docs", "--plugin-docs",
                           "--validate-collection-refs", "all", "--check-extra-docs-refs", "."],
                          cwd=installed_collection(), env=TOOLS_ENV, capture_output=True, text=True, timeout=600)
    build = subprocess.run([os.path.join(ROOT, "docs", "site", "build.sh"), str(out)], env=TOOLS_ENV,
                           capture_output=True, text=True, timeout=900)
    assert build.returncode == 0, build.stdout[-6000:] + build.stderr[-6000:]
    docs = {}
    for kind in ("module", "inventory"):
        listed = subprocess.run([os.path.join(BIN, "ansible-doc"), "-t", kind, "--list", "--json", COLLECTION],
                                env=TOOLS_ENV, capture_output=True, text=True, check=True)
        names = sorted(json.loads(listed.stdout))
        if names:
            shown = subprocess.run([os.path.join(BIN, "ansible-doc"), "-t", kind, "--json", *names],
                                   env=TOOLS_ENV, capture_output=True, text=True, check=True)
            docs.update({(kind, name): doc for name, doc in json.loads(shown.stdout).items()})
    return lint, out / "html", docs


def roles() -> dict[str, dict]:
    """{role: its argument spec entry points}."""
    found = {}
    for role in sorted(os.listdir(os.path.join(ROOT, "roles"))):
        spec = os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml")
        if os.path.exists(spec):
            with open(spec) as handle:
                found[role] = yaml.safe_load(handle)["argument_specs"]
    return found


def page_of(kind: str, fqcn: str) -> str:
    return f"{PAGES}/{fqcn.rsplit('.', 1)[1]}_{kind}.html"


def test_antsibull_docs_lint_is_clean(site):
    lint, _html, _docs = site
    assert lint.returncode == 0 and not lint.stdout.strip(), lint.stdout[-6000:] + lint.stderr[-2000:]


def test_every_module_plugin_and_role_has_a_page(site):
    _lint, html, docs = site
    kinds = {kind for kind, _name in docs}
    assert {"module", "inventory"} <= kinds, kinds
    expected = [page_of(kind, name) for kind, name in docs] + [f"{PAGES}/{role}_role.html" for role in roles()]
    assert len(roles()) >= 2
    missing = [page for page in expected if not (html / page).is_file()]
    assert not missing, f"no page for {missing}"
    index = (html / PAGES / "index.html").read_text()
    for page in expected:
        assert os.path.basename(page) in index, f"the collection's index does not link {page}"


def _normalized(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip("\n").splitlines()]


def check_plugin_page(dom: Node, kind: str, fqcn: str, doc: dict) -> list[str]:
    problems = []
    title = dom.find("h1")
    if title is None or not title.text().startswith(f"{fqcn} {kind}"):
        problems.append(f"title is {title.text() if title else None!r}")
    parameters = dom.find("section", id="parameters")
    if parameters is None or parameters.find("table", class_="ansible-option-table") is None:
        return [*problems, "no options table"]
    for option in doc["doc"].get("options") or {}:
        if parameters.find(id=f"parameter-{option}") is None:
            problems.append(f"option {option} is not in the options table")
    examples = dom.find("section", id="examples")
    code = examples.find("pre") if examples else None
    if code is None:
        problems.append("no examples")
    elif _normalized(code.text()) != _normalized(doc["examples"]):
        problems.append("the examples shown are not the plugin's EXAMPLES")
    if kind == "module":
        returned = dom.find("section", id="return-values")
        for key in doc.get("return") or {}:
            if returned is None or returned.find(id=f"return-{key}") is None:
                problems.append(f"return value {key} is not in the return values table")
    return problems


def check_role_page(dom: Node, role: str, specs: dict) -> list[str]:
    problems = []
    title = dom.find("h1")
    if title is None or not title.text().startswith(f"{COLLECTION}.{role} role"):
        problems.append(f"title is {title.text() if title else None!r}")
    for entry_point, spec in specs.items():
        for option in spec.get("options") or {}:
            if dom.find(id=f"parameter-{entry_point}--{option}") is None:
                problems.append(f"{entry_point}: option {option} is not in the options table")
    if dom.find("table", class_="ansible-option-table") is None:
        problems.append("no options table")
    return problems


def test_the_pages_render_in_chromium_with_options_and_examples(site, tmp_path):
    _lint, html, docs = site
    pages = [(page_of(kind, name), kind, name) for kind, name in sorted(docs)]
    pages += [(f"{PAGES}/{role}_role.html", "role", role) for role in roles()]

    def dump(index_and_page):
        index, (page, _kind, _name) = index_and_page
        return browse((html / page).as_uri(), str(tmp_path / f"profile-{index}"), "--dump-dom")

    with ThreadPoolExecutor(max_workers=3) as pool:
        dumped = list(pool.map(dump, enumerate(pages)))
    problems = {}
    for (page, kind, name), process in zip(pages, dumped):
        assert process.returncode == 0 and "<html" in process.stdout, f"{page}: {process.stderr[-2000:]}"
        dom = DOM(process.stdout).root
        found = check_role_page(dom, name, roles()[name]) if kind == "role" else \
            check_plugin_page(dom, kind, name, docs[(kind, name)])
        if found:
            problems[page] = found
    assert not problems, json.dumps(problems, indent=2)


def test_a_module_page_renders_as_a_page(site, tmp_path):
    """A screenshot of container_state's page: a real PNG of the window's size with a page's worth of detail."""
    _lint, html, _docs = site
    screenshot = tmp_path / "container_state_module.png"
    shot = browse((html / PAGES / "container_state_module.html").as_uri(), str(tmp_path / "profile"),
                  f"--screenshot={screenshot}", "--window-size=1280,2000")
    assert shot.returncode == 0 and screenshot.exists(), shot.stderr[-2000:]
    data = screenshot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1280, 2000)
    # A blank or error page compresses to a few kB; this one has a sidebar, a table and text.
    assert len(data) > 100_000, f"{screenshot}: {len(data)} bytes, a nearly empty page"
