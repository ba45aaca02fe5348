# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_info describes every target it was given, never changes anything, and reports a container that does
not exist (or was removed since it was listed) as ``exists: false`` rather than failing. The engines' own
descriptions are tested with each backend."""

from __future__ import annotations

from types import SimpleNamespace

from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import ContainerState
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import ContainerNotFound
from ansible_collections.containerops.lifecycle.plugins.modules import container_info
from tests.unit.fake_backend import FakeBackend


class Describing(FakeBackend):
    """Records what it was asked to describe; ``removed`` names containers gone by the time they are read."""

    def __init__(self, *containers: ContainerState, removed: tuple[str, ...] = ()) -> None:
        super().__init__(*containers)
        self.removed = removed
        self.described: list[tuple[str, bool]] = []

    def describe(self, container, runtime):
        self.described.append((container.name, runtime))
        if container.name in self.removed:
            raise ContainerNotFound(container.name, "it was removed before it could be read")
        return dict(super().describe(container, runtime), exists=True)


def info(engine: FakeBackend, targets: list[ContainerState], runtime: bool = False) -> dict:
    lifecycle = SimpleNamespace(backend=engine, params={"runtime": runtime, "parallel": 2},
                                select_targets=lambda: targets)  # fmt: skip
    return container_info.run(lifecycle)


def test_every_target_is_described_in_order_with_runtime_as_asked():
    engine = Describing()
    web, db = engine.container("web", "running"), engine.container("db", "stopped")
    result = info(engine, [web, db], runtime=True)
    assert result["changed"] is False and "container" not in result
    assert [entry["name"] for entry in result["containers"]] == ["web", "db"]
    assert sorted(engine.described) == [("db", True), ("web", True)]
    assert engine.calls == []  # nothing performed


def test_one_target_is_also_reported_alone():
    engine = Describing()
    result = info(engine, [engine.container("web", "paused")])
    assert result["container"] == result["containers"][0] == {"id": engine.inspect("web").id, "name": "web",
                                                               "status": "paused", "exists": True}  # fmt: skip


def test_a_name_no_container_has_is_reported_as_not_existing_without_asking_the_engine():
    engine = Describing()
    result = info(engine, [ContainerState.absent("ghost")])
    assert result["containers"] == [{"name": "ghost", "exists": False}] and engine.described == []


def test_a_container_removed_since_it_was_listed_does_not_exist_and_the_others_are_still_described():
    engine = Describing(removed=("web",))
    web, db = engine.container("web", "running"), engine.container("db", "running")
    result = info(engine, [web, db])
    assert result["containers"][0] == {"name": "web", "exists": False}
    assert result["containers"][1]["exists"] is True and "failed" not in result
