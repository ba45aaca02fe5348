"""Hoody listings read page by page while the collection changes: nothing skipped, nothing twice.

The Hoody test server serves small pages (``max_page_size``) and changes the collection right after a
given page was served, before the module asks for the next: it deletes containers of that page
(``delete_after_page``), or appends restarts to the status log being read (``log_after_page``, a restart
storm).
"""

from __future__ import annotations

import secrets

import requests

from tests.integration.conftest import CONNECTED_PLAY, HOODY_TOKEN, hoody_connection, task_results

INFO_PLAY = CONNECTED_PLAY.format(
    tasks="""
    - containerops.lifecycle.container_info:
        filters: {project: "{{ project }}"}
      register: out
"""
)
LOGS_PLAY = CONNECTED_PLAY.format(
    tasks="""
    - containerops.lifecycle.container_status_logs:
        name: "{{ name }}"
        all_pages: true
        limit: 100
      register: out
"""
)


def api(server, method: str, path: str, **params) -> dict:
    response = requests.request(
        method,
        f"{server.url}/api/v1{path}",
        params=params,
        timeout=30,
        headers={"Authorization": f"Bearer {HOODY_TOKEN}"},
    )
    response.raise_for_status()
    return response.json()["data"]


def test_containers_deleted_between_pages_leave_every_remaining_one_listed_once(
    hoody_server, make_containers, engine, tmp_path
):
    project = secrets.token_hex(12)  # this test's own: nobody else's containers are listed or deleted
    names = make_containers(*(f"hA-page-{n:02d}" for n in range(12)), labels={"hoody.project": project})
    ids = [engine.containers.get(name).id[:24] for name in names]
    # Pages of 5; once page 1 is served, every other container of it is deleted.
    hoody_server.admin("faults", {"max_page_size": 5, "delete_after_page": {"page": 1, "ids": ids[::2]}})
    process, out = task_results(tmp_path, INFO_PLAY, {"connection": hoody_connection(hoody_server),
                                                      "project": project})  # fmt: skip
    assert out and not out.get("failed"), process.stdout[-6000:] + process.stderr[-3000:]
    assert hoody_server.admin("faults", {"max_page_size": None})["delete_after_page"] is None  # it did delete
    remaining = [item["id"] for item in api(hoody_server, "GET", f"/projects/{project}/containers",
                                            limit=100)["containers"]]  # fmt: skip
    assert 7 <= len(remaining) <= 10  # two or three were deleted
    listed = [entry["id"] for entry in out["containers"]]
    missing, gone = set(remaining) - set(listed), set(listed) - set(remaining)
    assert not missing and not gone and len(listed) == len(set(listed)), (missing, gone, listed)


def test_status_logs_growing_during_the_read_give_every_record_once(hoody_server, make_containers, engine, tmp_path):
    (name,) = make_containers("hA-page-logs")
    cid = engine.containers.get(name).id[:24]
    for operation, status in (("start", "running"), ("stop", "stopped")) * 3:  # six real transitions
        api(hoody_server, "POST", f"/containers/{cid}/{operation}")
        while api(hoody_server, "GET", f"/containers/{cid}")["status"] != status:
            pass  # the status is held until the transition's record is written
    before = [log["id"] for log in api(hoody_server, "GET", f"/containers/{cid}/status-logs", limit=100)["logs"]]
    assert len(before) == 6
    # Pages of 2; once page 1 is served, three restarts are logged (newest first: page 2 would repeat page 1).
    hoody_server.admin("faults", {"max_page_size": 2, "log_after_page": {"page": 1, "count": 3}})
    process, out = task_results(tmp_path, LOGS_PLAY, {"connection": hoody_connection(hoody_server), "name": name})
    assert out and not out.get("failed"), process.stdout[-6000:] + process.stderr[-3000:]
    assert hoody_server.admin("faults", {"max_page_size": None})["log_after_page"] is None
    after = [log["id"] for log in api(hoody_server, "GET", f"/containers/{cid}/status-logs", limit=100)["logs"]]
    assert len(after) == 9  # the storm did happen during the read
    read = [log["id"] for log in out["logs"]]
    assert len(read) == len(set(read)), read  # nothing twice
    assert set(before) <= set(read) <= set(after), (before, read, after)  # nothing skipped, nothing made up
