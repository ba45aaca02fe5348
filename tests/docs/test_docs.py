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
import re
import shutil
import struct
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from typing import Optional

import pytest
import yaml

from ansible_collections.containerops.lifecycle.plugins.plugin_utils._healing import WINDOW_S

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
    pytest.fail("no Chromium to look at the docs with: apt-get install chromium (make setup does, as root)")


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


def renders_as_a_page(page, tmp_path, heading: str) -> None:
    """``page`` as Chromium shows it: its DOM's title and first heading start with ``heading`` (an error page of
    any size fails here), and a screenshot of it (kept in ``tmp_path``) is a real PNG of the window's size with a
    page's worth of detail, not a blank."""
    dumped = browse(page.as_uri(), str(tmp_path / "profile-dom"), "--dump-dom")
    assert dumped.returncode == 0 and "<html" in dumped.stdout, dumped.stderr[-2000:]
    dom = DOM(dumped.stdout).root
    title, first_heading = dom.find("title"), dom.find("h1")
    assert title is not None and title.text().strip().startswith(heading), title and title.text()
    assert first_heading is not None and first_heading.text().strip().startswith(heading), dumped.stdout[:3000]
    screenshot = tmp_path / page.with_suffix(".png").name
    shot = browse(page.as_uri(), str(tmp_path / "profile"), f"--screenshot={screenshot}", "--window-size=1280,2000")
    assert shot.returncode == 0 and screenshot.exists(), shot.stderr[-2000:]
    data = screenshot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (1280, 2000)
    # A blank page compresses to a few kB; this one has a sidebar, a table and text.
    assert len(data) > 100_000, f"{screenshot}: {len(data)} bytes, a nearly empty page"


def test_a_module_page_renders_as_a_page(site, tmp_path):
    """container_state's page, as Chromium renders and shows it."""
    _lint, html, _docs = site
    renders_as_a_page(html / PAGES / "container_state_module.html", tmp_path, f"{COLLECTION}.container_state module")


# ------------------------------------------------------------------------------------------------------------------
# The collection's own pages (docs/docsite/rst/, listed by docs/docsite/extra-docs.yml): each is checked against the
# source it describes, so a renamed option, variable or event key fails here instead of drifting.

DOCSITE = f"{PAGES}/docsite"
DOCSITE_LABEL = "ansible_collections.containerops.lifecycle.docsite."
RULEBOOK = os.path.join(ROOT, "extensions", "eda", "rulebooks", "autoheal.yml")
README = os.path.join(ROOT, "README.md")
# Playbooks that run a role: the role's variables are on the role's page, which the playbook's page links.
PLAYBOOK_ROLES = {"maintenance": "maintenance_window", "blue_green": "blue_green"}
# Variables Ansible itself provides to a play.
MAGIC_VARIABLES = {"hostvars", "inventory_hostname", "groups", "omit", "item", "play_hosts", "lookup", "query", "q"}


def extra_pages() -> list[str]:
    with open(os.path.join(ROOT, "docs", "docsite", "extra-docs.yml")) as handle:
        sections = yaml.safe_load(handle)["sections"]
    return [page for section in sections for page in section["toctree"]]


def playbook_names() -> list[str]:
    return sorted(name[:-4] for name in os.listdir(os.path.join(ROOT, "playbooks")) if name.endswith(".yml"))


def _templates(node, key=None):
    """Every Jinja text of a playbook, bare conditions (``when``, ``that``, ...) as expressions."""
    if isinstance(node, dict):
        for child_key, value in node.items():
            yield from _templates(value, child_key)
    elif isinstance(node, list):
        for value in node:
            yield from _templates(value, key)
    elif isinstance(node, str):
        if key in ("when", "that", "changed_when", "failed_when", "until") and "{{" not in node:
            yield "{{ " + node + " }}"
        elif "{{" in node or "{%" in node:
            yield node


def _own_names(node) -> set[str]:
    """What a playbook defines for itself: registered results, facts it sets, task variables, play variables it
    computes."""
    found: set[str] = set()
    if isinstance(node, dict):
        if "register" in node:
            found.add(node["register"])
        facts = node.get("ansible.builtin.set_fact") or node.get("set_fact")
        if isinstance(facts, dict):
            found |= set(facts) - {"cacheable"}
        for key, value in node.items():
            if key == "vars" and isinstance(value, dict):
                play = "hosts" in node
                found |= {name for name, default in value.items()
                          if not play or (isinstance(default, str) and "{{" in default)}
            found |= _own_names(value)
    elif isinstance(node, list):
        for value in node:
            found |= _own_names(value)
    return found


def playbook_variables(path: str) -> set[str]:
    """The variables a playbook reads that a user or an inventory gives: what its templates read and its plays'
    plain defaults, less what it defines itself and what Ansible provides (``ansible_eda`` is ansible-rulebook's)."""
    from jinja2 import Environment, nodes

    with open(path) as handle:
        plays = yaml.safe_load(handle)
    read: set[str] = set()
    for text in _templates(plays):
        tree = Environment().parse(text)
        stored = {name.name for name in tree.find_all(nodes.Name) if name.ctx != "load"}
        read |= {name.name for name in tree.find_all(nodes.Name) if name.ctx == "load"} - stored
    defaults = {name for play in plays for name, value in (play.get("vars") or {}).items()
                if not (isinstance(value, str) and "{{" in value)}
    names = (read | defaults) - _own_names(plays) - MAGIC_VARIABLES
    return {name for name in names if name == "ansible_eda" or not name.startswith("ansible_")}


