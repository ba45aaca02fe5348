"""Unit tests for plugins/module_utils/_hoody_events.py: Hoody's status logs followed, as the contract describes
them (HTTP faked with ``responses``)."""

from __future__ import annotations

import json
from typing import Any, Optional
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from ansible_collections.containerops.lifecycle.plugins.module_utils._events import Timing, Transition, event_of
from ansible_collections.containerops.lifecycle.plugins.module_utils._hoody import HoodyBackend
from ansible_collections.containerops.lifecycle.plugins.module_utils._hoody_events import HoodyFeed, hoody_record
from ansible_collections.containerops.lifecycle.plugins.module_utils._http import ApiClient

HOODY = "https://hoody.test"
TOKEN = "hdy_very_secret_token_0123"
CID, OTHER = "0123456789abcdef01234567", "fedcba9876543210fedcba98"


def envelope(data):
    return {"statusCode": 200, "message": "ok", "data": data}


def hoody_log(n: int, container: str, when: str, before: Optional[str], after: str, command: Optional[str] = "start",
              triggered_by: str = "user") -> dict[str, Any]:
    return {"id": f"{n:024x}", "container_id": container, "from_status": before, "to_status": after,
            "transition_time": when, "duration_ms": 40, "triggered_by": triggered_by,
            "metadata": {"command": command} if command else None}  # fmt: skip


