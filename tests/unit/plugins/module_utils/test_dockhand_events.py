"""Unit tests for plugins/module_utils/_dockhand_events.py: Dockhand's activity log followed, its rows made from
Docker events recorded from a real engine (tests/unit/extensions/eda/plugins/event_source/fixtures) as Dockhand's
collector stores them (HTTP faked with ``responses``)."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from ansible_collections.containerops.lifecycle.plugins.module_utils import _position
from ansible_collections.containerops.lifecycle.plugins.module_utils._dockhand import DockhandBackend
from ansible_collections.containerops.lifecycle.plugins.module_utils._dockhand_events import (
    DockhandFeed,
    docker_event,
    dockhand_time,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import OperationFailed
from ansible_collections.containerops.lifecycle.plugins.module_utils._events import Timing, event_of, record_ns
from ansible_collections.containerops.lifecycle.plugins.module_utils._http import ApiClient
from tests.unit.plugins.module_utils.test_docker_events import RECORDED, STREAMS

with open(os.path.join(STREAMS, "docker_health_events.json")) as _handle:
    # What Docker sends a subscriber (the health checks' exec_* events are not subscribed).
    HEALTH = [e for e in json.load(_handle)["unhealthy"] if not e["Action"].startswith("exec_")]
DOCKHAND = "https://dockhand.test"
TOKEN = "dh_very_secret_token_0123"
LABELLED = {"label": ["containerops.autoheal=true"]}


def dockhand_rows(events: list[dict[str, Any]], first_id: int) -> list[dict[str, Any]]:
    """Docker events as Dockhand's collector stores them in its activity log (contract: event record)."""
    rows = []
    for offset, event in enumerate(events):
        attributes = dict(event["Actor"]["Attributes"])
        moment = datetime.fromtimestamp(event["timeNano"] / 1e9, timezone.utc)
        rows.append({
            "id": first_id + offset, "environmentId": 1, "containerId": event["Actor"]["ID"],
            "containerName": attributes.get("name"), "image": attributes.get("image"), "action": event["Action"],
            "actorAttributes": attributes,
            "timestamp": moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z",
            "createdAt": moment.strftime("%Y-%m-%d %H:%M:%S"), "environmentName": "local",
        })  # fmt: skip
    return rows


