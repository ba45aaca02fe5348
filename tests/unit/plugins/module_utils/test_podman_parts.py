"""Podman's parts: snapshots as data (the create body saved, the commit asked, the tags that are ours), when a health
check is due, the settings refused; and the parts over libpod faked with ``responses`` for what a real Podman
service does not show on demand (a lost tag, an image in use, a failing restore, a network without DNS)."""

from __future__ import annotations

import copy
import json

import pytest
import responses
from responses.matchers import query_param_matcher

from ansible_collections.containerops.lifecycle.plugins.module_utils import _podman_parts as pp
from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import ContainerState
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import (
    BadInput,
    OperationFailed,
    Unhealthy,
    Unsupported,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._podman import LibpodClient, PodmanBackend

SHORT_ID = "abda7d359ec0"
# A real Podman 4.3.1 inspect (podman run --label tier=web -e FOO=bar -p 18081:80 --network pparts-net
# --network-alias web --restart unless-stopped --stop-timeout 7 --health-cmd true --health-interval 2s
# --ulimit nofile=1024:1024 -v named:/data -v /srv:/srv:ro ... sleep infinity), trimmed to what a restore reads.
INSPECT = {
    "Id": SHORT_ID + "c17c401a1aff29c6095d295df1f3bffbff3a0a2c97426b7e9994",
    "Name": "pparts-a",
    "Path": "sleep",
    "Args": ["infinity"],
    "Image": "70020c648dea4e0458d8f04afdf643039247f2639f9830e73d57ddb7bd3bd300",
    "State": {
        "Status": "running",
        "StartedAt": "2026-12-06T10:00:48.517978807Z",
        "Health": {"Status": "starting", "FailingStreak": 0, "Log": None},
    },
    "Mounts": [
        {"Type": "volume", "Name": "named", "Destination": "/data", "RW": True},
        {"Type": "bind", "Source": "/srv", "Destination": "/srv", "RW": False},
    ],
    "NetworkSettings": {
        "Networks": {"pparts-net": {"IPAddress": "10.89.0.2", "IPAMConfig": None, "Aliases": ["web", SHORT_ID]}}
    },
    "Config": {
        "Hostname": SHORT_ID,
        "User": "",
        "Tty": False,
        "OpenStdin": False,
        "Env": ["PATH=/bin", "container=podman", "FOO=bar", "HOME=/root", f"HOSTNAME={SHORT_ID}"],
        "Cmd": ["sleep", "infinity"],
        "WorkingDir": "/",
        "Entrypoint": "",
        "Labels": {"tier": "web"},
        "StopSignal": 15,
        "Healthcheck": {"Test": ["CMD-SHELL", "true"], "Interval": 2000000000, "Timeout": 30000000000, "Retries": 3},
        "StopTimeout": 7,
    },
    "HostConfig": {
        "NetworkMode": "bridge",
        "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "18081"}]},
        "RestartPolicy": {"Name": "unless-stopped", "MaximumRetryCount": 0},
        "CapAdd": [],
        "CapDrop": ["CAP_AUDIT_WRITE", "CAP_MKNOD", "CAP_NET_RAW"],
        "Privileged": False,
        "ReadonlyRootfs": False,
        "Memory": 0,
        "NanoCpus": 0,
        "CpuQuota": 0,
        "Ulimits": [{"Name": "RLIMIT_NOFILE", "Soft": 1024, "Hard": 1024}],
    },
}


# Snapshots as data ---------------------------------------------------------------------------------


def test_the_create_body_keeps_what_the_container_was_created_with():
    assert pp.snapshot_spec(INSPECT) == {
        "name": "pparts-a",
        "entrypoint": [],
        "command": ["sleep", "infinity"],
        "env": {"PATH": "/bin", "container": "podman", "FOO": "bar", "HOME": "/root"},
        "labels": {"tier": "web"},
        "work_dir": "/",
        "terminal": False,
        "stdin": False,
        "stop_signal": 15,
        "stop_timeout": 7,
        "healthconfig": {"Test": ["CMD-SHELL", "true"], "Interval": 2000000000, "Timeout": 30000000000, "Retries": 3},
        "privileged": False,
        "read_only_filesystem": False,
        "cap_drop": ["CAP_AUDIT_WRITE", "CAP_MKNOD", "CAP_NET_RAW"],
        "r_limits": [{"type": "nofile", "soft": 1024, "hard": 1024}],
        "restart_policy": "unless-stopped",
        "netns": {"nsmode": "bridge"},
        "Networks": {"pparts-net": {"aliases": ["web"]}},
        "portmappings": [{"container_port": 80, "host_port": 18081, "host_ip": "", "protocol": "tcp"}],
        "volumes": [{"Name": "named", "Dest": "/data", "Options": []}],
        "mounts": [{"type": "bind", "source": "/srv", "destination": "/srv", "options": ["rbind", "ro"]}],
    }


def test_a_hostname_and_environment_of_the_users_own_are_kept():
    inspect = copy.deepcopy(INSPECT)
    inspect["Config"]["Hostname"] = "web.local"
    inspect["Config"]["Env"].append("HOSTNAME=web.local")
    spec = pp.snapshot_spec(inspect)
    assert spec["hostname"] == "web.local" and spec["env"]["HOSTNAME"] == "web.local"


def test_limits_and_retries_are_kept():
    inspect = copy.deepcopy(INSPECT)
    inspect["HostConfig"].update(Memory=64 << 20, MemorySwap=128 << 20, NanoCpus=500_000_000)
    inspect["HostConfig"]["RestartPolicy"] = {"Name": "on-failure", "MaximumRetryCount": 3}
    spec = pp.snapshot_spec(inspect)
    assert spec["resource_limits"] == {
        "memory": {"limit": 64 << 20, "swap": 128 << 20},
        "cpu": {"quota": 50000, "period": 100000},
    }
    assert (spec["restart_policy"], spec["restart_tries"]) == ("on-failure", 3)
    inspect["HostConfig"].update(NanoCpus=0, CpuQuota=25000, CpuPeriod=50000)
    assert pp.snapshot_spec(inspect)["resource_limits"]["cpu"] == {"quota": 25000, "period": 50000}


@pytest.mark.parametrize(
    ("mode", "netns"),
    [("host", {"nsmode": "host"}), ("none", {"nsmode": "none"}), ("container:0123", None)],
)
def test_only_a_bridge_names_its_networks_and_a_borrowed_namespace_is_left_to_the_default(mode, netns):
    inspect = copy.deepcopy(INSPECT)
    inspect["HostConfig"]["NetworkMode"] = mode
    inspect["HostConfig"]["PortBindings"] = {}
    spec = pp.snapshot_spec(inspect)
    assert spec.get("netns") == netns and "Networks" not in spec


def test_a_snapshot_is_found_by_its_tag_as_podman_shows_it_or_not():
    assert pp.is_snapshot_tag("localhost/containerops-snapshot/web:pre")
    assert pp.is_snapshot_tag("containerops-snapshot/web:pre")
    assert not pp.is_snapshot_tag("localhost/containerops/busybox:test")
    assert not pp.is_snapshot_tag("docker.io/library/containerops-snapshot:pre")


def test_the_commit_names_labels_and_saves_the_container():
    saved = pp.saved_snapshot(INSPECT, "running")
    params = pp.commit_params(INSPECT["Id"], "pparts-a", "pre x", saved, "2026-12-06T10:00:00Z")
    assert (params["repo"], params["tag"]) == ("containerops-snapshot/pparts-a", "pre-x-" + params["tag"][-8:])
    assert (params["format"], params["pause"], params["container"]) == ("docker", "true", INSPECT["Id"])
    assert params["changes"] == [
        'LABEL containerops.snapshot.alias="pre x"',
        'LABEL containerops.snapshot.container="pparts-a"',
        'LABEL containerops.snapshot.created="2026-12-06T10:00:00Z"',
    ]
    assert pp.saved_from_image({"Comment": params["comment"]}) == saved
    stopped = pp.saved_snapshot(INSPECT, "stopped")
    assert pp.commit_params("x", "pparts-a", "pre", stopped, "t")["pause"] == "false"


@pytest.mark.parametrize(
    "comment",
    ["", "not json", "[]", json.dumps({"name": "web", "config": {}, "host_config": {}}), '{"name": "w", "spec": {}}'],
)
def test_an_image_without_our_saved_container_has_nothing_to_restore(comment):
    assert pp.saved_from_image({"Comment": comment}) is None


# When a health check is due ----------------------------------------------------------------------------


def _health(log_end=None, started="2026-12-06T10:00:00.5Z", interval=2_000_000_000):
    log = [{"End": log_end, "ExitCode": 0}] if log_end else None
    return {
        "Config": {"Healthcheck": {"Test": ["CMD-SHELL", "true"], "Interval": interval}},
        "State": {"StartedAt": started, "Health": {"Status": "starting", "Log": log}},
    }


START = pp._epoch("2026-12-06T10:00:00.5Z")


def test_a_check_is_due_once_nothing_ran_one_for_an_interval():
    assert not pp.check_due(_health(), START + 1.9)
    assert pp.check_due(_health(), START + 2.0)
    assert not pp.check_due(_health(log_end="2026-12-06T10:00:10.000000001Z"), START + 11)
    assert pp.check_due(_health(log_end="2026-12-06T10:00:10.000000001Z"), START + 12)
    assert not pp.check_due(_health(interval=None), START + 29) and pp.check_due(_health(interval=None), START + 30)
    assert pp.check_due(_health(started="0001-01-01T00:00:00Z"), START)
    # Restarted after its last check: an interval from the restart, not from that check.
    restarted = _health(log_end="2026-12-06T09:00:00Z", started="2026-12-06T10:00:00.5Z")
    assert not pp.check_due(restarted, START + 1) and pp.check_due(restarted, START + 2)


def test_gos_times_are_read_with_their_nanoseconds_and_offset():
    assert pp._epoch("2026-12-06T10:00:00.5Z") - pp._epoch("2026-12-06T10:00:00Z") == pytest.approx(0.5)
    assert pp._epoch("2026-12-06T11:00:00.25+01:00") == pytest.approx(START - 0.25)
    assert pp._epoch("0001-01-01T00:00:00Z") is None and pp._epoch("") is None and pp._epoch("yesterday") is None


# Settings --------------------------------------------------------------------------------------------


class _Named:
    name = "podman"


def test_settings_are_read_but_every_change_is_refused_naming_the_podman_that_keeps_it():
    settings = pp.PodmanSettings(_Named())  # type: ignore[arg-type]
    assert settings.settable == ()
    memory = settings.why_not_settable("resources.memory")
    assert memory.startswith("backend podman cannot change resources.memory: before Podman 5.1")
    assert "a restart forgets it" in memory
    assert "Podman 5.1 keeps" in settings.why_not_settable("autostart")
    assert "Podman fixes it when the container is created" in settings.why_not_settable("environment_vars")
    assert settings.why_not_settable("no.such.setting") == "backend podman cannot change no.such.setting"
    with pytest.raises(Unsupported, match="cannot change autostart"):
        settings.update(None, {"autostart": True})  # type: ignore[arg-type]


# The parts over libpod (``responses``) -------------------------------------------------------------------

HOST = "tcp://127.0.0.1:9"
API = "http://127.0.0.1:9/v4.0.0/libpod"
IMAGE = "9b8cb2b4c51e" + "5" * 52
NEWER = "96f6799ad10e" + "6" * 52
TAG = "localhost/containerops-snapshot/pparts-a:pre"


@pytest.fixture
def backend():
    made = PodmanBackend(LibpodClient(HOST, 5, 0))
    yield made
    made.close()


def _calls() -> list[tuple[str, str]]:
    return [(call.request.method, call.request.url.replace(API, "")) for call in responses.calls]


def _snapshot(image_id=IMAGE):
    return {"name": TAG, "alias": "pre", "container": "pparts-a", "private": {"image_id": image_id}}


@responses.activate
def test_snapshots_are_the_images_labelled_for_the_container_and_tagged_as_ours(backend):
    labelled = {"Labels": {"containerops.snapshot.container": "pparts-a", "containerops.snapshot.alias": "pre"}}
    responses.get(
        f"{API}/images/json",
        json=[
            dict(labelled, Id=IMAGE, RepoTags=[TAG], Size=2),
            dict(labelled, Id=NEWER, RepoTags=["localhost/pparts-a:copied"], Size=2),
        ],
        match=[query_param_matcher({"filters": '{"label": ["containerops.snapshot.container=pparts-a"]}'})],
    )
    assert [(s["name"], s["alias"]) for s in backend.snapshots.of(ContainerState.absent("pparts-a"))] == [(TAG, "pre")]


@responses.activate
def test_removing_a_snapshot_untags_it_and_leaves_the_image_a_restored_container_runs_on(backend):
    responses.get(f"{API}/images/{TAG}/json", json={"Id": IMAGE})
    responses.post(f"{API}/images/{IMAGE}/untag", match=[query_param_matcher(
        {"repo": "localhost/containerops-snapshot/pparts-a", "tag": "pre"})], status=201)  # fmt: skip
    in_use = {"cause": "image is in use by a container", "message": "image used by 7130c83a3385", "response": 409}
    responses.delete(f"{API}/images/{IMAGE}", status=409, json=in_use)
    backend.snapshots.delete(ContainerState.absent("pparts-a"), _snapshot())
    untag = f"/images/{IMAGE}/untag?repo=localhost%2Fcontainerops-snapshot%2Fpparts-a&tag=pre"
    assert _calls()[1:] == [("POST", untag), ("DELETE", f"/images/{IMAGE}")]


@responses.activate
def test_a_replaced_snapshot_has_only_its_untagged_image_removed_never_by_force(backend):
    responses.get(f"{API}/images/{TAG}/json", json={"Id": NEWER})
    responses.delete(f"{API}/images/{IMAGE}", json={"Deleted": [IMAGE]})
    backend.snapshots.delete(ContainerState.absent("pparts-a"), _snapshot())
    assert _calls() == [("GET", f"/images/{TAG}/json"), ("DELETE", f"/images/{IMAGE}")]


@responses.activate
def test_a_snapshot_the_engine_will_not_remove_fails_naming_it(backend):
    responses.get(f"{API}/images/{TAG}/json", status=404, json={"message": "image not known", "response": 404})
    responses.delete(f"{API}/images/{IMAGE}", status=500, json={"message": "layer busy", "response": 500})
    with pytest.raises(OperationFailed, match="layer busy"):
        backend.snapshots.delete(ContainerState.absent("pparts-a"), _snapshot())


def _image_with(saved):
    return {"Id": IMAGE, "Comment": json.dumps(saved)}


@responses.activate
def test_a_failed_restore_puts_the_original_back_under_its_name(backend, monkeypatch):
    saved = pp.saved_snapshot(INSPECT, "stopped")
    stopped = copy.deepcopy(INSPECT)
    stopped["State"] = {"Status": "exited", "ExitCode": 0}
    responses.get(f"{API}/images/{IMAGE}/json", json=_image_with(saved))
    responses.get(f"{API}/containers/pparts-a/json", json=stopped)
    responses.post(f"{API}/containers/{INSPECT['Id']}/rename", status=204)
    responses.post(f"{API}/containers/create", status=500, json={"message": "port 18081 is taken", "response": 500})
    aside = copy.deepcopy(stopped)
    aside["Name"] = "pparts-a-replaced-1"
    responses.get(f"{API}/containers/{INSPECT['Id']}/json", json=aside)
    monkeypatch.setattr(pp.time, "time", lambda: 1.0)
    with pytest.raises(OperationFailed) as failed:
        backend.snapshots.restore(backend.inspect("pparts-a"), _snapshot(), None, 5)
    assert str(failed.value).startswith("restore of 'pparts-a' from '" + TAG + "' failed: port 18081 is taken;")
    renames = [call.request.url for call in responses.calls if call.request.url.endswith(("-1", "=pparts-a"))]
    assert [url.rsplit("=", 1)[1] for url in renames] == ["pparts-a-replaced-1", "pparts-a"]
    create = json.loads(next(call.request.body for call in responses.calls if call.request.url.endswith("/create")))
    assert create == dict(saved["spec"], image=IMAGE)


@responses.activate
def test_an_alias_is_given_before_it_is_taken_and_a_network_without_dns_is_said(backend):
    network = {"name": "app", "driver": "bridge", "dns_enabled": False}
    responses.get(f"{API}/networks/app/json", json=network)
    old, new = copy.deepcopy(INSPECT), copy.deepcopy(INSPECT)
    old["NetworkSettings"]["Networks"] = {"app": {"Aliases": ["web", "db", SHORT_ID]}}
    new.update(Id="f" * 64, Name="pparts-b")
    new["NetworkSettings"]["Networks"] = {}
    responses.get(f"{API}/containers/{'f' * 64}/json", json=new)
    responses.get(f"{API}/containers/{INSPECT['Id']}/json", json=old)
    responses.post(f"{API}/networks/app/connect", body="OK")
    responses.post(f"{API}/networks/app/disconnect", body="OK")
    holders = [{"name": "pparts-a", "id": INSPECT["Id"]}]
    moved = backend.aliases.point("web", backend.inspect("f" * 64), holders, {"network": "app"})
    assert moved == {"window_ms": 0, "url": None}
    changes = [(call.request.url.rsplit("/", 1)[1], json.loads(call.request.body))
               for call in responses.calls if call.request.method == "POST"]  # fmt: skip
    assert changes == [
        ("connect", {"container": "f" * 64, "aliases": ["web"]}),
        ("disconnect", {"Container": INSPECT["Id"]}),
        ("connect", {"container": INSPECT["Id"], "aliases": ["db"]}),
    ]
    assert backend.warnings == [
        "network 'app' has DNS disabled (dns_enabled: false): Podman records the alias, but no container resolves "
        "it there (create the network with DNS: netavark with aardvark-dns, or CNI's dnsname plugin)"
    ]


@responses.activate
def test_an_alias_needs_a_network_that_exists_and_can_hold_one(backend):
    responses.get(f"{API}/networks/nope/json", status=404, json={"message": "network not found", "response": 404})
    responses.get(f"{API}/networks/host/json", json={"name": "host", "driver": "host", "dns_enabled": False})
    with pytest.raises(BadInput, match="network is required with backend podman"):
        backend.aliases.holders("web", {"network": None})
    with pytest.raises(BadInput, match="network 'nope' not found"):
        backend.aliases.holders("web", {"network": "nope"})
    with pytest.raises(BadInput, match="cannot hold aliases: its driver is 'host'"):
        backend.aliases.holders("web", {"network": "host"})


def _running_with_health(status, log=None):
    data = copy.deepcopy(INSPECT)
    data["State"]["Health"] = {"Status": status, "FailingStreak": 0, "Log": log}
    return data


@responses.activate
def test_the_health_wait_runs_an_overdue_check_itself_and_reads_its_verdict(backend):
    # Started long ago, never checked: the check is run once, and the inspect after it says healthy.
    responses.get(f"{API}/containers/{INSPECT['Id']}/json", json=_running_with_health("starting"))
    checked = [{"Start": "2026-12-06T10:00:50Z", "End": "2026-12-06T10:00:50.1Z", "ExitCode": 0, "Output": ""}]
    responses.get(f"{API}/containers/{INSPECT['Id']}/json", json=_running_with_health("healthy", checked))
    responses.get(f"{API}/containers/{INSPECT['Id']}/healthcheck", json={"Status": "healthy"})
    state = backend.health.wait_healthy(ContainerState(INSPECT["Id"], "pparts-a", "running", "running"), 5)
    assert state.health == "healthy"
    assert [path for _method, path in _calls()].count(f"/containers/{INSPECT['Id']}/healthcheck") == 1


@responses.activate
def test_a_failing_check_run_by_the_wait_ends_it_with_the_checks_output(backend):
    responses.get(f"{API}/containers/{INSPECT['Id']}/json", json=_running_with_health("starting"))
    failed = [{"Start": "2026-12-06T10:00:50Z", "End": "2026-12-06T10:00:50.1Z", "ExitCode": 1, "Output": "nope\n"}]
    responses.get(f"{API}/containers/{INSPECT['Id']}/json", json=_running_with_health("unhealthy", failed))
    responses.get(f"{API}/containers/{INSPECT['Id']}/healthcheck", json={"Status": "unhealthy"})
    with pytest.raises(Unhealthy, match=r"its health check reports unhealthy: nope$"):
        backend.health.wait_healthy(ContainerState(INSPECT["Id"], "pparts-a", "running", "running"), 5)


OURS = {"containerops.snapshot.container": "pparts-a"}


@pytest.mark.parametrize(
    ("image", "removed"),
    [
        ({"RepoTags": [], "Labels": OURS}, True),  # a removed snapshot's: untagged, ours
        ({"RepoTags": [TAG], "Labels": OURS}, False),  # a snapshot still
        ({"RepoTags": [], "Labels": {"tier": "web"}}, False),  # someone else's untagged image
    ],
)
@responses.activate
def test_a_deleted_container_takes_only_a_removed_snapshots_image_with_it(backend, image, removed):
    responses.delete(f"{API}/containers/pparts-a", json=[{"Id": INSPECT["Id"], "Err": None}])
    responses.get(f"{API}/images/{IMAGE}/json", json=dict(image, Id=IMAGE))
    responses.delete(f"{API}/images/{IMAGE}", json={"Deleted": [IMAGE]})
    gone = ContainerState(INSPECT["Id"], "pparts-a", "stopped", "exited", details=dict(INSPECT, Image=IMAGE))
    backend.perform(ContainerState(None, "pparts-a", "stopped", "exited", details=gone.details), "delete", None)
    assert (("DELETE", f"/images/{IMAGE}") in _calls()) is removed
    assert backend.warnings == []


@responses.activate
def test_an_image_that_cannot_be_removed_only_warns_after_the_containers_deletion(backend):
    responses.delete(f"{API}/containers/pparts-a", json=[{"Id": INSPECT["Id"], "Err": None}])
    responses.get(f"{API}/images/{IMAGE}/json", json={"Id": IMAGE, "RepoTags": [], "Labels": OURS})
    responses.delete(f"{API}/images/{IMAGE}", status=500, json={"message": "layer busy", "response": 500})
    in_use = {"message": "image used by 7130c83a3385: image is in use by a container", "response": 409}
    responses.delete(f"{API}/images/{IMAGE}", status=409, json=in_use)
    deleted = ContainerState(None, "pparts-a", "stopped", "exited", details=dict(INSPECT, Image=IMAGE))
    assert backend.perform(deleted, "delete", None) is False
    assert backend.warnings == [f"the image {IMAGE[:12]} of a removed snapshot was left behind: layer busy"]
    backend.perform(deleted, "delete", None)  # another container runs on it: nothing to say
    assert len(backend.warnings) == 1