def first_column(dom: Node) -> set[str]:
    """The names in the first cell of every table row of a page (``a``, ``b`` in ``a, b`` both count)."""
    names = set()
    for row in dom.find_all("tr"):
        cell = row.find("td")
        if cell is not None:
            names |= {code.text().strip() for code in cell.find_all("code")}
    return names


def links_to(dom: Node, page: str) -> bool:
    """Whether the page has a link to ``page`` (relative, any anchor in it)."""
    return any(a.attrs.get("href", "").split("#")[0] == page for a in dom.find_all("a"))


def code_blocks(dom: Node) -> list[str]:
    return [pre.text() for pre in dom.find_all("pre")]


def commands(dom: Node, program: str) -> list[str]:
    """The ``$ program ...`` commands of a page's console blocks, continuation lines joined."""
    found = []
    for block in code_blocks(dom):
        for command in re.split(r"(?m)^\$ ", block.replace("\\\n", " "))[1:]:
            line = command.splitlines()[0]
            if line.split()[:1] == [program]:
                found.append(line)
    return found


def extra_vars(command: str) -> set[str]:
    """The variables a command gives with ``-e name=value`` or ``-e '{json}'`` (``-e @file`` gives none here)."""
    names = set()
    for value in re.findall(r"-e\s+('[^']*'|\S+)", command):
        value = value.strip("'")
        if value.startswith("{"):
            names |= set(json.loads(value))
        elif "=" in value:
            names.add(value.split("=", 1)[0])
    return names


def role_variables(role: str) -> set[str]:
    return {option for spec in roles()[role].values() for option in spec.get("options") or {}}


def check_container_events(dom: Node) -> list[str]:
    from ansible_collections.containerops.lifecycle.extensions.eda.plugins.event_source import container_events
    from ansible_collections.containerops.lifecycle.plugins.module_utils import _events, _module

    problems = []
    listed = first_column(dom)
    problems += [f"option {option} is not in the options table"
                 for option in container_events.SOURCE_SPEC if option not in listed]
    example = next((block for block in code_blocks(dom) if block.startswith("containerops:")), "")
    for key in _events.event_of(_events.Transition({}, None, {}), "docker", {})["containerops"]:
        if key not in listed:
            problems.append(f"event key {key} is not in the events table")
        if not re.search(rf"(?m)^  {key}:", example):
            problems.append(f"event key {key} is not in the example event")
    problems += [f"backend {name} is not in the table of where events come from"
                 for name, backend in _module.BACKEND_CLASSES.items() if backend.events and name not in listed]
    default = container_events.SOURCE_SPEC["poll_interval"]["default"]
    row = next((row for row in dom.find_all("tr") if "poll_interval" in first_column(row)), None)
    if row is None or str(default) not in {code.text() for code in row.find_all("code")}:
        problems.append(f"poll_interval's default {default} is not in its row")
    if not commands(dom, "ansible-rulebook"):
        problems.append("no ansible-rulebook command")
    return problems


def check_autoheal_rulebook(dom: Node) -> list[str]:
    problems = []
    with open(RULEBOOK) as handle:
        shipped = handle.read()
    if not any(_normalized(block) == _normalized(shipped) for block in code_blocks(dom)):
        problems.append("the rulebook shown is not extensions/eda/rulebooks/autoheal.yml")
    window = yaml.safe_load(shipped)[0]["rules"][1]["throttle"]["once_after"]
    if f"once_after: {window}" not in dom.find("section", id="bursts").text():
        problems.append(f"the heal rule's window ({window}) is not explained")
    limit = f"{WINDOW_S // 60} minutes"
    if limit not in dom.find("section", id="the-rate-limit").text():
        problems.append(f"the rate limit ({limit}) is not explained")
    if "ansible-rulebook -r containerops.lifecycle.autoheal -i inventory.yml" not in commands(dom, "ansible-rulebook"):
        problems.append("no command running the rulebook by name")
    return problems


def check_playbook(dom: Node, playbook: str) -> list[str]:
    problems = []
    variables = playbook_variables(os.path.join(ROOT, "playbooks", f"{playbook}.yml"))
    listed = first_column(dom)
    role = PLAYBOOK_ROLES.get(playbook)
    if role:
        if f"{role}_*" not in listed:
            problems.append(f"the {role}_* variables are not in the variables table")
        if not links_to(dom, f"../{role}_role.html"):
            problems.append(f"no link to the {role} role's page")
    problems += [f"variable {name} is not in the variables table" for name in sorted(variables)
                 if name not in listed and not (role and name.startswith(f"{role}_") and f"{role}_*" in listed)]
    program = "ansible-rulebook" if playbook == "autoheal" else "ansible-playbook"
    runs = [command for command in commands(dom, program) if f"containerops.lifecycle.{playbook}" in command]
    if not runs:
        problems.append(f"no {program} command running containerops.lifecycle.{playbook}")
    known = variables | (role_variables(role) if role else set())
    for command in runs:
        unknown = extra_vars(command) - known
        if unknown:
            problems.append(f"{command!r} sets {sorted(unknown)}, which the playbook does not read")
    return problems