class DockhandServer:
    """``GET /api/activity`` over in-memory rows: newest first, ``fromDate`` compared as text, offset paging."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.queries: list[dict[str, list[str]]] = []

    def activity(self, request):
        query = parse_qs(urlsplit(request.url).query)
        self.queries.append(query)
        rows = sorted(self.rows, key=lambda row: (row["timestamp"], row["id"]), reverse=True)
        if "fromDate" in query:
            rows = [row for row in rows if row["timestamp"] >= query["fromDate"][0]]
        offset, limit = int(query.get("offset", ["0"])[0]), int(query["limit"][0])
        page = rows[offset : offset + limit]
        return 200, {}, json.dumps({"events": page, "total": len(rows), "limit": limit, "offset": offset})

    def install(self) -> None:
        responses.get(f"{DOCKHAND}/api/environments/1", json={"id": 1, "name": "local", "collectActivity": True})
        responses.add_callback(responses.GET, f"{DOCKHAND}/api/activity", callback=self.activity)


def connect() -> DockhandBackend:
    return DockhandBackend(ApiClient(DOCKHAND, timeout=5, retries=0), 1, TOKEN, None, None, 0.01)


def feed(filters=None, stored=None) -> DockhandFeed:
    opened = DockhandFeed(connect, filters or {}, stored, Timing(settle=0.0))
    assert opened.open() == "polling"
    return opened


def events(transitions) -> list[dict[str, Any]]:
    return [event_of(transition, "dockhand", {})["containerops"] for transition in transitions]


def said(transitions) -> list[tuple]:
    return [(e["name"], e["operation"], e["exit_code"]) for e in events(transitions)]


@responses.activate
def test_dockhand_follows_the_activity_log_after_the_last_row_id():
    server = DockhandServer()
    unlabelled = [dict(e, Actor=dict(e["Actor"], Attributes={k: v for k, v in e["Actor"]["Attributes"].items()
                                                           if k != "containerops.autoheal"}))
                  for e in RECORDED["exit_3"]]  # fmt: skip
    server.rows = dockhand_rows(RECORDED["crash"][:2], 1)  # before the feed starts: create, start
    server.install()
    dockhand = feed(LABELLED)
    assert dockhand.poll() == ([], False)  # the first round notes the newest row
    assert dockhand.last_id == 2
    # Then, in the order they were recorded: the crash, an unlabelled container's exit, an operator's stop.
    server.rows += dockhand_rows(RECORDED["crash"][2:] + unlabelled + RECORDED["docker_stop"], 3)
    got, found = dockhand.poll()
    assert found
    got += dockhand.wait(0.02)  # held records (the stop) come out while it waits
    assert dockhand.poll() == ([], False)
    assert said(got) == [
        ("eda-rec-crash", "exit", 137), ("eda-rec-crash", "delete", None),
        ("eda-rec-docker-stop", "create", None), ("eda-rec-docker-stop", "start", None),
        ("eda-rec-docker-stop", "stop", 0), ("eda-rec-docker-stop", "delete", None),
    ]  # fmt: skip
    assert events(got)[0]["labels"]["containerops.autoheal"] == "true"
    assert server.queries[0]["limit"] == ["1"] and server.queries[0]["environmentId"] == ["1"]
    # Later rounds page (limit 100) and bound the read by the newest timestamp seen, less a margin.
    assert "fromDate" in server.queries[-1] and server.queries[-1]["limit"] == ["100"]


@responses.activate
def test_dockhand_health_rows_are_health_events():
    server = DockhandServer()
    server.rows = dockhand_rows(HEALTH[:2], 1)
    server.install()
    dockhand = feed(LABELLED)
    # As Dockhand's collector keeps them: the base action, the verdict in the attributes (tests/servers/dockhand.py).
    rows = dockhand_rows(HEALTH[2:], 3)
    for row in rows:
        if row["action"].startswith("health_status"):
            row["actorAttributes"]["healthStatus"] = row["action"].partition(":")[2].strip()
            row["action"] = "health_status"
    dockhand.poll()
    server.rows += rows
    got = dockhand.poll()[0] + dockhand.wait(0.02)
    assert [(e["operation"], e["to_status"], e["health"]) for e in events(got)] == [
        ("health", "running", "healthy"), ("health", "running", "unhealthy"), ("restart", "running", None),
        ("health", "running", "healthy"), ("force-stop", "stopped", None), ("delete", "absent", None)]  # fmt: skip


@responses.activate
def test_dockhand_resumes_from_a_stored_position():
    server = DockhandServer()
    server.rows = dockhand_rows(RECORDED["crash"][:2], 1)
    server.install()
    first = feed()
    first.poll()
    server.rows += dockhand_rows(RECORDED["crash"][2:], 3)
    before = first.poll()[0] + first.wait(0.02)
    assert said(before) == [("eda-rec-crash", "exit", 137), ("eda-rec-crash", "delete", None)]
    stored = json.loads(json.dumps(first.position()))
    # While away: exit_3's whole life. Resumed, the first round reads from the position's overlap on.
    server.rows += dockhand_rows(RECORDED["exit_3"], 100)
    second = feed(stored=stored)
    after = second.poll()[0] + second.wait(0.02)
    assert [e["operation"] for e in events(after)] == ["create", "start", "exit", "delete"]
    newest = record_ns(before[-1].record)
    assert second.resumed_ns == newest
    assert server.queries[-1]["fromDate"] == [dockhand_time((newest - _position.OVERLAP_NS) / 1e9)]


def test_an_activity_row_is_a_docker_event_and_a_row_without_a_time_is_not_dockhands():
    row = dockhand_rows(RECORDED["crash"][2:3], 7)[0]
    event = docker_event(dict(row, actorAttributes=None))
    assert event["Actor"] == {"ID": row["containerId"], "Attributes": {"name": "eda-rec-crash"}}
    assert event["timeNano"] // 10**6 == RECORDED["crash"][2]["timeNano"] // 10**6
    with pytest.raises(OperationFailed, match="is api_url a Dockhand server"):
        docker_event(dict(row, timestamp="yesterday"))
