"""Real local servers for outbound requests: a test CA with a server certificate for
chosen names (made here with `cryptography`), an ASGI app served over HTTPS or HTTP on
127.0.0.1, and a TCP server that accepts requests and never answers."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from registry.settings import Settings


@dataclass(frozen=True)
class TestCertificates:
    """A CA to trust (`outbound_ca_file`) and a server certificate and key it issued."""

    ca_file: Path
    cert_file: Path
    key_file: Path


def make_certificates(directory: Path, names: list[str]) -> TestCertificates:
    """A fresh CA and a server certificate for `names` (and 127.0.0.1), valid for a day."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "trust registry test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    alt_names: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
    alt_names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    paths = TestCertificates(
        directory / "ca.pem", directory / "server.pem", directory / "server-key.pem"
    )
    paths.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


@dataclass
class Recorder:
    """An ASGI app that records each request and answers `status` with `body`;
    `on_request` runs before it answers (a test's probe of what else is in flight)."""

    status: int = 204
    body: bytes = b""
    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    on_request: Any = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            event = await receive()
            body += event.get("body", b"")
            if not event.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.received.append((scope["path"], headers, body))
        if self.on_request is not None:
            await self.on_request()
        await send({"type": "http.response.start", "status": self.status, "headers": []})
        await send({"type": "http.response.body", "body": self.body})


@asynccontextmanager
async def serving(
    app: Any, certificates: TestCertificates | None = None, *, lifespan: str = "off"
) -> AsyncIterator[int]:
    """Serve `app` on 127.0.0.1 (over TLS with `certificates`); yields the port."""
    tls: dict[str, Any] = {}
    if certificates is not None:
        tls = {
            "ssl_certfile": str(certificates.cert_file),
            "ssl_keyfile": str(certificates.key_file),
        }
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan=lifespan, **tls)
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        await task


@dataclass
class SilentServer:
    """Accepts connections, reads what is sent and never answers."""

    open_connections: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Hold the connection until the client gives up."""
        self.open_connections += 1
        self.arrived.set()
        try:
            while await reader.read(65_536):
                pass
        finally:
            self.open_connections -= 1
            writer.close()


@asynccontextmanager
async def silent_server() -> AsyncIterator[tuple[SilentServer, int]]:
    """A SilentServer on 127.0.0.1; yields it and its port."""
    state = SilentServer()
    server = await asyncio.start_server(state.handle, "127.0.0.1", 0)
    try:
        yield state, server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


def proof_settings(
    settings: Settings, certificates: TestCertificates, port: int, domains: list[str]
) -> Settings:
    """Settings under which `https://<domain>/...` for each of `domains` reaches the local
    server on `port`, trusted through the test CA (loopback admitted, as in tests only)."""
    return replace(
        settings,
        outbound_allow_loopback=True,
        outbound_ca_file=str(certificates.ca_file),
        outbound_host_overrides=tuple((d, f"127.0.0.1:{port}") for d in domains),
    )