def check_guide(dom: Node, page: str) -> list[str]:
    from ansible_collections.containerops.lifecycle.plugins.module_utils import _docker_history, _lifecycle, _module

    problems = []
    text = dom.text()
    if page == "guide_backends":
        headers = {th.text().strip() for th in dom.find_all("th")}
        problems += [f"backend {name} has no column in the capability table"
                     for name in _module.BACKEND_CLASSES if name not in headers]
        problems += [f"status {status} is not in the statuses table"
                     for status in _lifecycle.STATUSES if status not in first_column(dom)]
    elif page == "guide_status_logs":
        problems += [f"Docker event {action} is not named" for action in _docker_history.DOCKER_EVENT_ACTIONS
                     if f"{action}" not in {code.text() for code in dom.find_all("code")}]
        if "most recent events in memory" not in text:
            problems.append("the daemon's event buffer is not said")
    elif page == "guide_failures":
        named = set(re.findall(r"tests/integration/(test_\w+\.py)", text)) | set(re.findall(r"\b(test_\w+\.py)", text))
        problems += [f"names {name}, which does not exist" for name in sorted(named)
                     if not os.path.exists(os.path.join(ROOT, "tests", "integration", name))]
        if not named:
            problems.append("names no test")
    elif page == "guide_fleets" and not links_to(dom, "playbook_fleet.html"):
        problems.append("no link to the fleet playbook's page")
    return problems


# Module and plugin pages whose notes link to a guide.
GUIDE_LINKS = {
    "container_state_module.html": ["guide_backends", "guide_failures"],
    "container_info_module.html": ["guide_backends"],
    "container_status_logs_module.html": ["guide_status_logs"],
    "containers_inventory.html": ["guide_fleets", "playbook_fleet"],
    "container_alias_module.html": ["guide_backends"],
}


def readme_install_command() -> str:
    with open(README) as handle:
        found = re.findall(r"^(ansible-galaxy collection install \S+)", handle.read(), re.MULTILINE)
    assert found, "README.md says no 'ansible-galaxy collection install' command"
    return found[0]


def test_the_collections_pages_render_in_chromium_with_what_their_source_says(site, tmp_path):
    """Guides, event source, rulebook and playbooks: each page on the index, rendered, holding what its source has."""
    _lint, html, _docs = site
    pages = extra_pages()
    assert {f"playbook_{name}" for name in playbook_names()} <= set(pages), "a playbook has no page"
    index = (html / PAGES / "index.html").read_text()
    assert not [page for page in pages if f"docsite/{page}.html" not in index], "the index does not link every page"
    linking = sorted(GUIDE_LINKS)

    def dump(index_and_page):
        number, page = index_and_page
        return browse((html / page).as_uri(), str(tmp_path / f"profile-{number}"), "--dump-dom")

    urls = [f"{DOCSITE}/{page}.html" for page in pages] + [f"{PAGES}/{page}" for page in linking]
    with ThreadPoolExecutor(max_workers=3) as pool:
        dumped = dict(zip(urls, pool.map(dump, enumerate(urls))))
    problems: dict[str, list[str]] = {}
    for page in pages:
        process = dumped[f"{DOCSITE}/{page}.html"]
        assert process.returncode == 0 and "<html" in process.stdout, f"{page}: {process.stderr[-2000:]}"
        dom = DOM(process.stdout).root
        found = [] if dom.find("h1") is not None else ["no title"]
        if page == "container_events":
            found += check_container_events(dom)
        elif page == "autoheal_rulebook":
            found += check_autoheal_rulebook(dom)
        elif page.startswith("playbook_"):
            found += check_playbook(dom, page[len("playbook_"):])
        else:
            found += check_guide(dom, page)
        if found:
            problems[page] = found
    install = readme_install_command()
    for page in linking:
        dom = DOM(dumped[f"{PAGES}/{page}"].stdout).root
        found = [f"no link to {guide}" for guide in GUIDE_LINKS[page] if not links_to(dom, f"docsite/{guide}.html")]
        found += ["says 'see the collection README'"] if "README" in dom.text() else []
        note = dom.find("div", class_="admonition")
        if note is None or install not in " ".join(note.text().split()):
            found.append(f"the install note does not say README's {install!r}")
        if found:
            problems[page] = found
    assert not problems, json.dumps(problems, indent=2)


def test_a_new_page_renders_as_a_page(site, tmp_path):
    """The event source's page, as Chromium renders and shows it."""
    _lint, html, _docs = site
    renders_as_a_page(html / DOCSITE / "container_events.html", tmp_path, f"{COLLECTION}.container_events event source")
