"""The collection as users get it: changelog, galaxy.yml, `make release`, the execution environment.

- The committed changelog (changelogs/changelog.yaml, CHANGELOG.rst, CHANGELOG.md) is exactly what
  `make changelog` writes from the fragments for galaxy.yml's version, and the fragments pass the linter.
- No plugin claims to be new in a version later than the collection's own.
- galaxy.yml: a description naming the four backends, real links, tags Galaxy accepts.
- `make release BUMP=minor` in a copy of the checkout: version bumped, a new changelog section with only the
  new fragment, the 0.1.0 section untouched, and a tarball that holds the changelog and the EE metadata.
- `ansible-builder create` of execution-environment.yml writes a complete build context without network, and
  the requirements the build would collect from the installed collection (the context's own introspect.py,
  run as its Containerfile runs it) are exactly requirements.txt and bindep.txt.
"""

from __future__ import annotations

import ast
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile

import ansible
import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
TOOLS_ENV = dict(os.environ, PATH=f"{BIN}:{os.environ.get('PATH', '')}")


def tool(name: str) -> str:
    path = os.path.join(BIN, name)
    assert os.access(path, os.X_OK), f"{name} is not installed in {BIN} (make venv)"
    return path


def run(*args: str, cwd: str = ROOT, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=TOOLS_ENV, capture_output=True, text=True, timeout=timeout)


def load_yaml(path: str):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def galaxy() -> dict:
    return load_yaml(os.path.join(ROOT, "galaxy.yml"))


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in str(version).split("."))


