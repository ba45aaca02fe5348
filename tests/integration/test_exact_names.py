"""A name means exactly what it says, on every backend: an id prefix names nothing and nothing is done to it.

Docker's inspect resolves a unique id prefix to a container, and so does Podman's; Dockhand passes refs to Docker.
Each module is given 2-5 character prefixes of real containers' ids (``state: absent`` in check mode first, so
that a regression cannot delete) and a name list mixing a prefix and a real name; the containers the prefixes
start must be exactly as they were, and full and short ids must still work.
"""

from __future__ import annotations

import pytest

from tests.integration.conftest import BACKENDS, CONNECTED_PLAY, on_engine_of, task_results, tasks_registering
from tests.integration.test_backends import connection


def as_it_is(engine, name: str) -> tuple:
    state = engine.containers.get(name).attrs["State"]
    return state["Status"], state["StartedAt"], state["FinishedAt"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_id_prefix_names_nothing(backend, request, tmp_path):
    engine, make_containers = on_engine_of(backend, request)
    stopped, running, web = make_containers(f"xn-{backend}-stopped", f"xn-{backend}-running", f"xn-{backend}-web")
    engine.containers.get(running).start()
    s_id, r_id = engine.containers.get(stopped).id, engine.containers.get(running).id
    before = {name: as_it_is(engine, name) for name in (stopped, running)}
    steps = [
        ("container_state", f"name: '{s_id[:2]}'\nstate: absent", {"check_mode": "true"}),  # 0
        ("container_state", f"name: '{s_id[:3]}'\nstate: absent"),  # 1
        ("container_state", f"name: '{s_id[:4]}'\nstate: started"),  # 2
        ("container_state", f"name: ['{r_id[:5]}', {web}]\nstate: started"),  # 3
        ("container_state", f"name: ['{r_id[:3]}']\nstate: paused"),  # 4
        ("container_info", f"name: ['{s_id[:2]}', '{s_id[:5]}', '{r_id[:4]}']"),  # 5
        ("container_info", f"name: '{r_id[:3]}'"),  # 6
        ("container_status_logs", f"name: '{r_id[:4]}'"),  # 7
        ("container_config", f"name: '{r_id[:5]}'\nautostart: true"),  # 8
        ("container_snapshot", f"name: '{r_id[:4]}'\nalias: pre"),  # 9
    ]
    if backend != "hoody":  # Docker (and Podman) ids: the full id and the 12-hex short id docker ps prints
        steps.append(("container_info", f"name: ['{r_id}', '{r_id[:12]}', {running}]"))  # 10
    else:  # a Hoody id is 24 hex (the test server takes the Docker id's first 24)
        steps.append(("container_info", f"name: ['{r_id[:24]}', {running}]"))  # 10
    process, out = task_results(tmp_path, CONNECTED_PLAY.format(tasks=tasks_registering(*steps)),
                                {"connection": connection(backend, request)})
    assert out, process.stdout[-6000:] + process.stderr[-3000:]

    def entry(index: int) -> dict:
        return out[str(index)]

    for index in (0, 1):  # absent already: nothing to do, nothing done
        assert not entry(index).get("failed") and entry(index)["changed"] is False, entry(index)
        assert entry(index)["container"]["status"] == "absent" and entry(index)["container"]["actions"] == []
    for index in (2, 4):  # an unknown explicit name is an error for container_state
        assert entry(index)["failed"] and entry(index)["changed"] is False, entry(index)
        assert "not found" in entry(index)["msg"] or "no such container" in entry(index)["msg"], entry(index)
    mixed = {item["name"]: item for item in entry(3)["containers"]}
    assert entry(3)["failed"] and mixed[web]["status"] == "running" and mixed[r_id[:5]]["status"] == "absent"
    assert [item["exists"] for item in entry(5)["containers"] + entry(6)["containers"]] == [False] * 4, entry(5)
    for index in (7, 8, 9):  # the workflow modules and status logs: no such container (or refused), never acted on
        assert entry(index)["failed"], entry(index)
        assert not entry(index).get("changed"), entry(index)
    found = entry(10)["containers"]
    assert all(item["exists"] and item["name"] == running for item in found), found
    assert {name: as_it_is(engine, name) for name in (stopped, running)} == before
