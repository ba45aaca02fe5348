# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ssh:// Docker hosts: the URL, the ssh command line, and what each way of failing means for the user."""

from __future__ import annotations

import pytest

from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import BadInput
from ansible_collections.containerops.lifecycle.plugins.module_utils._ssh import SshTarget, ssh_failure


@pytest.mark.parametrize(("url", "target"), [
    ("ssh://web-3", SshTarget("web-3")),
    ("ssh://ops@web-3", SshTarget("web-3", "ops")),
    ("ssh://ops@10.0.0.5:2222", SshTarget("10.0.0.5", "ops", 2222)),
    ("ssh://[::1]:22/", SshTarget("::1", None, 22)),
])  # fmt: skip
def test_an_ssh_url_names_host_user_and_port(url, target):
    assert SshTarget.parse(url) == target


@pytest.mark.parametrize("url", ["ssh://", "ssh://ops:pw@web-3", "ssh://web-3:x", "ssh://web-3/var/run", "tcp://web-3"])
def test_anything_else_is_refused_naming_it(url):
    with pytest.raises(BadInput, match="ssh://"):
        SshTarget.parse(url)


def test_the_command_is_the_docker_cli_s_with_no_prompt():
    assert SshTarget("web-3", "ops", 2222).command(7.9) == [
        "ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=7", "-T", "-l", "ops", "-p", "2222",
        "--", "web-3", "docker", "system", "dial-stdio",
    ]  # fmt: skip
    assert SshTarget("web-3").command(0)[:5] == ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=1"]


@pytest.mark.parametrize(("stderr", "code", "meaning"), [
    ("Host key verification failed.\r\n", 255, "its host key is not known here or has changed"),
    ("@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@\nHost key verification failed.", 255,
     "its host key is not known here"),
    ("root@127.0.0.1: Permission denied (publickey).", 255, "authentication was refused"),
    ("ssh: Could not resolve hostname web-9: Name or service not known", 255, "its name does not resolve"),
    ("ssh: connect to host 127.0.0.1 port 9: Connection refused", 255, "the connection was refused"),
    ("ssh: connect to host 10.1.1.1 port 22: Connection timed out", 255, "the connection timed out"),
    ("bash: line 1: docker: command not found", 127, "there is no docker CLI on the far side"),
    ("sh: 1: docker: not found", 127, "there is no docker CLI on the far side"),
    ("", 127, "there is no docker CLI on the far side"),
    ("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?", 1,
     "the docker CLI on the far side cannot reach its engine"),
    ("permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock", 1,
     "the ssh user may not use the far side's Docker socket"),
    ("kex_exchange_identification: read: \x1b[2JConnection reset", 255,
     "ssh exited with status 255: kex_exchange_identification: read: [2JConnection reset"),
    ("", 1, "ssh exited with status 1 without saying why"),
])  # fmt: skip
def test_each_failure_is_said_in_the_user_s_words(stderr, code, meaning):
    assert ssh_failure(stderr, code, "web-3").startswith(meaning)
