"""The rows of ``test_bad_input.py``: one realistic mistake per row, over every option of every module.

Each row is one task of a real play: ``module`` called with ``args`` (under the connection of its
``group``), which must fail with a ``msg`` containing every fragment of ``expect`` (case-insensitive; a
tuple is a set of alternatives), without a traceback, and change nothing.

Groups: ``docker`` (the local engine; spread over several inventory hosts so rows run in parallel),
``hoody`` and ``dockhand`` (the REST test servers on the same engine), ``podman`` (the suite's Podman service,
where its containers live: ``ON_PODMAN``).

Containers (all created by the test, all ``bi-``): per group a running one, a stopped one and a victim
that only the path-traversal rows aim at (``a/../<victim>``); on Docker also a paused one, and two
sentinels no row names, which the rows that could select every container must leave alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

HUGE = 10**12  # a duration nobody means: every duration has a documented upper bound
NOT_FOUND = ("not found", "does not exist", "no such")
NAME_FORM = "a-zA-Z0-9"  # the allowed form of a Docker name: [a-zA-Z0-9][a-zA-Z0-9_.-]*
HOODY_ALIAS_FORM = ("3 to 61", "lowercase")  # as documented: 3 to 61 lowercase letters, digits and hyphens

# Docker group: containers, network and the files some rows point at.
RUN, STOP, PAUSE, VICTIM = "bi-run", "bi-stop", "bi-pause", "bi-victim-d"
SENTINELS = ("bi-sentinel-run", "bi-sentinel-paused")
NETWORK = "bi-net"
# REST groups: their own containers, so a row that wrongly acts shows up where it ran.
H_RUN, H_STOP, H_VICTIM = "bi-h-run", "bi-h-stop", "bi-victim-h"
K_RUN, K_STOP, K_VICTIM = "bi-k-run", "bi-k-stop", "bi-victim-k"
P_RUN, P_STOP, P_VICTIM = "bi-p-run", "bi-p-stop", "bi-victim-p"
ON_PODMAN = (P_RUN, P_STOP, P_VICTIM)

RUNNING_CONTAINERS = (RUN, PAUSE, VICTIM, *SENTINELS, H_RUN, H_VICTIM, K_RUN, K_VICTIM, P_RUN, P_VICTIM)
PAUSED_CONTAINERS = (PAUSE, "bi-sentinel-paused")
STOPPED_CONTAINERS = (STOP, H_STOP, K_STOP, P_STOP)
ALL_CONTAINERS = RUNNING_CONTAINERS + STOPPED_CONTAINERS

# Play variables the rows may use: a pattern that renders to "" (the classic disaster) and a real file.
PATTERN = "{{ bi_pattern }}"
CERT_FILE = "{{ bi_cert_file }}"
# ... and addresses the fixture makes: a Unix socket file nobody listens on, a TCP port that accepts connections
# and never answers (as tcp:// and as http://), and the Hoody test server's address as https://.
DEAD_SOCKET = "{{ bi_dead_socket }}"
SILENT_TCP = "{{ bi_silent_tcp }}"
SILENT_HTTP = "{{ bi_silent_http }}"
HOODY_HTTPS = "{{ bi_hoody_https }}"
# Nothing listens on 127.0.0.1:9 (discard); nonexistent.invalid never resolves.
REFUSING = "127.0.0.1:9"

Fragment = Union[str, tuple[str, ...]]


@dataclass(frozen=True)
class Row:
    id: str
    module: str
    args: dict[str, Any]
    expect: tuple[Fragment, ...]
    group: str = "docker"
    # Containers this row must leave exactly as they were (victims, sentinels).
    watch: tuple[str, ...] = ()
    # Could select every container on the engine if the validation were missing: run in check mode
    # first, and for real only if that dry run was refused before it selected anything.
    gated: bool = False
    # Environment variables of the task (the fallbacks a user sets instead of options).
    env: tuple[tuple[str, str], ...] = ()


def row(id_: str, module: str, args: dict[str, Any], *expect: Fragment, **kwargs: Any) -> Row:
    return Row(id_, module, args, tuple(expect), **kwargs)


def _state(name: Any = RUN, state: str = "stopped", **args: Any) -> dict[str, Any]:
    """container_state args that would change ``name`` (running -> stopped) if accepted."""
    return {"name": name, "state": state, **args}


def _bad_names() -> list[Row]:
    rows = [row("name-traversal-absent", "container_state", _state(f"a/../{VICTIM}", "absent"),
                f"a/../{VICTIM}", NAME_FORM, watch=(VICTIM,))]
    for id_, name in [("dotdot", "../x"), ("space", "a b"), ("leading-dash", "-x"), ("question-mark", "x?y"),
                      ("hash", "x#y"), ("percent-encoded-dots", "%2e%2e")]:
        rows.append(row(f"name-{id_}", "container_state", _state(name), name, NAME_FORM))
    rows += [
        row("name-traversal-in-list", "container_state", _state([RUN, f"a/../{VICTIM}"]),
            f"a/../{VICTIM}", NAME_FORM, watch=(VICTIM,)),
        row("info-name-traversal", "container_info", {"name": f"a/../{VICTIM}"}, f"a/../{VICTIM}", NAME_FORM),
        row("config-name-traversal", "container_config", {"name": f"a/../{VICTIM}", "autostart": True},
            f"a/../{VICTIM}", NAME_FORM, watch=(VICTIM,)),
        row("logs-name-traversal", "container_status_logs", {"name": f"a/../{VICTIM}"}, f"a/../{VICTIM}", NAME_FORM),
        row("snapshot-name-traversal", "container_snapshot", {"name": f"a/../{VICTIM}", "alias": "bi-pre"},
            f"a/../{VICTIM}", NAME_FORM, watch=(VICTIM,)),
        row("alias-name-traversal", "container_alias", {"name": f"a/../{VICTIM}", "alias": "bi-web",
                                                        "network": NETWORK},
            f"a/../{VICTIM}", NAME_FORM, watch=(VICTIM,)),
    ]
    return rows


CONNECTION_ROWS = [
    row("backend-unknown", "container_info", {"name": RUN, "backend": "lxc"}, "backend", "lxc", "docker", "podman"),
    row("docker-host-ftp", "container_state", _state(docker_host="ftp://x"), "docker_host", "ftp://x"),
    row("docker-host-empty", "container_info", {"name": RUN, "docker_host": ""}, "docker_host"),
    row("docker-host-missing-socket", "container_info",
        {"name": RUN, "docker_host": "unix:///tmp/bi-no-such.sock", "retries": 0},
        "cannot reach the Docker engine at unix:///tmp/bi-no-such.sock (docker_host): no such socket file"),
    row("tls-with-unix-socket", "container_state", _state(tls=True), "tls", "unix"),
    row("ca-path-missing-file", "container_info",
        {"name": RUN, "docker_host": "tcp://127.0.0.1:9", "tls": True, "ca_path": "/tmp/bi-no-such/ca.pem",
         "retries": 0, "timeout": 5}, "ca_path", "/tmp/bi-no-such/ca.pem"),
    row("client-cert-without-key", "container_info",
        {"name": RUN, "docker_host": "tcp://127.0.0.1:9", "tls": True, "client_cert": CERT_FILE,
         "retries": 0, "timeout": 5}, "client_cert", "client_key"),
    row("client-key-without-cert", "container_info",
        {"name": RUN, "docker_host": "tcp://127.0.0.1:9", "tls": True, "client_key": CERT_FILE,
         "retries": 0, "timeout": 5}, "client_key", "client_cert"),
    row("timeout-huge-state", "container_state", _state(timeout=HUGE), "timeout", str(HUGE)),
    row("timeout-huge-logs", "container_status_logs", {"name": RUN, "timeout": HUGE}, "timeout", str(HUGE)),
    row("timeout-huge-snapshot", "container_snapshot", {"name": STOP, "alias": "bi-t", "timeout": HUGE},
        "timeout", str(HUGE)),
    row("timeout-huge-alias", "container_alias", {"name": RUN, "alias": "bi-web", "network": NETWORK,
                                                  "timeout": HUGE}, "timeout", str(HUGE)),
    row("timeout-zero", "container_info", {"name": RUN, "timeout": 0}, "timeout", "0"),
    row("retries-negative", "container_state", _state(retries=-1), "retries", "-1"),
    row("retries-huge", "container_state", _state(retries=10**9), "retries", str(10**9)),
]

# Engines and servers that cannot be reached: what, why, and the option or variable that gave the address.
UNREACHABLE_ROWS = [
    row("docker-host-tcp-refused", "container_info",
        {"name": RUN, "docker_host": f"tcp://{REFUSING}", "retries": 0},
        f"cannot reach the Docker engine at tcp://{REFUSING} (docker_host): connection refused"),
    row("docker-host-socket-nobody-listens-on", "container_info",
        {"name": RUN, "docker_host": DEAD_SOCKET, "retries": 0}, "dead.sock (docker_host): connection refused"),
    row("docker-host-unresolved", "container_info",
        {"name": RUN, "docker_host": "tcp://nonexistent.invalid:2375", "retries": 0},
        "cannot reach the Docker engine at tcp://nonexistent.invalid:2375 (docker_host): name not resolved"),
    row("docker-host-silent", "container_info", {"name": RUN, "docker_host": SILENT_TCP, "retries": 0, "timeout": 1},
        "the Docker engine at tcp://127.0.0.1:", "(docker_host) did not answer within 1s (timeout)"),
    row("docker-host-from-environment", "container_info", {"name": RUN, "retries": 0},
        f"cannot reach the Docker engine at tcp://{REFUSING} (docker_host, from DOCKER_HOST): connection refused",
        env=(("DOCKER_HOST", f"tcp://{REFUSING}"),)),
    row("dockhand-password-from-environment-alone", "container_info",
        {"name": RUN, "backend": "dockhand", "api_url": f"http://{REFUSING}", "api_environment": 1},
        "api_password (from DOCKHAND_PASSWORD) is set, api_username is not",
        env=(("DOCKHAND_PASSWORD", "bi-env-password"),)),
    row("dockhand-api-url-from-environment", "container_info",
        {"name": RUN, "backend": "dockhand", "api_environment": 1, "retries": 0},
        f"cannot reach the Dockhand API at http://{REFUSING} (api_url, from DOCKHAND_URL): connection refused",
        env=(("DOCKHAND_URL", f"http://{REFUSING}"),)),
    row("hoody-api-url-refused", "container_info", {"name": H_RUN, "api_url": f"http://{REFUSING}", "retries": 0},
        f"cannot reach the Hoody API at http://{REFUSING} (api_url): connection refused", group="hoody"),
    row("hoody-api-url-from-environment", "container_info", {"name": H_RUN, "api_url": None, "retries": 0},
        f"cannot reach the Hoody API at http://{REFUSING} (api_url, from HOODY_API_URL): connection refused",
        group="hoody", env=(("HOODY_API_URL", f"http://{REFUSING}"),)),
    row("hoody-api-url-unresolved", "container_info",
        {"name": H_RUN, "api_url": "http://nonexistent.invalid", "retries": 0},
        "cannot reach the Hoody API at http://nonexistent.invalid (api_url): name not resolved", group="hoody"),
    row("hoody-api-url-silent", "container_info", {"name": H_RUN, "api_url": SILENT_HTTP, "retries": 0, "timeout": 1},
        "the Hoody API at http://127.0.0.1:", "(api_url): no answer within 1s (timeout)", group="hoody"),
    row("hoody-api-url-https-to-http", "container_info", {"name": H_RUN, "api_url": HOODY_HTTPS, "retries": 0},
        "TLS", "the Hoody API at https://127.0.0.1:", "(api_url)", group="hoody"),
    row("hoody-token-from-environment-rejected", "container_info", {"name": H_RUN, "api_token": None},
        "check api_token (from HOODY_TOKEN)", group="hoody", env=(("HOODY_TOKEN", "hdy_bi_wrong_env_token"),)),
]

TARGET_ROWS = [
    row("name-null", "container_state", _state(None), "name"),
    row("name-empty-list", "container_state", _state([]), "name"),
    row("name-list-of-empty-string", "container_state", _state([""]), "name"),
    row("name-blank", "container_state", _state("  "), "name"),
    row("name-empty-string", "container_state", _state(""), "name"),
    row("info-name-null", "container_info", {"name": None}, "name"),
    row("config-name-empty-list", "container_config", {"name": [], "autostart": True}, "name"),
    *_bad_names(),
    row("state-unknown-name", "container_state", _state("bi-nope", "started"), "bi-nope", NOT_FOUND),
    # A selection never widens by accident.
    row("filters-empty", "container_state", {"filters": {}, "state": "absent"}, "filters",
        gated=True, watch=SENTINELS),
    row("filters-name-rendered-empty-absent", "container_state", {"filters": {"name": PATTERN}, "state": "absent"},
        "filters.name", gated=True, watch=SENTINELS),
    row("filters-name-blank", "container_state", {"filters": {"name": "  "}, "state": "absent"},
        "filters.name", gated=True, watch=SENTINELS),
    row("filters-name-null", "container_state", {"filters": {"name": None}, "state": "absent"},
        "filters.name", gated=True, watch=SENTINELS),
    row("filters-label-empty-list", "container_state", {"filters": {"label": []}, "state": "absent"},
        "filters.label", gated=True, watch=SENTINELS),
    row("filters-label-empty-string", "container_state", {"filters": {"label": [""]}, "state": "stopped"},
        "filters.label", gated=True, watch=SENTINELS),
    row("filters-status-empty-list", "container_state", {"filters": {"status": []}, "state": "stopped"},
        "filters.status", gated=True, watch=SENTINELS),
    row("filters-project-empty", "container_state", {"filters": {"project": ""}, "state": "absent"},
        "filters.project", gated=True, watch=SENTINELS),
    row("config-filters-name-empty", "container_config", {"filters": {"name": ""}, "autostart": True},
        "filters.name", gated=True, watch=SENTINELS),
    row("info-filters-name-empty", "container_info", {"filters": {"name": ""}}, "filters.name"),
    row("filters-unknown-key", "container_info", {"filters": {"labels": ["a=b"]}}, "filters", "labels", "label"),
    row("filters-not-a-dict", "container_state", {"filters": "abc", "state": "stopped"}, "filters"),
    row("filters-label-int", "container_info", {"filters": {"label": 5}}, "filters.label"),
    row("filters-label-empty-key", "container_info", {"filters": {"label": ["=x"]}}, "filters.label", "=x"),
    row("filters-status-typo", "container_state", {"filters": {"status": ["runing"]}, "state": "stopped"},
        "filters.status", "runing", "running"),
    row("filters-name-list", "container_info", {"filters": {"name": ["a", "b"]}}, "filters.name"),
    row("filters-project-int", "container_info", {"filters": {"project": 5}}, "filters.project"),
    # parallel: a count with a documented range.
    row("parallel-zero", "container_state", _state(parallel=0), "parallel", "0"),
    row("parallel-negative", "container_info", {"name": RUN, "parallel": -3}, "parallel", "-3"),
    row("parallel-huge", "container_state", _state(parallel=10**6), "parallel", str(10**6)),
    row("config-parallel-huge", "container_config", {"name": RUN, "autostart": True, "parallel": 10**6},
        "parallel", str(10**6)),
]

STATE_ROWS = [
    row("state-bogus", "container_state", _state(state="bogus"), "state", "bogus", "started"),
    row("state-missing", "container_state", {"name": RUN}, "state"),
    row("force-not-bool", "container_state", _state(force="please"), "force"),
    row("stop-timeout-huge", "container_state", _state(stop_timeout=HUGE), "stop_timeout", str(HUGE)),
    row("stop-timeout-negative", "container_state", _state(stop_timeout=-1), "stop_timeout", "-1"),
    row("force-on-timeout-not-bool", "container_state", _state(force_on_timeout="abc"), "force_on_timeout"),
    row("wait-not-bool", "container_state", _state(wait="abc"), "wait"),
    row("wait-timeout-huge", "container_state", _state(wait_timeout=HUGE), "wait_timeout", str(HUGE)),
    row("wait-timeout-zero", "container_state", _state(wait_timeout=0), "wait_timeout", "0"),
    row("wait-timeout-negative", "container_state", _state(wait_timeout=-5), "wait_timeout", "-5"),
    row("poll-interval-zero", "container_state", _state(poll_interval=0), "poll_interval", "0"),
    row("poll-interval-negative", "container_state", _state(poll_interval=-1), "poll_interval", "-1"),
    row("poll-interval-huge", "container_state", _state(poll_interval=HUGE), "poll_interval", str(HUGE)),
    row("healthy-without-health-check", "container_state", _state(STOP, "started", healthy=True),
        "health check", watch=(STOP,)),
    # Aimed at the stopped container: were it accepted, the running one stays running for the other rows.
    row("healthy-with-state-stopped", "container_state", _state(STOP, healthy=True), "healthy", "started"),
    row("info-runtime-not-bool", "container_info", {"name": RUN, "runtime": "abc"}, "runtime"),
]

LOGS = "container_status_logs"
LOGS_ROWS = [
    row("logs-name-empty", LOGS, {"name": ""}, "name"),
    row("logs-name-list", LOGS, {"name": [RUN, STOP]}, "name"),
    row("logs-name-missing", LOGS, {}, "name"),
    row("logs-unknown-name", LOGS, {"name": "bi-nope-logs"}, "bi-nope-logs", NOT_FOUND),
    row("logs-to-status-typo", LOGS, {"name": RUN, "to_status": ["runing"]}, "to_status", "runing", "running"),
    row("logs-from-status-bogus", LOGS, {"name": RUN, "from_status": ["bogus"]}, "from_status", "bogus", "running"),
    row("logs-limit-zero", LOGS, {"name": RUN, "limit": 0}, "limit", "0"),
    row("logs-limit-101", LOGS, {"name": RUN, "limit": 101}, "limit", "101"),
    row("logs-page-zero", LOGS, {"name": RUN, "page": 0}, "page", "0"),
    row("logs-page-negative", LOGS, {"name": RUN, "page": -2}, "page", "-2"),
    row("logs-since-yesterday", LOGS, {"name": RUN, "since": "yesterday"}, "since", "yesterday"),
    row("logs-until-soon", LOGS, {"name": RUN, "until": "soon"}, "until", "soon"),
    row("logs-since-after-until", LOGS, {"name": RUN, "since": "1h", "until": "2h"}, "since", "until"),
    row("logs-since-impossible-date", LOGS, {"name": RUN, "since": "2026-13-45T00:00:00Z"}, "since", "2026-13-45"),
    row("logs-since-out-of-range", LOGS, {"name": RUN, "since": "99999999999d"}, "since", "99999999999d"),
    row("logs-sort-by-bogus", LOGS, {"name": RUN, "sort_by": "name"}, "sort_by", "transition_time"),
    row("logs-sort-order-bogus", LOGS, {"name": RUN, "sort_order": "up"}, "sort_order", "asc"),
    row("logs-all-pages-not-bool", LOGS, {"name": RUN, "all_pages": "abc"}, "all_pages"),
]

CONFIG = "container_config"
CONFIG_ROWS = [
    row("config-memory-word", CONFIG, {"name": RUN, "resources": {"memory": "lots"}}, "resources.memory", "lots"),
    row("config-memory-negative", CONFIG, {"name": RUN, "resources": {"memory": -1}}, "resources.memory", "-1"),
    row("config-cpus-negative", CONFIG, {"name": RUN, "resources": {"cpus": -1}}, "resources.cpus", "-1"),
    row("config-cpus-more-than-host", CONFIG, {"name": RUN, "resources": {"cpus": 1000}}, "cpus", "1000"),
    row("config-resources-unknown-key", CONFIG, {"name": RUN, "resources": {"swap": "1g"}}, "swap"),
    # Ansible's own type check answers this one, before the module runs; its message does not name the option.
    row("config-resources-not-dict", CONFIG, {"name": RUN, "resources": "abc"}, "dictionary requested"),
    row("config-env-on-docker", CONFIG, {"name": RUN, "environment_vars": {"BI": "x"}}, "environment_vars"),
    row("config-env-not-dict", CONFIG, {"name": RUN, "environment_vars": "abc"}, "environment_vars"),
    row("config-autostart-not-bool", CONFIG, {"name": RUN, "autostart": "sometimes"}, "autostart"),
    row("config-restart-to-apply-not-bool", CONFIG, {"name": RUN, "autostart": True, "restart_to_apply": "abc"},
        "restart_to_apply"),
    row("config-stop-timeout-huge", CONFIG, {"name": RUN, "autostart": True, "stop_timeout": HUGE},
        "stop_timeout", str(HUGE)),
    row("config-stop-timeout-negative", CONFIG, {"name": RUN, "autostart": True, "stop_timeout": -1},
        "stop_timeout", "-1"),
    row("config-unknown-name", CONFIG, {"name": "bi-nope", "autostart": True}, "bi-nope", NOT_FOUND),
]

SNAP = "container_snapshot"
SNAPSHOT_ROWS = [
    row("snapshot-state-bogus", SNAP, {"name": STOP, "alias": "bi-a", "state": "bogus"}, "state", "bogus", "present"),
    row("snapshot-alias-missing", SNAP, {"name": STOP}, "alias"),
    row("snapshot-alias-empty", SNAP, {"name": STOP, "alias": ""}, "alias"),
    row("snapshot-alias-too-long", SNAP, {"name": STOP, "alias": "a" * 101}, "alias", "100"),
    row("snapshot-alias-space", SNAP, {"name": STOP, "alias": "pre upgrade"}, "alias", "pre upgrade"),
    row("snapshot-alias-traversal", SNAP, {"name": STOP, "alias": "a/../b"}, "alias", "a/../b"),
    row("snapshot-name-missing", SNAP, {"alias": "bi-a"}, "name"),
    row("snapshot-name-empty", SNAP, {"name": "", "alias": "bi-a"}, "name"),
    row("snapshot-replace-not-bool", SNAP, {"name": STOP, "alias": "bi-a", "replace": "abc"}, "replace"),
    row("snapshot-stop-timeout-huge", SNAP, {"name": STOP, "alias": "bi-b", "stop_timeout": HUGE},
        "stop_timeout", str(HUGE)),
    row("snapshot-wait-timeout-huge", SNAP, {"name": STOP, "alias": "bi-c", "wait_timeout": HUGE},
        "wait_timeout", str(HUGE)),
    row("snapshot-wait-timeout-zero", SNAP, {"name": STOP, "alias": "bi-d", "wait_timeout": 0}, "wait_timeout", "0"),
    row("snapshot-of-paused", SNAP, {"name": PAUSE, "alias": "bi-a"}, "paused", watch=(PAUSE,)),
    row("snapshot-restore-unknown-alias", SNAP, {"name": STOP, "alias": "bi-none", "state": "restored"}, "bi-none"),
    row("snapshot-unknown-name", SNAP, {"name": "bi-nope", "alias": "bi-a"}, "bi-nope", NOT_FOUND),
]

ALIAS = "container_alias"


def _alias(**args: Any) -> dict[str, Any]:
    return {"name": RUN, "alias": "bi-web", "network": NETWORK, **args}


ALIAS_ROWS = [
    row("alias-network-missing", ALIAS, {"name": RUN, "alias": "bi-web"}, "network"),
    row("alias-network-unknown", ALIAS, _alias(network="bi-no-net"), "bi-no-net", NOT_FOUND),
    row("alias-network-default-bridge", ALIAS, _alias(network="bridge"), "bridge", "user-defined"),
    row("alias-network-traversal", ALIAS, _alias(network=f"a/../{NETWORK}"), "network", f"a/../{NETWORK}"),
    row("alias-alias-missing", ALIAS, {"name": RUN, "network": NETWORK}, "alias"),
    row("alias-alias-empty", ALIAS, _alias(alias=""), "alias"),
    row("alias-alias-space", ALIAS, _alias(alias="a b"), "alias", "a b"),
    row("alias-state-bogus", ALIAS, _alias(state="bogus"), "state", "bogus", "present"),
    row("alias-present-without-name", ALIAS, {"alias": "bi-web", "network": NETWORK}, "name"),
    row("alias-port-zero", ALIAS, _alias(port=0), "port", "0"),
    row("alias-port-too-big", ALIAS, _alias(port=70000), "port", "70000"),
    row("alias-index-zero", ALIAS, _alias(index=0), "index", "0"),
    row("alias-index-huge", ALIAS, _alias(index=HUGE), "index", str(HUGE)),
    row("alias-unknown-name", ALIAS, _alias(name="bi-nope"), "bi-nope", NOT_FOUND),
]


def _rest_names(prefix: str, group: str, run: str, stop: str, victim: str,
                bad: list[tuple[str, str, str]]) -> list[Row]:
    """Bad names through a backend other than Docker; the traversal aims at ``victim``."""
    rows = [row(f"{prefix}-name-traversal-absent", "container_state", _state(f"a/../{victim}", "absent"),
                f"a/../{victim}", group=group, watch=(victim,))]
    for id_, module, name in bad:
        args = _state(name) if module == "container_state" else {"name": name}
        rows.append(row(f"{prefix}-name-{id_}", module, args, name, group=group))
    rows += [
        row(f"{prefix}-filters-name-empty", "container_state", {"filters": {"name": PATTERN}, "state": "absent"},
            "filters.name", group=group, gated=True, watch=(run, stop, victim)),
        row(f"{prefix}-snapshot-name-traversal", SNAP, {"name": f"../{victim}", "alias": "bi-pre"},
            f"../{victim}", group=group, watch=(victim,)),
    ]
    return rows


HOODY_ROWS = [
    *_rest_names("hoody", "hoody", H_RUN, H_STOP, H_VICTIM,
                 [("dotdot", "container_info", "../x"), ("question-mark", "container_state", "x?y"),
                  ("percent-encoded-dots", LOGS, "%2e%2e")]),
    row("hoody-filters-project-empty", "container_state", {"filters": {"project": ""}, "state": "stopped"},
        "filters.project", group="hoody", gated=True, watch=(H_RUN,)),
    row("hoody-filters-project-traversal", "container_info", {"filters": {"project": "../x"}},
        "filters.project", "../x", group="hoody"),
    row("hoody-filters-label", "container_state", {"filters": {"label": ["tier=web"]}, "state": "stopped"},
        "filters.label", "no labels", group="hoody", watch=(H_RUN,)),
    row("hoody-api-url-ftp", "container_info", {"name": H_RUN, "api_url": "ftp://x"}, "api_url", "ftp://x",
        group="hoody"),
    row("hoody-api-url-empty", "container_info", {"name": H_RUN, "api_url": "", "retries": 0, "timeout": 5},
        "api_url", group="hoody"),
    row("hoody-api-token-missing", "container_info", {"name": H_RUN, "api_token": None}, "api_token", group="hoody"),
    row("hoody-api-token-newline", "container_info", {"name": H_RUN, "api_token": "bad\ntoken"}, "api_token",
        group="hoody"),
    row("hoody-timeout-huge", "container_info", {"name": H_RUN, "timeout": HUGE}, "timeout", str(HUGE),
        group="hoody"),
    row("hoody-retries-negative", "container_state", _state(H_RUN, retries=-1), "retries", "-1", group="hoody"),
    row("hoody-retries-huge", "container_info", {"name": H_RUN, "retries": 10**9}, "retries", str(10**9),
        group="hoody"),
    row("hoody-poll-interval-zero", "container_state", _state(H_RUN, poll_interval=0), "poll_interval", "0",
        group="hoody"),
    # Aimed at the stopped container: were it accepted, the module must not sleep 10**12 s between polls.
    row("hoody-poll-interval-huge", "container_state", _state(H_STOP, poll_interval=HUGE),
        "poll_interval", str(HUGE), group="hoody"),
    row("hoody-parallel-huge", "container_info", {"name": [H_RUN, H_STOP], "parallel": 10**6},
        "parallel", str(10**6), group="hoody"),
    row("hoody-config-env-nested", CONFIG, {"name": H_STOP, "environment_vars": {"A": {"b": "c"}}},
        "environment_vars.A", group="hoody"),
    row("hoody-config-env-list", CONFIG, {"name": H_STOP, "environment_vars": {"A": [1, 2]}},
        "environment_vars.A", group="hoody"),
    row("hoody-config-env-int-key", CONFIG, {"name": H_STOP, "environment_vars": {1: "a"}},
        "environment_vars", group="hoody"),
    row("hoody-config-env-empty-key", CONFIG, {"name": H_STOP, "environment_vars": {"": "a"}},
        "environment_vars", group="hoody"),
    row("hoody-config-env-equals-in-key", CONFIG, {"name": H_STOP, "environment_vars": {"A=B": "a"}},
        "environment_vars", "A=B", group="hoody"),
    row("hoody-config-resources", CONFIG, {"name": H_STOP, "resources": {"memory": "1g"}}, "resources",
        group="hoody"),
    # Checked before any request: the allowed form is the documented one, not the server's pattern.
    row("hoody-alias-uppercase", ALIAS, {"name": H_RUN, "alias": "Web_1"}, "alias", "Web_1", HOODY_ALIAS_FORM,
        group="hoody"),
    row("hoody-alias-too-short", ALIAS, {"name": H_RUN, "alias": "ab"}, "alias", "'ab'", HOODY_ALIAS_FORM,
        group="hoody"),
    row("hoody-alias-port-too-big", ALIAS, {"name": H_RUN, "alias": "bi-web", "port": 70000}, "port", "70000",
        group="hoody"),
    row("hoody-alias-index-huge", ALIAS, {"name": H_RUN, "alias": "bi-web", "index": HUGE}, "index", str(HUGE),
        group="hoody"),
    row("hoody-alias-program-empty", ALIAS, {"name": H_RUN, "alias": "bi-web", "program": ""}, "program",
        group="hoody"),
    row("hoody-alias-target-path-traversal", ALIAS,
        {"name": H_RUN, "alias": "bi-web", "target_path": "../../etc"}, "target_path", group="hoody"),
    row("hoody-snapshot-alias-empty", SNAP, {"name": H_STOP, "alias": ""}, "alias", group="hoody"),
]

# Through the suite's Podman service: what is Podman's own (its address, what 4.3 cannot change), and the
# selections that must never widen.
PODMAN_NO_SOCKET = "unix:///tmp/bi-no-such-podman.sock"
PODMAN_ROWS = [
    *_rest_names("podman", "podman", P_RUN, P_STOP, P_VICTIM,
                 [("dotdot", "container_info", "../x"), ("question-mark", "container_state", "x?y"),
                  ("hash", LOGS, "x#y")]),
    row("podman-filters-label-empty-string", "container_state", {"filters": {"label": [""]}, "state": "stopped"},
        "filters.label", group="podman", gated=True, watch=(P_RUN, P_VICTIM)),
    row("podman-state-unknown-name", "container_state", _state("bi-nope", "started"), "bi-nope", NOT_FOUND,
        group="podman"),
    row("podman-logs-unknown-name", LOGS, {"name": "bi-nope-logs"}, "bi-nope-logs", NOT_FOUND, group="podman"),
    row("podman-host-ftp", "container_info", {"name": P_RUN, "podman_host": "ftp://x"}, "podman_host", "ftp://x",
        group="podman"),
    row("podman-host-missing-socket", "container_info", {"name": P_RUN, "podman_host": PODMAN_NO_SOCKET, "retries": 0},
        f"cannot reach the Podman service at {PODMAN_NO_SOCKET}", "no such socket file", "podman_host",
        group="podman"),
    row("podman-host-from-environment", "container_info", {"name": P_RUN, "podman_host": None, "retries": 0},
        f"{PODMAN_NO_SOCKET} (podman_host, from CONTAINER_HOST)", "no such socket file", group="podman",
        env=(("CONTAINER_HOST", PODMAN_NO_SOCKET),)),
    row("podman-timeout-huge", "container_info", {"name": P_RUN, "timeout": HUGE}, "timeout", str(HUGE),
        group="podman"),
    row("podman-stop-timeout-negative", "container_state", _state(P_RUN, stop_timeout=-1), "stop_timeout", "-1",
        group="podman"),
    # Podman 4.3 cannot keep a changed restart policy: refused before anything changes.
    row("podman-config-autostart", CONFIG, {"name": P_RUN, "autostart": True}, "autostart", "podman",
        group="podman", watch=(P_RUN,)),
    row("podman-alias-network-unknown", ALIAS, {"name": P_RUN, "alias": "bi-web", "network": "bi-no-net"},
        "bi-no-net", NOT_FOUND, group="podman"),
    row("podman-snapshot-restore-unknown-alias", SNAP, {"name": P_STOP, "alias": "bi-none", "state": "restored"},
        "bi-none", group="podman", watch=(P_STOP,)),
]

DOCKHAND_ROWS = [
    *_rest_names("dockhand", "dockhand", K_RUN, K_STOP, K_VICTIM,
                 [("hash", "container_info", "x#y"), ("space", LOGS, "a b"),
                  ("leading-dash", "container_state", "-x")]),
    row("dockhand-filters-label-empty-list", "container_state", {"filters": {"label": []}, "state": "absent"},
        "filters.label", group="dockhand", gated=True, watch=(K_RUN, K_STOP)),
    row("dockhand-filters-status-empty-list", "container_state", {"filters": {"status": []}, "state": "stopped"},
        "filters.status", group="dockhand", gated=True, watch=(K_RUN,)),
    row("dockhand-password-missing", "container_info", {"name": K_RUN, "api_password": None}, "api_password",
        group="dockhand"),
    row("dockhand-username-missing", "container_info", {"name": K_RUN, "api_username": None}, "api_username",
        group="dockhand"),
    row("dockhand-environment-negative", "container_info", {"name": K_RUN, "api_environment": -1},
        "api_environment", "-1", group="dockhand"),
    row("dockhand-environment-not-int", "container_info", {"name": K_RUN, "api_environment": "prod"},
        "api_environment", group="dockhand"),
    row("dockhand-environment-unknown", "container_info", {"name": K_RUN, "api_environment": 999},
        "api_environment", "999", group="dockhand"),
    row("dockhand-api-url-no-host", "container_info", {"name": K_RUN, "api_url": "http://"}, "api_url",
        group="dockhand"),
    row("dockhand-client-key-without-cert", "container_info", {"name": K_RUN, "client_key": CERT_FILE},
        "client_key", "client_cert", group="dockhand"),
    row("dockhand-validate-certs-not-bool", "container_info", {"name": K_RUN, "validate_certs": "sometimes"},
        "validate_certs", group="dockhand"),
    row("dockhand-timeout-zero", "container_info", {"name": K_RUN, "timeout": 0}, "timeout", "0",
        group="dockhand"),
    row("dockhand-stop-timeout-huge", "container_state", _state(K_RUN, stop_timeout=HUGE),
        "stop_timeout", str(HUGE), group="dockhand"),
]

ROWS: list[Row] = (CONNECTION_ROWS + UNREACHABLE_ROWS + TARGET_ROWS + STATE_ROWS + LOGS_ROWS + CONFIG_ROWS
                   + SNAPSHOT_ROWS + ALIAS_ROWS + HOODY_ROWS + DOCKHAND_ROWS + PODMAN_ROWS)

assert len({r.id for r in ROWS}) == len(ROWS), "row ids must be unique"