class HoodyServer:
    """Hoody's listing and status-log endpoints over in-memory logs, newest first, paged as the API does."""

    def __init__(self) -> None:
        self.containers = {CID: "web-1", OTHER: "web-2"}
        self.logs: dict[str, list[dict[str, Any]]] = {CID: [], OTHER: []}
        self.limit = 2

    def listing(self, request):
        items = [{"id": cid, "name": name, "status": "running"} for cid, name in self.containers.items()]
        return 200, {}, json.dumps(envelope({"containers": items, "pagination": {"total": len(items), "page": 1}}))

    def status_logs(self, request):
        cid = urlsplit(request.url).path.split("/")[4]
        query = parse_qs(urlsplit(request.url).query)
        page = int(query["page"][0])
        logs = sorted(self.logs[cid], key=lambda log: log["transition_time"], reverse=True)
        total_pages = -(-len(logs) // self.limit)
        chunk = logs[(page - 1) * self.limit: page * self.limit]
        return 200, {}, json.dumps(envelope({"logs": chunk, "pagination": {"total": len(logs), "page": page,
                                                                            "limit": self.limit,
                                                                            "totalPages": total_pages}}))

    def install(self) -> None:
        responses.add_callback(responses.GET, f"{HOODY}/api/v1/containers/", callback=self.listing)
        for cid in (CID, OTHER):
            self.add_container_logs(cid)

    def add_container_logs(self, cid: str) -> None:
        responses.add_callback(responses.GET, f"{HOODY}/api/v1/containers/{cid}/status-logs",
                               callback=self.status_logs)  # fmt: skip


def connect() -> HoodyBackend:
    return HoodyBackend(ApiClient(HOODY, timeout=5, retries=0), TOKEN, realm=None, poll_interval=0.01)


def feed(stored=None, **timing) -> HoodyFeed:
    opened = HoodyFeed(connect, {}, stored, Timing(**timing))
    assert opened.open() == "polling"
    return opened


def ops(transitions) -> list[tuple]:
    events = [event_of(transition, "hoody", {})["containerops"] for transition in transitions]
    return [(e["name"], e["from_status"], e["to_status"], e["operation"]) for e in events]


@responses.activate
def test_hoody_polls_status_logs_page_by_page_and_emits_each_record_once():
    server = HoodyServer()
    server.logs[CID] = [hoody_log(1, CID, "2026-12-01T10:00:00.000Z", None, "stopped", "create"),
                        hoody_log(2, CID, "2026-12-01T10:00:05.000Z", "stopped", "running")]  # fmt: skip
    server.install()
    hoody = feed()
    assert hoody.poll() == ([], False)  # the first round only notes where each container's history is
    # Three new records on CID (two pages' worth: the feed pages until it reaches what it saw) and a crash on OTHER:
    # stopped by itself, no command, not triggered by a user.
    server.logs[CID] += [hoody_log(3, CID, "2026-12-01T10:01:00.000Z", "running", "stopped", "stop"),
                         hoody_log(4, CID, "2026-12-01T10:01:01.000Z", "stopped", "running", "start"),
                         hoody_log(5, CID, "2026-12-01T10:01:02.000Z", "running", "paused", "pause")]  # fmt: skip
    server.logs[OTHER] += [hoody_log(6, OTHER, "2026-12-01T10:01:03.000Z", "running", "stopped", None,
                                     triggered_by="system")]  # fmt: skip
    second, found = hoody.poll()
    assert found and ops(second) == [
        ("web-1", "running", "stopped", "stop"), ("web-1", "stopped", "running", "start"),
        ("web-1", "running", "paused", "pause"), ("web-2", "running", "stopped", "exit"),
    ]  # fmt: skip
    assert second[0].record["container_id"] == CID
    assert hoody.poll() == ([], False)  # nothing new: nothing again
    # OTHER is deleted: it leaves the listing, its last record (kept by Hoody) still comes out.
    server.logs[OTHER].append(hoody_log(7, OTHER, "2026-12-01T10:02:00.000Z", "stopped", "deleted", "delete"))
    del server.containers[OTHER]
    fourth, found = hoody.poll()
    assert found and ops(fourth) == [("web-2", "stopped", "absent", "delete")]
    assert hoody.positions.keys() == {CID}
    assert set(hoody.position()) == {"containers", "polled_ns"}


def test_hoody_operations_read_the_collections_way():
    crash = hoody_log(1, CID, "2026-12-01T10:00:00.000Z", "running", "failed", None, triggered_by="system")
    asked = hoody_log(2, CID, "2026-12-01T10:00:00.000Z", "running", "stopped", "stop")
    by_user = hoody_log(3, CID, "2026-12-01T10:00:00.000Z", "running", "stopped", None)
    records = [hoody_record(dict(log, metadata=dict(log["metadata"] or {}))) for log in (crash, asked, by_user)]
    assert [record["metadata"].get("operation") for record in records] == ["exit", None, None]
    operations = [event_of(Transition(r, None, {}), "hoody", {})["containerops"]["operation"] for r in records]
    assert operations == ["exit", "stop", "stop"]


@responses.activate
def test_hoody_loses_the_api_for_a_round_and_its_positions_survive():
    server = HoodyServer()
    server.logs[CID] = [hoody_log(1, CID, "2026-12-01T10:00:00.000Z", "stopped", "running")]
    server.install()
    hoody = feed()
    hoody.poll()
    responses.replace(responses.GET, f"{HOODY}/api/v1/containers/", status=503)
    with pytest.raises(hoody.lost, match="503"):
        hoody.poll()
    responses.replace(responses.GET, f"{HOODY}/api/v1/containers/", body=server.listing(None)[2])
    server.logs[CID].append(hoody_log(2, CID, "2026-12-01T10:05:00.000Z", "running", "stopped", "stop"))
    hoody.open()
    assert ops(hoody.poll()[0]) == [("web-1", "running", "stopped", "stop")]


@responses.activate
def test_hoody_resumes_from_a_stored_position_and_reads_a_new_container_from_the_last_poll():
    server = HoodyServer()
    server.logs[CID] = [hoody_log(1, CID, "2026-12-01T10:00:00.000Z", None, "stopped", "create")]
    server.install()
    first = feed(wall=lambda: 1796119290.0)  # 2026-12-01T10:01:30Z
    assert first.poll() == ([], False)
    server.logs[CID].append(hoody_log(2, CID, "2026-12-01T10:01:00.000Z", "stopped", "running", "start"))
    assert ops(first.poll()[0]) == [("web-1", "stopped", "running", "start")]
    stored = json.loads(json.dumps(first.position()))
    # While away: web-1 stops; web-2 (known, no records yet) crashes; web-3 is created with an old record (before
    # the last poll: not told) and a new one.
    server.logs[CID].append(hoody_log(3, CID, "2026-12-01T10:03:00.000Z", "running", "stopped", "stop"))
    server.logs[OTHER].append(hoody_log(4, OTHER, "2026-12-01T10:03:01.000Z", "running", "stopped", None,
                                        triggered_by="system"))  # fmt: skip
    third = "abcdefabcdefabcdefabcdef"
    server.containers[third] = "web-3"
    server.logs[third] = [hoody_log(5, third, "2026-12-01T10:00:10.000Z", None, "stopped", "create"),
                          hoody_log(6, third, "2026-12-01T10:03:02.000Z", "stopped", "running", "start")]  # fmt: skip
    server.add_container_logs(third)
    second = feed(stored, wall=lambda: 1796119410.0)
    assert ops(second.poll()[0]) == [
        ("web-1", "running", "stopped", "stop"), ("web-2", "running", "stopped", "exit"),
        ("web-3", "stopped", "running", "start")]  # fmt: skip
    assert second.resumed_ns == stored["polled_ns"]
    assert second.poll() == ([], False)
