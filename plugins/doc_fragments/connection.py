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
      - V(hoody) is the Hoody API v1 (container platform, Bearer token).
      - V(dockhand) is a Dockhand server's REST API (session login or API token).
      - V(podman) is Podman's own libpod REST API (C(podman system service)), Podman 4.0 or later; not its
        Docker-compatible API, which loses stop and kill events, history and snapshots.
      - The same playbook works on every backend; only the connection options differ. What each backend can
        and cannot do is in
        R(Backends and what each can do,ansible_collections.containerops.lifecycle.docsite.guide_backends).
      - Container names and ids are checked before anything is sent; V(docker), V(dockhand) and V(podman) take
        Docker's names (C([a-zA-Z0-9][a-zA-Z0-9_.-]*)) or hex ids, V(hoody) names of 1 to 100 characters
        without C(/), C(\\), C(?), C(#), C(%) or control characters, or 24-hex ids.
      - If not set, the environment variable E(CONTAINEROPS_BACKEND) is used.
    type: str
    default: docker
    choices: [docker, hoody, dockhand, podman]
  timeout:
    description:
      - Seconds to wait for one engine request before giving up on it.
      - Long operations (a graceful stop) get their own allowance on top of this.
      - From 1 to 3600.
      - If not set, the environment variable E(CONTAINEROPS_TIMEOUT) is used.
    type: int
    default: 60
  retries:
    description:
      - How many times a read that failed for a transient reason (connection error, HTTP 429, 502, 503,
        504) is tried again, with exponential backoff and jitter.
      - A lifecycle operation is never resent blindly; the module re-reads the container's status and
        plans again instead.
      - From 0 to 10.
    type: int
    default: 3
  tls:
    description:
      - Docker only; connect to the daemon with TLS, without verifying its certificate unless
        O(validate_certs=true). REST backends use TLS whenever O(api_url) is C(https://).
      - If not set, the environment variable E(DOCKER_TLS) is used (any non-empty value means yes, as for the
        docker CLI); if that is not set either, no TLS. A Docker context (O(docker_context)) says for itself.
    type: bool
  validate_certs:
    description:
      - Verify the server's TLS certificate (against O(ca_path) when given, else the machine's trust store).
      - Docker, if not set, the environment variable E(DOCKER_TLS_VERIFY) is used (any non-empty value, V(0)
        included, means verify, as for the docker CLI), then no verification; a Docker context says for itself.
      - REST backends verify unless this is V(false).
      - V(false) means no verification at all, with a warning, whatever E(REQUESTS_CA_BUNDLE) says.
      - The options are what is used. E(REQUESTS_CA_BUNDLE), E(CURL_CA_BUNDLE) and E(SSL_CERT_FILE) never replace
        O(ca_path), O(client_cert) or O(client_key); they only name the trust store when O(ca_path) is not given.
      - V(podman) takes no TLS options, since Podman's service speaks plain HTTP.
      - A TLS failure is not retried; its message says what failed (a CA not trusted, a name mismatch, an expired
        certificate, a client certificate refused) and which option or variable supplied the files.
    type: bool
    aliases: [tls_verify]
  ca_path:
    description:
      - CA certificate to verify the server with.
      - Docker, defaults to C(ca.pem) in the directory named by E(DOCKER_CERT_PATH) (if not set, E(DOCKER_CONFIG),
        else C(~/.docker)), when it exists there; or the CA of the Docker context.
    type: path
  client_cert:
    description:
      - Client certificate for TLS.
      - Docker, defaults to C(cert.pem) beside C(ca.pem) (see O(ca_path)), when it and C(key.pem) exist there; or
        the client certificate of the Docker context.
    type: path
  client_key:
    description:
      - Private key of O(client_cert). O(client_cert) and O(client_key) go together.
      - Docker, defaults to C(key.pem) beside C(cert.pem) (see O(client_cert)).
    type: path
requirements:
  - Docker SDK for Python >= 7.0 (C(docker)) on the host the module runs on, for O(backend=docker) and
    O(backend=podman) (its unix socket transport)
  - requests
"""

    # The Docker Engine API (backend: docker).
    DOCKER = r"""
options:
  docker_host:
    description:
      - The Docker daemon to connect to, as C(unix://), C(tcp://) or C(ssh://) URL.
      - C(ssh://[user@]host[:port]) goes through the system's C(ssh) client, as the docker CLI does. Each
        connection runs C(ssh -o BatchMode=yes -T [-l user] [-p port] -- host docker system dial-stdio), so
        C(~/.ssh/config) (host aliases, ports, keys, C(ProxyJump)), the ssh agent and C(known_hosts) apply,
        and paramiko is not needed. The host needs the C(docker) CLI, and the user must be able to use its
        engine (for example be in the C(docker) group). ssh never prompts; an unknown host key, or a key
        that needs a passphrase without an agent, is an error that says so.
      - O(tls) and O(validate_certs) are refused with a C(unix://) socket.
      - If not set, the environment variable E(DOCKER_HOST) is used; if that is not set either, the Docker CLI's
        current context (E(DOCKER_CONTEXT), else C(currentContext) in its C(config.json)), as the docker CLI
        does; its context C(default), or none, is C(unix:///var/run/docker.sock).
      - Not together with O(docker_context).
    type: str
  docker_context:
    description:
      - A context of the Docker CLI's store (C(docker context ls)); its endpoint and TLS files (C(ca.pem),
        C(cert.pem), C(key.pem)) are used, as C(docker --context NAME) uses them. O(validate_certs), O(ca_path),
        O(client_cert) and O(client_key) still win when given; E(DOCKER_TLS_VERIFY) and E(DOCKER_CERT_PATH) do
        not apply to a context.
      - The store is C(contexts/) under E(DOCKER_CONFIG), else C(~/.docker). An unknown context is an error that
        lists the known ones.
      - If not set, the environment variable E(DOCKER_CONTEXT) is used, unless E(DOCKER_HOST) is set (it wins,
        as for the docker CLI).
      - Not together with O(docker_host).
    type: str
"""

    # Podman's libpod API (backend: podman).
    PODMAN = r"""
options:
  podman_host:
    description:
      - V(podman), the Podman service to connect to (C(podman system service)), as C(unix:///path/to/socket) or
        C(tcp://host:port) URL. A C(tcp://) service is plain HTTP and unauthenticated, so keep it on a trusted network.
      - C(ssh://) is refused; forward the remote socket (C(ssh -L /tmp/podman.sock:/run/podman/podman.sock host))
        and give its C(unix://) path.
      - If not set, the environment variable E(CONTAINER_HOST) is used (as the podman remote client reads it);
        if that is not set either, C(unix:///run/podman/podman.sock) for root, else
        C(unix://$XDG_RUNTIME_DIR/podman/podman.sock) (the user's rootless service).
    type: str
"""

    # Options of the REST backends (backend: hoody and backend: dockhand).
    REST = r"""
options:
  api_url:
    description:
      - Base URL of the REST API.
      - V(hoody), defaults to C(https://api.hoody.icu); if not set, the environment variables
        E(HOODY_API_URL) or E(HOODY_BASE_URL) are used first.
      - V(dockhand), required; if not set, the environment variable E(DOCKHAND_URL) is used.
      - Redirects are never followed, so credentials are only ever sent to this origin.
      - A password written into the URL (C(https://user:password@host)) is masked in every output.
    type: str
  api_token:
    description:
      - V(hoody), the Bearer token (an C(hdy_) auth token or a JWT); if not set, the environment
        variables E(HOODY_TOKEN) or E(HOODY_API_TOKEN) are used.
      - V(dockhand), an API token (C(dh_...)) used instead of a session login; if not set, the
        environment variable E(DOCKHAND_TOKEN) is used.
      - Never logged, never returned, never sent to another origin.
    type: str
  api_realm:
    description:
      - V(hoody), the realm id for realm-scoped tokens; sent as C(realm_id) on list calls.
      - If not set, the environment variables E(HOODY_REALM) or E(HOODY_REALM_ID) are used.
    type: str
  api_username:
    description:
      - V(dockhand), user to log in as (session cookie); logged in again once if the session expires.
      - Not needed when the server has authentication off, or with O(api_token).
      - If not set, the environment variable E(DOCKHAND_USERNAME) is used.
    type: str
  api_password:
    description:
      - V(dockhand), password of O(api_username). Never logged or returned.
      - If not set, the environment variable E(DOCKHAND_PASSWORD) is used.
    type: str
  api_environment:
    description:
      - V(dockhand), id of the Dockhand environment (the C(env) query parameter). Required for V(dockhand).
      - If not set, the environment variable E(DOCKHAND_ENV) is used.
    type: int
"""
