"""Certificates made with ``openssl`` for the TLS tests: a private CA, servers and clients it signs.

``Authority(directory, "ca")`` makes a CA; ``issue`` makes a key and a certificate it signs, for a server (its
subject alternative names) or a client, valid from ``not_before`` to ``not_after`` (``YYYYMMDDHHMMSSZ``, so an
expired one is as easy as a valid one). Each file is written under the directory; the paths are returned.
"""

from __future__ import annotations

import datetime
import os
import subprocess
from dataclasses import dataclass


def _stamp(moment: datetime.datetime) -> str:
    return moment.strftime("%Y%m%d%H%M%SZ")


def _openssl(*args: str, cwd: str) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, text=True)


@dataclass(frozen=True)
class Issued:
    cert: str
    key: str


class Authority:
    """A private CA in ``directory`` (``<name>.pem``, ``<name>-key.pem``), signing with ``openssl ca``."""

    def __init__(self, directory: str, name: str = "ca") -> None:
        self.directory = directory
        self.name = name
        self.cert = os.path.join(directory, f"{name}.pem")
        self.key = os.path.join(directory, f"{name}-key.pem")
        self.state = os.path.join(directory, f"{name}-state")
        os.makedirs(self.state, exist_ok=True)
        open(os.path.join(self.state, "index.txt"), "w").close()
        with open(os.path.join(self.state, "serial"), "w") as handle:
            handle.write("1000\n")
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", self.key, "-out", self.cert,
                 "-days", "2", "-subj", f"/CN=containerops test CA {name}",
                 "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                 cwd=directory)  # fmt: skip

    def issue(self, name: str, sans: tuple[str, ...] = (), client: bool = False, expired: bool = False) -> Issued:
        """A key and certificate for ``name`` (``sans``: ``IP:127.0.0.1``, ``DNS:localhost``); ``expired``: valid
        for a day that ended yesterday."""
        now = datetime.datetime.now(datetime.timezone.utc)
        if expired:
            start, end = now - datetime.timedelta(days=3), now - datetime.timedelta(days=1)
        else:
            start, end = now - datetime.timedelta(hours=1), now + datetime.timedelta(days=1)
        key = os.path.join(self.directory, f"{name}-key.pem")
        request = os.path.join(self.directory, f"{name}.csr")
        cert = os.path.join(self.directory, f"{name}.pem")
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", request, "-subj", f"/CN={name}",
                 cwd=self.directory)  # fmt: skip
        extensions = os.path.join(self.directory, f"{name}.ext")
        usage = "clientAuth" if client else "serverAuth"
        with open(extensions, "w") as handle:
            handle.write(f"basicConstraints=CA:FALSE\nextendedKeyUsage={usage}\n")
            if sans:
                handle.write(f"subjectAltName={','.join(sans)}\n")
        config = os.path.join(self.directory, f"{self.name}-openssl.cnf")
        with open(config, "w") as handle:
            handle.write(
                "[ca]\ndefault_ca=this\n[this]\n"
                f"dir={self.state}\ndatabase=$dir/index.txt\nserial=$dir/serial\nnew_certs_dir=$dir\n"
                f"certificate={self.cert}\nprivate_key={self.key}\ndefault_md=sha256\npolicy=any\n"
                "unique_subject=no\n[any]\ncommonName=supplied\n"
            )
        _openssl("ca", "-batch", "-config", config, "-in", request, "-out", cert, "-notext", "-startdate",
                 _stamp(start), "-enddate", _stamp(end), "-extfile", extensions, cwd=self.directory)  # fmt: skip
        return Issued(cert, key)