def copy_checkout(dest) -> str:
    """What git would hold (tracked and untracked-but-not-ignored files), as `make tree` copies it."""
    listed = subprocess.run(["git", "-C", ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            capture_output=True, check=True).stdout.decode().split("\0")
    for relative in filter(None, listed):
        source = os.path.join(ROOT, relative)
        if os.path.isfile(source):
            os.makedirs(os.path.join(dest, os.path.dirname(relative)), exist_ok=True)
            shutil.copy2(source, os.path.join(dest, relative))
    return str(dest)


# ------------------------------------------------------------------ changelog
def test_fragments_and_changelog_pass_the_linter():
    linted = run(tool("antsibull-changelog"), "lint")
    assert linted.returncode == 0 and not linted.stdout.strip(), linted.stdout + linted.stderr
    linted = run(tool("antsibull-changelog"), "lint-changelog-yaml", "changelogs/changelog.yaml")
    assert linted.returncode == 0 and not linted.stdout.strip(), linted.stdout + linted.stderr


def test_the_changelog_is_what_make_changelog_writes(tmp_path):
    version = str(galaxy()["version"])
    committed = load_yaml(os.path.join(ROOT, "changelogs", "changelog.yaml"))
    assert version in committed["releases"], f"changelogs/changelog.yaml has no release {version}: run make changelog"
    copy = copy_checkout(tmp_path / "checkout")
    regenerated = run(tool("antsibull-changelog"), "release", "--version", version, "--update-existing",
                      "--refresh-fragments", "--reload-plugins", "--refresh-plugins",
                      "--date", str(committed["releases"][version]["release_date"]), cwd=copy)
    assert regenerated.returncode == 0, regenerated.stdout + regenerated.stderr
    stale = []
    for relative in ("changelogs/changelog.yaml", "CHANGELOG.rst", "CHANGELOG.md"):
        with open(os.path.join(ROOT, relative)) as ours, open(os.path.join(copy, relative)) as fresh:
            diff = list(difflib.unified_diff(ours.readlines(), fresh.readlines(), relative, "make changelog", n=1))
        if diff:
            stale.append("".join(diff[:40]))
    assert not stale, "the committed changelog is not what `make changelog` writes from the fragments; run " \
        "`make changelog` and commit the result:\n" + "\n".join(stale)


def plugin_docs() -> dict[str, dict]:
    """DOCUMENTATION of every plugin and module, read from the source: {path: parsed YAML}."""
    found = {}
    for base, _dirs, files in os.walk(os.path.join(ROOT, "plugins")):
        if os.path.basename(base) in ("module_utils", "plugin_utils", "doc_fragments", "__pycache__"):
            continue
        for name in files:
            if not name.endswith(".py") or name == "__init__.py":
                continue
            path = os.path.join(base, name)
            with open(path, encoding="utf-8") as handle:
                tree = ast.parse(handle.read())
            for node in tree.body:
                names = [getattr(target, "id", None) for target in getattr(node, "targets", [])]
                if isinstance(node, ast.Assign) and "DOCUMENTATION" in names:
                    found[os.path.relpath(path, ROOT)] = yaml.safe_load(node.value.value)
    return found


def test_no_plugin_is_new_in_a_version_after_the_collections():
    """The rendered docs say "New in containerops.lifecycle <version_added>": never a version not yet made."""
    version = version_tuple(galaxy()["version"])
    docs = plugin_docs()
    assert any(path.startswith("plugins/modules/") for path in docs)
    later = {path: doc.get("version_added") for path, doc in docs.items()
             if doc.get("version_added") and version_tuple(doc["version_added"]) > version}
    assert not later, f"galaxy.yml's version is {galaxy()['version']}, but these say version_added later: {later}"


def test_the_roles_filters_are_not_published_and_work_from_the_tarball(tmp_path, make_containers, engine):
    """The roles' internal filters (plugins/filter/__*.py) are neither listed by ansible-doc (and so by
    antsibull-docs) nor documented, and the roles find them when the collection is installed from its tarball."""
    copy = copy_checkout(tmp_path / "checkout")
    built = run(tool("ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path), copy)
    assert built.returncode == 0, built.stdout + built.stderr
    tarball = os.path.join(tmp_path, f"containerops-lifecycle-{galaxy()['version']}.tar.gz")
    with tarfile.open(tarball) as archive:
        filters = sorted(name for name in archive.getnames() if name.startswith("plugins/filter/"))
    assert filters == ["plugins/filter/__autoheal.py", "plugins/filter/__blue_green.py",
                       "plugins/filter/__maintenance_window.py"]
    # --force: the suite's own install (ANSIBLE_COLLECTIONS_PATH) would otherwise count as installed already.
    installed = run(tool("ansible-galaxy"), "collection", "install", "--force", "-p", str(tmp_path / "collections"),
                    tarball)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    env = dict(TOOLS_ENV, ANSIBLE_COLLECTIONS_PATH=str(tmp_path / "collections"))

    listed = subprocess.run([tool("ansible-doc"), "-t", "filter", "--list", "--json", "containerops.lifecycle"],
                            env=env, capture_output=True, text=True, timeout=300)
    assert listed.returncode == 0 and json.loads(listed.stdout) == {}, listed.stdout + listed.stderr
    dump = subprocess.run([tool("ansible-doc"), "--metadata-dump", "--no-fail-on-errors", "containerops.lifecycle"],
                          env=env, capture_output=True, text=True, timeout=300)
    published = {kind: sorted(names) for kind, names in json.loads(dump.stdout)["all"].items()
                 if names and kind != "keyword"}
    assert sorted(published) == ["inventory", "module", "role"], published

    make_containers("hD-rel-1")
    engine.containers.get("hD-rel-1").start()
    window = tmp_path / "window.json"
    window.write_text(json.dumps({"maintenance_window_containers": ["hD-rel-1"],
                                  "maintenance_window_config": {"autostart": True},
                                  "maintenance_window_stop_timeout": 5,
                                  "maintenance_window_journal_dir": str(tmp_path / "journal")}))
    played = subprocess.run([tool("ansible-playbook"), "-i", "localhost,", "-c", "local",
                             "containerops.lifecycle.maintenance", "-e", f"@{window}"],
                            env=env, capture_output=True, text=True, timeout=600)
    assert played.returncode == 0, played.stdout[-4000:] + played.stderr[-2000:]
    assert "hD-rel-1: changed (autostart)" in played.stdout
    assert engine.containers.get("hD-rel-1").attrs["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"


# ------------------------------------------------------------------ galaxy.yml
def test_galaxy_metadata_is_what_users_search_and_follow():
    meta = galaxy()
    description = meta["description"]
    for backend in ("Docker", "Podman", "Hoody", "Dockhand"):
        assert backend in description, f"the description does not name {backend}"
    assert len(description) <= 255
    for field in ("repository", "documentation", "issues", "homepage"):
        url = meta[field]
        assert re.match(r"https://[a-z0-9.-]+\.[a-z]{2,}/", url), f"{field}: {url!r}"
        assert not re.search(r"example\.(invalid|com|org)|localhost", url), f"{field} is a placeholder: {url!r}"
    assert meta["issues"].startswith(meta["repository"].rstrip("/") + "/")
    tags = meta["tags"]
    assert 0 < len(tags) <= 20 and all(re.fullmatch(r"[a-z0-9_]{1,64}", tag) for tag in tags), tags
    assert {"docker", "containers", "hoody", "dockhand"} <= set(tags)
    links = load_yaml(os.path.join(ROOT, "docs", "docsite", "links.yml"))
    assert meta["repository"].endswith("/" + links["edit_on_github"]["repository"]), "links.yml and galaxy.yml differ"


# ------------------------------------------------------------------ make release
def without_empty_plugin_lists(release: dict) -> dict:
    """A changelog release with the plugin types that list no plugin left out."""
    plugins = {kind: listed for kind, listed in (release.get("plugins") or {}).items() if listed}
    return dict(release, plugins=plugins)


def test_make_release_bumps_writes_the_changelog_and_builds_the_tarball(tmp_path):
    copy = copy_checkout(tmp_path / "checkout")
    venv = os.path.dirname(BIN)
    stamp = os.path.join(venv, f".requirements-{sys.version_info[0]}.{sys.version_info[1]}.stamp")  # VENV_STAMP
    # This checkout's venvs, as they are: the copy makes none of its own.
    make = ["make", "--no-print-directory", "-o", stamp, f"VENV={venv}",
            f"GALAXY_VENV={os.path.join(ROOT, '.build', 'galaxy-venv')}"]
    # The current version's changelog as `make changelog` writes it (whether or not the committed one is
    # current: test_the_changelog_is_what_make_changelog_writes says that), then a fragment for the next one.
    prepared = run(*make, "changelog", cwd=copy)
    assert prepared.returncode == 0, prepared.stdout[-4000:] + prepared.stderr[-4000:]
    before = load_yaml(os.path.join(copy, "changelogs", "changelog.yaml"))
    current = str(galaxy()["version"])
    major, minor, _patch = version_tuple(current)
    bumped = f"{major}.{minor + 1}.0"
    with open(os.path.join(copy, "changelogs", "fragments", "next-release.yml"), "w") as handle:
        handle.write("---\nrelease_summary: The next release.\n"
                     "minor_changes:\n  - container_info - a change made after the first release.\n")
    released = run(*make, "release", "BUMP=minor", cwd=copy)
    assert released.returncode == 0, released.stdout[-4000:] + released.stderr[-4000:]

    assert load_yaml(os.path.join(copy, "galaxy.yml"))["version"] == bumped
    after = load_yaml(os.path.join(copy, "changelogs", "changelog.yaml"))
    # antsibull-changelog may write an empty list for a plugin type whose plugins are no longer published (the
    # roles' filters): no plugin is added or removed by that, so it is not a rewrite.
    assert without_empty_plugin_lists(after["releases"][current]) == without_empty_plugin_lists(
        before["releases"][current]), "the earlier release was rewritten"
    assert after["releases"][bumped]["fragments"] == ["next-release.yml"]
    assert after["releases"][bumped]["changes"]["minor_changes"] == [
        "container_info - a change made after the first release."]
    with open(os.path.join(copy, "CHANGELOG.md")) as handle:
        markdown = handle.read()
    new_section = markdown.index(f"## v{bumped}".replace(".", "\\."))
    old_section = markdown.index(f"## v{current}".replace(".", "\\."))
    assert new_section < old_section
    assert "a change made after the first release" in markdown[new_section:old_section]
    assert "a change made after the first release" not in markdown[old_section:]

    tarball = os.path.join(copy, ".build", "dist", f"containerops-lifecycle-{bumped}.tar.gz")
    assert os.path.exists(tarball), os.listdir(os.path.dirname(tarball))
    with tarfile.open(tarball) as archive:
        names = set(archive.getnames())
        manifest = json.load(archive.extractfile("MANIFEST.json"))
    assert manifest["collection_info"]["version"] == bumped
    for shipped in ("CHANGELOG.md", "CHANGELOG.rst", "changelogs/changelog.yaml", "meta/runtime.yml",
                    "meta/execution-environment.yml", "requirements.txt", "bindep.txt", "docs/docsite/links.yml"):
        assert shipped in names, f"{shipped} is not in the tarball"
    assert not any(name.startswith((".venv", ".build", "changelogs/.plugin-cache", "docs/site")) for name in names)


# ------------------------------------------------------------------ execution environment
def requirement_lines(path: str) -> list[str]:
    with open(path, encoding="utf-8") as handle:
        return [line.split("#", 1)[0].strip() for line in handle if line.split("#", 1)[0].strip()]


def installed_collection() -> str:
    for base in filter(None, os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep)):
        path = os.path.join(base, "ansible_collections", "containerops", "lifecycle")
        if os.path.isdir(path):
            return os.path.realpath(path)
    pytest.fail("containerops.lifecycle is not in ANSIBLE_COLLECTIONS_PATH (make collection)")


def test_ansible_builder_creates_a_complete_context_offline_that_collects_exactly_our_requirements(tmp_path):
    context = tmp_path / "context"
    command = [tool("ansible-builder"), "create", "-f", os.path.join(ROOT, "execution-environment.yml"),
               "-c", str(context), "--output-filename", "Containerfile"]
    offline = os.geteuid() == 0 and shutil.which("unshare")
    if offline:  # in a network namespace of its own: no network at all
        command = ["unshare", "--net", *command]
    created = run(*command)
    assert created.returncode == 0, created.stdout + created.stderr

    with open(context / "Containerfile") as handle:
        containerfile = handle.read()
    definition = load_yaml(os.path.join(ROOT, "execution-environment.yml"))
    assert f'ARG EE_BASE_IMAGE="{definition["images"]["base_image"]["name"]}"' in containerfile
    for stage in ("base", "galaxy", "builder", "final"):
        assert re.search(rf"^FROM \S+ AS {stage}$", containerfile, re.M | re.I), f"no {stage} stage"
    for source in re.findall(r"^COPY (?!--from)(\S+) ", containerfile, re.M):
        assert (context / source).exists(), f"the Containerfile copies {source}, which the context lacks"
    assert load_yaml(str(context / "_build" / "requirements.yml")) == definition["dependencies"]["galaxy"]
    assert definition["dependencies"]["ansible_core"]["package_pip"] in containerfile

    # The builder stage's introspection, with the context's own script, over the collection as installed
    # (the galaxy stage installs it from Galaxy; here it comes from our tarball).
    step = re.search(r"^RUN \$PYCMD /output/scripts/introspect\.py (introspect .*)$", containerfile, re.M)
    assert step, "the Containerfile no longer runs introspect.py"
    collections = tmp_path / "collections" / "ansible_collections" / "containerops"
    collections.mkdir(parents=True)
    os.symlink(installed_collection(), collections / "lifecycle")
    arguments = step.group(1).replace("/tmp/src/", f"{tmp_path}/").split()
    introspected = run(sys.executable, str(context / "_build" / "scripts" / "introspect.py"), *arguments,
                       str(tmp_path / "collections"))
    assert introspected.returncode == 0, introspected.stdout + introspected.stderr
    assert requirement_lines(str(tmp_path / "requirements.txt")) == requirement_lines(
        os.path.join(ROOT, "requirements.txt")) == ["docker>=7.0", "requests>=2.28"]
    assert requirement_lines(str(tmp_path / "bindep.txt")) == requirement_lines(os.path.join(ROOT, "bindep.txt"))


# ------------------------------------------------------------------ the ansible-core versions promised
def test_the_matrix_covers_every_ansible_core_version_requires_ansible_promises():
    """meta/runtime.yml's lower bound is tested: `make matrix` runs each minor from it up to the venv's (MATRIX:
    VERSION:PYTHON pairs)."""
    requires = load_yaml(os.path.join(ROOT, "meta", "runtime.yml"))["requires_ansible"]
    lowest = re.fullmatch(r">=\s*(\d+)\.(\d+)(?:\.0)?", requires)
    assert lowest, f"requires_ansible {requires!r} is not a plain lower bound"
    newest = version_tuple(ansible.__version__.split("rc")[0].split("b")[0])[:2]
    promised = [f"2.{minor}" for minor in range(int(lowest.group(2)), newest[1])]
    with open(os.path.join(ROOT, "Makefile")) as handle:
        matrix = [pair.split(":")[0] for pair in re.search(r"^MATRIX +\?= (.*)$", handle.read(), re.M).group(1).split()]
    assert matrix == promised, f"requires_ansible {requires} and ansible-core {ansible.__version__} in the venv: " \
        f"make matrix should run {promised}, it runs {matrix}"
