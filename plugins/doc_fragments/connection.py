# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options, documented once: the common part and one part per backend."""

from __future__ import annotations


class ModuleDocFragment:
    # Options every backend shares.
    DOCUMENTATION = r"""
options:
  backend:
    description:
      - Which engine to talk to.
      - V(docker) is the Docker Engine API through the Docker SDK for Python.
      - If not set, the environment variable E(CONTAINEROPS_BACKEND) is used.
    type: str
    default: docker
    choices: [docker]
  timeout:
    description:
      - Seconds to wait for one engine request before giving up on it.
      - Long operations (a graceful stop) get their own allowance on top of this.
      - If not set, the environment variable E(CONTAINEROPS_TIMEOUT) is used.
    type: int
    default: 60
  retries:
    description:
      - How many times a read that failed for a transient reason (connection error, HTTP 429, 502, 503,
        504) is tried again, with exponential backoff and jitter.
      - A lifecycle operation is never resent blindly; the module re-reads the container's status and
        plans again instead.
    type: int
    default: 3
requirements:
  - Docker SDK for Python >= 7.0 (C(docker)) on the host the module runs on
  - requests
"""

    # The Docker Engine API.
    DOCKER = r"""
options:
  docker_host:
    description:
      - The Docker daemon to connect to, as C(unix://), C(tcp://) or C(ssh://) URL.
      - If not set, the environment variable E(DOCKER_HOST) is used.
    type: str
    default: unix:///var/run/docker.sock
  tls:
    description:
      - Connect to the daemon with TLS, without verifying its certificate unless O(validate_certs=true).
      - If not set, the environment variable E(DOCKER_TLS) is used; if that is not set either, no TLS.
    type: bool
  validate_certs:
    description:
      - Connect with TLS and verify the daemon's certificate against O(ca_path).
      - If not set, the environment variable E(DOCKER_TLS_VERIFY) is used; if that is not set either,
        no verification for Docker.
    type: bool
    aliases: [tls_verify]
  ca_path:
    description:
      - CA certificate to verify the daemon with.
      - Defaults to C(ca.pem) in the directory named by E(DOCKER_CERT_PATH), when it exists there.
    type: path
  client_cert:
    description:
      - Client certificate for TLS.
      - Defaults to C(cert.pem) in the directory named by E(DOCKER_CERT_PATH), when it exists there.
    type: path
  client_key:
    description:
      - Private key of O(client_cert).
      - Defaults to C(key.pem) in the directory named by E(DOCKER_CERT_PATH), when it exists there.
    type: path
"""
