"""Event-Driven Ansible on real parts: the real ansible-rulebook (Drools on Java 17) runs the autoheal rulebook
(``extensions/eda/rulebooks/autoheal.yml``) with the source ``containerops.lifecycle.container_events`` from the
installed collection, against the real Docker engine; the source alone follows a private dockerd that is killed
and started again, and the Dockhand test server's activity log.

One ansible-rulebook process serves the module (the JVM starts slowly), on the suite's engine, for the whole module:
a test that starts a rulebook of its own runs it on the private engine (or Podman), where the module's cannot act on
its containers too. The module's rulebook runs its actions one after the other
(the default), so "left alone" is proven without fixed sleeps: after the event a wrong rule would have acted on
has come, a labelled sentinel is crashed; once the sentinel runs again, any action queued before its own has run.
Crash-to-running times are written to ``.build/eda-heal-times.json``.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import http.server
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from typing import Any, Callable, Optional

import docker
import pytest

from tests.integration.conftest import DOCKHAND_PASSWORD, DOCKHAND_USER, HOODY_TOKEN, IMAGE
from tests.integration.private_engine import private_engine_fixture  # noqa: F401 - the fixture, found here by pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RULEBOOK = os.path.join(ROOT, "extensions", "eda", "rulebooks", "autoheal.yml")
TIMES = os.path.join(ROOT, ".build", "eda-heal-times.json")
AUTOHEAL = {"containerops.autoheal": "true"}
LOOP = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
START_WAIT = 120  # the JVM and the rule engine start slowly on 2 cores
# How long a heal may take before the test says it never came: a bound on liveness, not a speed target. A heal takes
# about 3 s on an idle machine, and 26 s was seen in CI with three suites on two cores (the playbook's Python starts
# slowly there). Speed is measured: the times files below, and benchmarks/autoheal.py for bursts.
HEAL_BOUND = 120
RUNS = 5


# ------------------------------------------------------------------------------------------ ansible-rulebook


class Rulebook:
    """A running ansible-rulebook and what it printed; ``events`` are its ``--print-events`` blocks, parsed."""

    #: Where the rulebook appends its reports (``autoheal_log_file``), when it was given one.
    log_file: Any = None

    #: A line of an event's ``pprint`` (``{...``, or indented and opening a key or a string), as opposed to a line of
    #: a playbook's output printed in between (ansible-rulebook prints an event's banner, header and body with
    #: separate writes, and the playbooks it runs print meanwhile).
    EVENT_LINE = re.compile(r"\{|\s+['\"{]")

    def __init__(self, process: subprocess.Popen) -> None:
        self.process = process
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            with self._lock:
                self.lines.append(line)

    @property
    def output(self) -> str:
        with self._lock:
            return "".join(self.lines)

    def events(self, name: Optional[str] = None) -> list[dict[str, Any]]:
        """The ``containerops`` events printed (``--print-events``: ``Event:``, its ``pprint``, a line of ``*``)."""
        found = []
        lines = self.output.splitlines()
        for start, line in enumerate(lines):
            if line != "Event:":
                continue
            body = []
            for following in lines[start + 1 :]:
                if following.startswith("*" * 20):
                    break
                if self.EVENT_LINE.match(following) and not following.lstrip().startswith('"'):
                    body.append(following)
            with contextlib.suppress(ValueError, SyntaxError):
                event = ast.literal_eval("\n".join(body)).get("containerops")
                if event is not None:
                    found.append(event)
        return [e for e in found if name is None or e["name"] == name]

    def wait_for(self, what: str, done: Callable[[], Any], timeout: float = 60) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = done()
            if result:
                return result
            if self.process.poll() is not None:
                pytest.fail(f"ansible-rulebook ended ({self.process.returncode}) waiting for {what}:\n{self.output}")
            time.sleep(0.05)
        pytest.fail(f"no {what} within {timeout}s; ansible-rulebook printed:\n{self.output[-6000:]}")

    def wait_event(self, name: str, operation: str, timeout: float = 30) -> dict[str, Any]:
        return self.wait_for(
            f"{operation} event of {name}",
            lambda: next((e for e in self.events(name) if e["operation"] == operation), None),
            timeout,
        )

    def stop(self) -> None:
        """End the rulebook and the playbooks it started: ansible-runner starts each in a session of its own, so
        they are not in the rulebook's process group and would outlive it (and act on the next test's engine)."""
        playbooks = descendants(self.process.pid)
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        for pid in playbooks:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self._reader.join(timeout=5)


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``, whatever its session, from the parent links in /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry))
    found, pending = [], [pid]
    while pending:
        below = children.get(pending.pop(), [])
        found.extend(below)
        pending.extend(below)
    return found


def rulebook_environment() -> dict[str, str]:
    """The venv's tools first, the collection where Ansible (and so ansible-rulebook) finds it, no colours."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    if not env.get("ANSIBLE_COLLECTIONS_PATH"):
        env["ANSIBLE_COLLECTIONS_PATH"] = os.path.join(ROOT, ".build", "pytest-tree")  # the checkout, by conftest.py
    env.setdefault("ANSIBLE_PYTHON_INTERPRETER", sys.executable)
    env.update(ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", PYTHONUNBUFFERED="1")
    for variable in ("CONTAINEROPS_BACKEND", "DOCKER_TLS", "DOCKER_TLS_VERIFY"):  # the local engine, plainly
        env.pop(variable, None)
    return env


def launch(
    workdir,
    *args: str,
    variables: Optional[dict[str, str]] = None,
    docker_host: Optional[str] = None,
    podman_host: Optional[str] = None,
) -> Rulebook:
    """``ansible-rulebook -r extensions/eda/rulebooks/autoheal.yml`` in ``workdir``, its cursor file there too, and
    ``variables`` for the rulebook besides; on the engine at ``docker_host`` when given, or on the Podman service at
    ``podman_host`` (the rulebook as shipped: the backend and its address from the environment, as a user sets it)."""
    env = rulebook_environment()
    if docker_host:
        env["DOCKER_HOST"] = docker_host
    if podman_host:
        env.update(CONTAINEROPS_BACKEND="podman", CONTAINER_HOST=podman_host)
    executable = shutil.which("ansible-rulebook", path=env["PATH"])
    assert executable, "ansible-rulebook is not installed: `make venv` installs it (tests/requirements.txt)"
    assert shutil.which("java", path=env["PATH"]) or env.get("JAVA_HOME"), (
        "ansible-rulebook needs Java 17: apt-get install -y openjdk-17-jre-headless (make setup does, as root)"
    )
    inventory = workdir / "inventory.yml"
    inventory.write_text(f"all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
                         f"      ansible_python_interpreter: {env['ANSIBLE_PYTHON_INTERPRETER']}\n")  # fmt: skip
    variables_file = workdir / "vars.yml"  # the user's own cursor file (the rulebook's default) is never touched
    variables_file.write_text(
        json.dumps(
            {
                "autoheal_cursor_file": str(workdir / "cursor.json"),
                "autoheal_heals_file": str(workdir / "heals.json"),
                **(variables or {}),
            }
        )
    )
    process = subprocess.Popen(
        [executable, "-r", RULEBOOK, "-i", str(inventory), "--vars", str(variables_file), "--print-events", *args],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    return Rulebook(process)


def wait_ready(running: Rulebook, engine, canary: str) -> None:
    """Until the source emits: it subscribes some time after the JVM is up and emits only what happens after that,
    so restart a canary (an operation, never healed) until its event comes."""
    with contextlib.suppress(docker.errors.NotFound):
        engine.containers.get(canary).remove(force=True)
    started = time.monotonic()
    container = engine.containers.run(IMAGE, LOOP, name=canary, labels=AUTOHEAL, detach=True)
    poked = 0.0

    def ready() -> bool:
        nonlocal poked
        if running.events(canary):
            return True
        if time.monotonic() - poked > 3:
            container.restart(timeout=0)
            poked = time.monotonic()
        return False

    try:
        running.wait_for("the source's first event", ready, timeout=START_WAIT)
    finally:
        container.remove(force=True)
    print(f"ansible-rulebook ready after {time.monotonic() - started:.1f}s")


class Webhook:
    """An HTTP endpoint on 127.0.0.1 that keeps the JSON bodies POSTed to it; it refuses (500) a report on a container
    whose name starts with ``eda-refused``. ``url`` holds a token, as real webhook URLs do."""

    TOKEN = "hook-token-5b2f9c"

    def __init__(self) -> None:
        self.reports: list[dict[str, Any]] = []
        reports = self.reports

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                reports.append(body)
                self.send_response(500 if body["name"].startswith("eda-refused") else 204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/{self.TOKEN}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def about(self, name: str) -> list[str]:
        return [report["report"] for report in self.reports if report["name"] == name]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def webhook():
    hook = Webhook()
    yield hook
    hook.close()


@pytest.fixture(scope="module")
def rulebook(engine, tmp_path_factory, webhook):
    """``ansible-rulebook -r extensions/eda/rulebooks/autoheal.yml``, ready: it has seen a canary's start. Its
    reports also go to ``webhook`` and to the log file ``running.log_file``."""
    workdir = tmp_path_factory.mktemp("eda")
    log_file = workdir / "reports" / "autoheal.jsonl"
    running = launch(workdir, variables={"autoheal_webhook_url": webhook.url, "autoheal_log_file": str(log_file)})
    running.log_file = log_file
    try:
        wait_ready(running, engine, "eda-canary")
        yield running
    finally:
        running.stop()


def labelled(make_containers, *names: str, labels: Optional[dict[str, str]] = None) -> list:
    """Running containers (``make_containers`` removes them afterwards)."""
    client = docker.from_env()
    containers = []
    for name in make_containers(*names, labels=AUTOHEAL if labels is None else labels, command=LOOP):
        container = client.containers.get(name)
        container.start()
        container.reload()
        containers.append(container)
    return containers


def crash(container) -> float:
    """``kill -9`` of the container's process from the host, as a crash looks to the engine; when it happened."""
    container.reload()
    pid = container.attrs["State"]["Pid"]
    assert pid > 0, f"{container.name} is not running"
    os.kill(pid, signal.SIGKILL)
    return time.monotonic()


def wait_running_again(rulebook: Rulebook, container, started_at: str, crashed: float) -> float:
    """Seconds from the crash until the container runs a new run."""

    def runs_again() -> Optional[float]:
        container.reload()
        state = container.attrs["State"]
        if state["Running"] and state["StartedAt"] != started_at:
            return time.monotonic() - crashed
        return None

    return rulebook.wait_for(f"{container.name} running again", runs_again, timeout=HEAL_BOUND)


def heal_once(rulebook: Rulebook, container) -> float:
    container.reload()
    started_at = container.attrs["State"]["StartedAt"]
    crashed = crash(container)
    return wait_running_again(rulebook, container, started_at, crashed)


def said(rulebook: Rulebook, name: str) -> list[str]:
    """The playbook's report lines for ``name``."""
    return re.findall(rf'"msg": "(autoheal: {re.escape(name)} \(.*?)"', rulebook.output)


# ------------------------------------------------------------------------------------------ the rulebook


def test_a_crashed_labelled_container_runs_again_within_a_bounded_time(rulebook, make_containers):
    containers = labelled(make_containers, *(f"eda-heal-{n}" for n in range(1, RUNS + 1)))
    times = []
    for container in containers:
        times.append(heal_once(rulebook, container))
        wait_heal_ended(rulebook, container.name)
    for container in containers:
        crashed = [e for e in rulebook.events(container.name) if e["operation"] == "exit"]
        assert len(crashed) == 1 and crashed[0]["exit_code"] == 137 and crashed[0]["to_status"] == "stopped"
        report = said(rulebook, container.name)[0]
        assert "(exit, exit code 137); started again: running after" in report, report
    os.makedirs(os.path.dirname(TIMES), exist_ok=True)
    with open(TIMES, "w") as handle:
        json.dump({"crash_to_running_s": [round(t, 2) for t in times]}, handle)
    print("crash to running again, s:", ", ".join(f"{t:.2f}" for t in times))


def test_an_operator_stop_or_kill_is_left_alone(rulebook, make_containers):
    stopped, killed, sentinel = labelled(make_containers, "eda-op-stop", "eda-op-kill", "eda-sentinel-op")
    stopped.stop(timeout=5)  # docker stop: SIGTERM through the engine
    killed.kill()  # docker kill: SIGKILL through the engine, exit code 137 like a crash
    assert rulebook.wait_event("eda-op-stop", "stop")["exit_code"] == 0
    assert rulebook.wait_event("eda-op-kill", "force-stop")["exit_code"] == 137
    heal_once(rulebook, sentinel)
    rulebook.wait_for("the report on the sentinel", lambda: said(rulebook, "eda-sentinel-op"))
    for container in (stopped, killed):
        container.reload()
        assert container.status == "exited", container.name
        assert not said(rulebook, container.name)
        assert f"autoheal: {container.name} stopped unexpectedly" not in rulebook.output


def test_an_unlabelled_container_gives_no_event(rulebook, make_containers):
    (plain,) = labelled(make_containers, "eda-unlabelled", labels={})
    (sentinel,) = labelled(make_containers, "eda-sentinel-plain")
    crash(plain)
    heal_once(rulebook, sentinel)
    assert rulebook.events("eda-sentinel-plain"), "the sentinel's events came"
    assert rulebook.events("eda-unlabelled") == []
    plain.reload()
    assert plain.status == "exited"


def test_a_second_crash_within_the_window_is_reported_but_not_healed(rulebook, make_containers):
    container, sentinel = labelled(make_containers, "eda-throttled", "eda-sentinel-throttle")
    heal_once(rulebook, container)
    rulebook.wait_for("the report on the first heal", lambda: said(rulebook, "eda-throttled"))
    crash(container)
    rulebook.wait_for("the second crash's report",
                      lambda: rulebook.output.count("autoheal: eda-throttled stopped unexpectedly") == 2)  # fmt: skip
    heal_once(rulebook, sentinel)
    rulebook.wait_for("the report on the sentinel", lambda: said(rulebook, "eda-sentinel-throttle"))
    container.reload()
    assert container.status == "exited"
    assert len(said(rulebook, "eda-throttled")) == 1


def reported(log_file, name: str) -> list[str]:
    """The kinds of the reports on ``name`` in a rulebook's log file (``autoheal_log_file``): read whole, unlike the
    console, where ansible-rulebook may print an event in the middle of a playbook's line."""
    lines = log_file.read_text().splitlines() if log_file.exists() else []
    return [report["report"] for report in map(json.loads, lines) if report["name"] == name]


def logged(rulebook: Rulebook, name: str) -> list[str]:
    """The kinds of the reports on ``name`` in the rulebook's log file."""
    return reported(rulebook.log_file, name)


def wait_heal_ended(rulebook: Rulebook, name: str) -> None:
    """Until the heal's playbook has appended its report on ``name`` to the log file, its last work: the rulebook
    runs one action at a time, so a heal measured next is not queued behind this one's webhook post and log."""
    rulebook.wait_for(f"the report on {name} in the log file", lambda: logged(rulebook, name) == ["healed"])


def test_each_heal_and_give_up_goes_to_the_webhook_and_the_log_file_and_a_refusal_is_said(
    rulebook, webhook, make_containers
):
    container, refused = labelled(make_containers, "eda-reported", "eda-refused-hook")
    heal_once(rulebook, container)
    # The heal's report first: a crash while its playbook still checks the start would make the heal a failure.
    rulebook.wait_for("the heal's report", lambda: webhook.about("eda-reported") == ["healed"])
    crash(container)  # again within the window: given up on
    rulebook.wait_for("the give-up's report", lambda: webhook.about("eda-reported") == ["healed", "given_up"])
    rulebook.wait_for("the log file's", lambda: logged(rulebook, "eda-reported") == ["healed", "given_up"])
    healed = next(report for report in webhook.reports if report["name"] == "eda-reported")
    assert healed["exit_code"] == 137 and healed["status"] == "running" and healed["operation"] == "exit", healed
    assert healed["message"] == said(rulebook, "eda-reported")[0], healed
    heal_once(rulebook, refused)  # healed although the webhook refuses the report
    rulebook.wait_for("the refusal said", lambda: "the webhook did not take the report on eda-refused-hook: HTTP 500"
                      in rulebook.output)  # fmt: skip
    rulebook.wait_for(
        "its report in the log file all the same", lambda: logged(rulebook, "eda-refused-hook") == ["healed"]
    )
    assert Webhook.TOKEN not in rulebook.output


# ------------------------------------------------------------------------------------------ health checks

# A health check over a marker file: on the tmpfs /run, a restart removes it (the restart heals); on the container's
# own filesystem (/sick), it survives every restart (nothing heals it).
HEALTHCHECK = {"test": ["CMD-SHELL", "test ! -e /run/sick && test ! -e /sick"], "interval": 10**9, "retries": 1}
HEALTH_TIMES = os.path.join(ROOT, ".build", "eda-health-heal-times.json")


def with_health_check(make_containers, *names: str, labels: Optional[dict[str, str]] = None) -> list:
    """Running containers with ``HEALTHCHECK``, healthy."""
    client = docker.from_env()
    containers = []
    for name in make_containers(*names, labels=AUTOHEAL if labels is None else labels, command=LOOP,
                                healthcheck=HEALTHCHECK, tmpfs={"/run": ""}):  # fmt: skip
        container = client.containers.get(name)
        container.start()
        containers.append(container)
    for container in containers:
        wait_health(container, "healthy")
    return containers


def health_of(container) -> Optional[str]:
    container.reload()
    return (container.attrs["State"].get("Health") or {}).get("Status")


def wait_health(container, verdict: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while health_of(container) != verdict:
        assert time.monotonic() < deadline, f"{container.name} did not turn {verdict} within {timeout}s"
        time.sleep(0.1)


def sicken(container, marker: str = "/run/sick") -> str:
    """Make the health check fail; the run it fails in (``StartedAt``)."""
    container.reload()
    started_at = container.attrs["State"]["StartedAt"]
    container.exec_run(["touch", marker])
    return started_at


def engine_seconds(text: str) -> float:
    """An engine time (RFC 3339, nanoseconds) as epoch seconds."""
    from ansible_collections.containerops.lifecycle.plugins.module_utils._docker_events import engine_ns

    return engine_ns(text) / 1e9


def unhealthy_events(rulebook: Rulebook, container) -> list[dict[str, Any]]:
    return [e for e in rulebook.events(container.name) if e["operation"] == "health" and e["health"] == "unhealthy"]


def healed_reports(rulebook: Rulebook, name: str) -> list[str]:
    """The playbook's reports of ``name``'s health heals."""
    return [report for report in said(rulebook, name) if "turned unhealthy" in report]


def test_an_unhealthy_labelled_container_is_restarted_and_an_unlabelled_one_left_alone(rulebook, make_containers):
    (plain,) = with_health_check(make_containers, "eda-health-plain", labels={})
    containers = with_health_check(make_containers, *(f"eda-health-{n}" for n in range(1, RUNS + 1)))
    plain_started = sicken(plain)
    wait_health(plain, "unhealthy")
    times = []
    for container in containers:
        started_at = sicken(container)

        def restarted(c=container, before=started_at) -> Optional[str]:
            c.reload()
            state = c.attrs["State"]
            return state["StartedAt"] if state["Running"] and state["StartedAt"] != before else None

        new_start = rulebook.wait_for(f"{container.name} restarted", restarted, timeout=HEAL_BOUND)
        unhealthy = rulebook.wait_for("the unhealthy event", lambda c=container: unhealthy_events(rulebook, c))[0]
        assert unhealthy["to_status"] == "running" and unhealthy["from_status"] == "running"
        times.append(engine_seconds(new_start) - engine_seconds(unhealthy["transition_time"]))
        wait_heal_ended(rulebook, container.name)
        wait_health(container, "healthy")  # the restart healed it: /run is a fresh tmpfs
    for container in containers:
        report = healed_reports(rulebook, container.name)
        assert len(report) == 1 and "; restarted: running and healthy after" in report[0], report
        verdicts = [e["health"] for e in rulebook.events(container.name) if e["operation"] == "health"]
        assert verdicts == ["healthy", "unhealthy", "healthy"], verdicts  # started, sickened, restarted
    # The unlabelled one turned unhealthy before any of them: had its event passed, it would have been acted on first.
    assert rulebook.events("eda-health-plain") == []
    plain.reload()
    assert plain.attrs["State"]["StartedAt"] == plain_started and health_of(plain) == "unhealthy"
    os.makedirs(os.path.dirname(HEALTH_TIMES), exist_ok=True)
    ordered = sorted(times)
    with open(HEALTH_TIMES, "w") as handle:
        json.dump({"unhealthy_to_running_s": [round(t, 2) for t in times],
                   "p50": round(ordered[len(ordered) // 2], 2), "max": round(ordered[-1], 2)}, handle)  # fmt: skip
    print("unhealthy to running again, s:", ", ".join(f"{t:.2f}" for t in times))


def test_a_container_that_keeps_turning_unhealthy_is_restarted_once_then_given_up_loudly(rulebook, make_containers):
    (container,) = with_health_check(make_containers, "eda-health-hopeless")
    (sentinel,) = labelled(make_containers, "eda-sentinel-health")
    first_run = sicken(container, "/sick")  # survives the restart: unhealthy again right after it
    rulebook.wait_for("the give-up", lambda: "autoheal: GIVING UP on eda-health-hopeless" in rulebook.output,
                      timeout=HEAL_BOUND)  # fmt: skip
    heal_once(rulebook, sentinel)  # every action queued before the sentinel's has run
    rulebook.wait_for("the report on the sentinel", lambda: said(rulebook, "eda-sentinel-health"))
    verdicts = [e["health"] for e in rulebook.events("eda-health-hopeless") if e["operation"] == "health"]
    assert verdicts[:3] == ["healthy", "unhealthy", "unhealthy"] and "healthy" not in verdicts[1:], verdicts
    restarts = [e for e in rulebook.events("eda-health-hopeless") if e["operation"] == "restart"]
    assert len(restarts) == 1, "restarted once, then the rate limit holds"
    failed_heal = r"autoheal: eda-health-hopeless \(\w+\) turned unhealthy at [^;]+; restarted, but not healthy again"
    assert re.search(failed_heal + r": .*its health check reports unhealthy", rulebook.output), rulebook.output[-4000:]
    give_up = re.findall(r"autoheal: GIVING UP on eda-health-hopeless \(\w+\): it turned unhealthy again at \S+",
                         rulebook.output.replace("\n", " "))  # fmt: skip
    assert len(give_up) == 1, rulebook.output[-4000:]
    container.reload()
    assert container.attrs["State"]["Running"] and container.attrs["State"]["StartedAt"] != first_run


# ------------------------------------------------------------------------------------------ stopped and started again

RESUME_TIMES = os.path.join(ROOT, ".build", "eda-resume-times.json")


def test_crashes_while_the_rulebook_was_stopped_are_healed_when_it_starts_again_and_nothing_comes_twice(
    private_engine, tmp_path
):
    # On the private engine: the module's rulebook follows the suite's engine and would heal these containers too
    # (its reports going to its own log file), racing the rulebook under test.
    private_engine.ensure_running()
    private_engine.remove_containers("eda-")
    client = docker.DockerClient(base_url=private_engine.host, version="1.41")
    containers = [client.containers.run(IMAGE, LOOP, name=f"eda-away-{n}", labels=AUTOHEAL, detach=True)
                  for n in range(1, 6)]  # fmt: skip
    before = launch(tmp_path, docker_host=private_engine.host)
    log_file = tmp_path / "reports.jsonl"
    after = None
    try:
        try:
            wait_ready(before, client, "eda-away-canary")
            heal_once(before, containers[0])  # healed while it runs: its exit and start are in the cursor
            before.wait_for("the report on the first heal", lambda: said(before, "eda-away-1"))
            before.process.send_signal(signal.SIGINT)  # Ctrl-C
            assert before.process.wait(timeout=60) is not None
        finally:
            before.stop()
        assert (tmp_path / "cursor.json").exists()
        runs = {}
        for container in containers:
            container.reload()
            runs[container.name] = container.attrs["State"]["StartedAt"]
            crash(container)
        crashed = time.monotonic()
        after = launch(tmp_path, docker_host=private_engine.host, variables={"autoheal_log_file": str(log_file)})
        started = time.monotonic()

        def all_running_again() -> bool:
            for container in containers:
                container.reload()
                state = container.attrs["State"]
                if not state["Running"] or state["StartedAt"] == runs[container.name]:
                    return False
            return True

        after.wait_for("every container crashed while away running again", all_running_again, timeout=START_WAIT)
        healed = time.monotonic()
        for container in containers:
            after.wait_for(f"the report on {container.name}", lambda c=container: reported(log_file, c.name))
    finally:
        if after is not None:
            after.stop()
        private_engine.remove_containers("eda-")
        client.close()
    earlier = {e["record_id"] for e in before.events()}
    later = [e["record_id"] for e in after.events()]
    assert len(later) == len(set(later)), "an event came twice after the restart"
    assert not earlier & set(later), f"emitted before and again after: {sorted(earlier & set(later))}"
    for container in containers:
        exits = [e for e in after.events(container.name) if e["operation"] == "exit"]
        assert len(exits) == 1 and exits[0]["exit_code"] == 137, exits
        assert reported(log_file, container.name) == ["healed"]
    first_heal = [e["operation"] for e in before.events("eda-away-1")]
    assert first_heal.count("exit") == 1
    times = {"rulebook_start_to_all_running_s": round(healed - started, 2),
             "crash_to_all_running_s": round(healed - crashed, 2), "containers": len(containers)}  # fmt: skip
    os.makedirs(os.path.dirname(RESUME_TIMES), exist_ok=True)
    with open(RESUME_TIMES, "w") as handle:
        json.dump(times, handle)
    print("resumed heal:", times)


# ------------------------------------------------------------------------------------------ engine restarts

TRAPPING = LOOP  # exits 0 on the engine's SIGTERM
IGNORING = ["sh", "-c", "while true; do sleep 0.2; done"]  # PID 1 ignores SIGTERM: the engine's SIGKILL ends it (137)


def restart_engine(private, graceful: bool) -> float:
    """Restart the private dockerd: SIGTERM (it stops its containers, then exits) or SIGKILL (it stops them as it
    comes back); when it answers again."""
    if graceful:
        os.kill(private.pid, signal.SIGTERM)
        private.process.wait(timeout=60)
    else:
        private.kill()
    time.sleep(1)
    private.start()
    return time.monotonic()


def test_containers_an_engine_restart_took_down_run_again_and_a_users_stop_stays(private_engine, tmp_path):
    private_engine.ensure_running()
    private_engine.remove_containers("eda-")
    client = docker.DockerClient(base_url=private_engine.host, version="1.41")
    rulebook = launch(tmp_path, docker_host=private_engine.host)

    def run(name: str, command: list[str]):
        client.api.create_container(IMAGE, command, name=name, labels=AUTOHEAL, stop_timeout=2)
        client.api.start(name)
        return client.containers.get(name)

    try:
        wait_ready(rulebook, client, "eda-er-canary")
        user = run("eda-er-user", LOOP)
        user.stop(timeout=5)
        rulebook.wait_event("eda-er-user", "stop")
        time.sleep(16)  # the user's stop is older than a shutdown's stops can be (15 s): the engine's are told apart
        times = {}
        for how, graceful in (("killed", False), ("graceful", True)):  # new containers: the rate limit is per container
            healed = [run(f"eda-er-{how}-trapping", TRAPPING), run(f"eda-er-{how}-ignoring", IGNORING)]
            for container in healed:
                rulebook.wait_event(container.name, "start")
            runs = {c.name: c.attrs["State"]["StartedAt"] for c in healed}
            back = restart_engine(private_engine, graceful)

            def all_running_again(healed=healed, runs=runs) -> bool:
                for container in healed:
                    container.reload()
                    state = container.attrs["State"]
                    if not state["Running"] or state["StartedAt"] == runs[container.name]:
                        return False
                return True

            rulebook.wait_for(f"every container the {how} engine took down running again", all_running_again,
                              timeout=60)  # fmt: skip
            times[how] = round(time.monotonic() - back, 2)
            for container in healed:
                missed = [e for e in rulebook.events(container.name) if e["triggered_by"] == "engine"
                          and e["operation"] in ("engine-stop", "exit")]  # fmt: skip
                assert len(missed) == 1 and missed[0]["record_id"].endswith("-reconciled"), missed
            ignoring = [e for e in rulebook.events(f"eda-er-{how}-ignoring") if e["operation"] == "engine-stop"]
            assert [e["exit_code"] for e in ignoring] == [137], ignoring  # SIGTERM ignored, the engine's SIGKILL
            for container in healed:
                container.remove(force=True)
        user.reload()
        assert user.status == "exited", "a user's stop stays"
        assert [e["operation"] for e in rulebook.events("eda-er-user")] == ["create", "start", "stop"]
        assert "stopped unexpectedly" not in "".join(line for line in rulebook.lines if "eda-er-user" in line)
        print("engine back to all running again, s:", times)
    finally:
        rulebook.stop()
        private_engine.ensure_running()
        private_engine.remove_containers("eda-")
        client.close()


# ------------------------------------------------------------------------------------------ bursts

BURST = 20
IDLE = ["sh", "-c", "trap 'exit 0' TERM; sleep 1000000 & wait"]  # spawns nothing while it runs


def test_a_burst_of_crashes_is_healed_by_a_few_playbook_runs(private_engine, tmp_path):
    private_engine.ensure_running()
    private_engine.remove_containers("eda-")
    client = docker.DockerClient(base_url=private_engine.host, version="1.41")
    log_file = tmp_path / "reports.jsonl"
    rulebook = launch(tmp_path, docker_host=private_engine.host, variables={"autoheal_log_file": str(log_file)})
    try:
        wait_ready(rulebook, client, "eda-burst-canary")
        containers = [client.containers.run(IMAGE, IDLE, name=f"eda-burst-{n}", labels=AUTOHEAL, detach=True)
                      for n in range(BURST)]  # fmt: skip
        for container in containers:
            rulebook.wait_event(container.name, "start")
            container.reload()
        runs = {c.name: c.attrs["State"]["StartedAt"] for c in containers}
        plays = rulebook.output.count("PLAY [Autoheal")
        crashed = time.monotonic()
        for container in containers:
            os.kill(container.attrs["State"]["Pid"], signal.SIGKILL)

        def all_running_again() -> bool:
            for container in containers:
                container.reload()
                state = container.attrs["State"]
                if not state["Running"] or state["StartedAt"] == runs[container.name]:
                    return False
            return True

        rulebook.wait_for(f"the {BURST} crashed containers running again", all_running_again, timeout=120)
        healed = time.monotonic() - crashed
        for container in containers:
            rulebook.wait_for(f"the report on {container.name}", lambda c=container: reported(log_file, c.name))
        runs_taken = rulebook.output.count("PLAY [Autoheal") - plays
        print(f"{BURST} simultaneous crashes all running again after {healed:.1f} s, {runs_taken} playbook runs")
        assert runs_taken <= BURST // 4, f"{runs_taken} playbook runs for {BURST} crashes"
        for container in containers:
            assert reported(log_file, container.name) == ["healed"], container.name
    finally:
        rulebook.stop()
        private_engine.remove_containers("eda-")
        client.close()


# ------------------------------------------------------------------------------------------ podman


@pytest.mark.podman
def test_on_podman_a_crash_is_healed_an_unhealthy_container_restarted_and_a_users_stop_left_alone(
    podman_service, make_podman_containers, tmp_path
):
    """The shipped rulebook and playbook, unchanged, on the suite's Podman service: nothing runs Podman's health
    checks here (no systemd), so the test runs them (``podman healthcheck run``), as a timer would."""
    client = podman_service.client
    make_podman_containers("eda-pm-crash", "eda-pm-stop", labels=AUTOHEAL, command=LOOP)
    make_podman_containers("eda-pm-sick", labels=AUTOHEAL, command=LOOP, healthcheck=HEALTHCHECK, tmpfs={"/run": ""})
    crashing, stopping, sick = (client.containers.get(name) for name in ("eda-pm-crash", "eda-pm-stop", "eda-pm-sick"))
    for container in (crashing, stopping, sick):
        container.start()
    podman_service.podman("healthcheck", "run", sick.name)
    wait_health(sick, "healthy")
    rulebook = launch(tmp_path, podman_host=podman_service.host)
    try:
        wait_ready(rulebook, client, "eda-pm-canary")
        heal_once(rulebook, crashing)
        rulebook.wait_for("the report on eda-pm-crash", lambda: said(rulebook, "eda-pm-crash"))
        podman_service.podman("stop", "-t", "5", stopping.name)  # a user's stop
        rulebook.wait_event(stopping.name, "stop")
        sick_run = sicken(sick)
        podman_service.podman("healthcheck", "run", sick.name, check=False)  # exits 1: unhealthy

        def restarted() -> bool:
            sick.reload()
            return sick.attrs["State"]["Running"] and sick.attrs["State"]["StartedAt"] != sick_run

        rulebook.wait_for("eda-pm-sick restarted", restarted, timeout=HEAL_BOUND)
        rulebook.wait_for("the report on eda-pm-sick", lambda: healed_reports(rulebook, sick.name))
    finally:
        rulebook.stop()
    crashed = [e for e in rulebook.events(crashing.name) if e["operation"] == "exit"]
    assert len(crashed) == 1 and crashed[0]["exit_code"] == 137 and crashed[0]["engine"] == "podman", crashed
    assert "(exit, exit code 137); started again: running after" in said(rulebook, crashing.name)[0]
    assert "; restarted: running and healthy after" in healed_reports(rulebook, sick.name)[0]
    # The user's stop came before the sick container's need: a heal of it would have run before that one.
    stopping.reload()
    assert stopping.attrs["State"]["Status"] == "exited" and said(rulebook, stopping.name) == []


# ------------------------------------------------------------------------------------------ the source alone


def load_source():
    from ansible_collections.containerops.lifecycle.extensions.eda.plugins.event_source import container_events

    return container_events


async def follow(args: dict[str, Any], scenario: Callable[[asyncio.Queue], Any]) -> Any:
    """Run the source's ``main`` while ``scenario(queue)`` (a coroutine function) runs; its result."""
    queue: asyncio.Queue = asyncio.Queue()
    task = asyncio.create_task(load_source().main(queue, args))
    try:
        return await scenario(queue)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def subscribed(caplog, address: str, timeout: float = 30) -> None:
    """Until the source has logged that it follows the engine at ``address`` (it emits what happens after that)."""
    deadline = time.monotonic() + timeout
    while not any("following" in record.getMessage() and address in record.getMessage() for record in caplog.records):
        assert time.monotonic() < deadline, caplog.text[-3000:]
        await asyncio.sleep(0.05)


async def next_event(queue: asyncio.Queue, name: str, operation: str, seen: list, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        event = (await asyncio.wait_for(queue.get(), max(deadline - time.monotonic(), 0.01)))["containerops"]
        seen.append(event)
        if event["name"] == name and event["operation"] == operation:
            return event


def test_the_source_follows_an_engine_that_goes_away_and_comes_back(private_engine, caplog):
    private_engine.ensure_running()
    client = docker.DockerClient(base_url=private_engine.host, version="1.41")
    private_engine.remove_containers("eda-")

    def make(name: str):
        return client.containers.run(IMAGE, LOOP, name=name, labels=AUTOHEAL, detach=True)

    async def scenario(queue: asyncio.Queue) -> list[dict[str, Any]]:
        seen: list[dict[str, Any]] = []
        await subscribed(caplog, private_engine.host)  # the source emits what happens after it subscribes
        first = await asyncio.to_thread(make, "eda-rc-before")
        await next_event(queue, "eda-rc-before", "create", seen)
        await asyncio.to_thread(private_engine.kill)  # SIGKILL dockerd: the stream breaks
        await asyncio.sleep(1.5)  # the source retries against a dead socket meanwhile
        await asyncio.to_thread(private_engine.start)
        second = await asyncio.to_thread(make, "eda-rc-after")
        await next_event(queue, "eda-rc-after", "start", seen)
        await asyncio.to_thread(second.reload)
        os.kill(second.attrs["State"]["Pid"], signal.SIGKILL)
        crashed = await next_event(queue, "eda-rc-after", "exit", seen)
        assert crashed["exit_code"] == 137
        await asyncio.to_thread(first.reload)
        return seen

    try:
        args = {"docker_host": private_engine.host, "filters": {"label": ["containerops.autoheal=true"]}}
        with caplog.at_level(logging.INFO, logger="containerops.lifecycle.container_events"):
            seen = asyncio.run(follow(args, scenario))
    finally:
        private_engine.ensure_running()
        private_engine.remove_containers("eda-")
        client.close()
    ids = [e["record_id"] for e in seen]
    assert len(ids) == len(set(ids)), f"an event came twice: {ids}"
    assert [e["operation"] for e in seen if e["name"] == "eda-rc-before"].count("create") == 1
    assert "trying again in" in caplog.text and "following the event stream again" in caplog.text


def test_the_source_reads_dockhand_activity(dockhand_server, make_containers):
    # Not labelled for autoheal: the module's rulebook, following the same engine, would start it again itself.
    (container,) = labelled(make_containers, "eda-dh-crash", labels={"containerops.test": "eda-dockhand"})
    args = {"backend": "dockhand", "api_url": dockhand_server.url, "api_username": DOCKHAND_USER,
            "api_password": DOCKHAND_PASSWORD, "api_environment": 1, "poll_interval": 0.2,
            "filters": {"label": ["containerops.test=eda-dockhand"], "name": "eda-dh-*"}}  # fmt: skip

    async def scenario(queue: asyncio.Queue) -> list[dict[str, Any]]:
        seen: list[dict[str, Any]] = []
        await asyncio.sleep(1.0)  # the first poll notes where the activity log is
        await asyncio.to_thread(crash, container)
        await next_event(queue, "eda-dh-crash", "exit", seen)
        await asyncio.to_thread(container.start)
        await next_event(queue, "eda-dh-crash", "start", seen)
        await asyncio.to_thread(container.stop, timeout=5)
        await next_event(queue, "eda-dh-crash", "stop", seen)
        return seen

    seen = asyncio.run(follow(args, scenario))
    assert [(e["operation"], e["exit_code"]) for e in seen] == [("exit", 137), ("start", None), ("stop", 0)]
    assert all(e["engine"] == "dockhand" and "api_password" not in e["connection"] for e in seen)
    assert DOCKHAND_PASSWORD not in json.dumps(seen)


def test_the_source_polls_hoody_status_logs(hoody_server, make_containers):
    from ansible_collections.containerops.lifecycle.plugins.module_utils import _module

    make_containers("eda-hoody-1")
    args = {"backend": "hoody", "api_url": hoody_server.url, "api_token": HOODY_TOKEN, "poll_interval": 0.2,
            "filters": {"name": "eda-hoody-*"}}  # fmt: skip
    params = load_source().parse_options(args).params
    backend = _module.connect(params, lambda secret: None)

    def perform(operation: str) -> None:
        backend.perform(backend.inspect("eda-hoody-1"), operation, None)

    async def scenario(queue: asyncio.Queue) -> list[dict[str, Any]]:
        seen: list[dict[str, Any]] = []
        await asyncio.sleep(1.0)  # the first poll notes where each container's status log is
        await asyncio.to_thread(perform, "start")
        await next_event(queue, "eda-hoody-1", "start", seen)
        await asyncio.to_thread(perform, "stop")
        await next_event(queue, "eda-hoody-1", "stop", seen)
        await asyncio.sleep(1.0)  # more polls: nothing comes twice
        while not queue.empty():
            seen.append(queue.get_nowait()["containerops"])
        return seen

    try:
        seen = asyncio.run(follow(args, scenario))
    finally:
        backend.close()
    assert [(e["from_status"], e["to_status"], e["operation"]) for e in seen] == [
        ("stopped", "running", "start"),
        ("running", "stopped", "stop"),
    ]
    assert all(e["engine"] == "hoody" and e["triggered_by"] == "user" for e in seen)
    assert HOODY_TOKEN not in json.dumps(seen)
