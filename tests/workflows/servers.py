"""Real file servers on loopback for the transfer tests (SFTP Upload, FTP Upload, and any test
of a transfer built on them): an asyncssh SFTP server (password and key logins, its own host
key) and a pyftpdlib FTP server (plain, or FTPS with explicit TLS and a self-signed certificate
made here), each serving a temporary folder the test reads back.

Each server runs in a thread of its own. A package missing skips the tests on a developer's
machine and fails them under CI (``CI=true``): see :func:`need_package`.
"""

from __future__ import annotations

import asyncio
import datetime
import importlib
import ipaddress
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services import need_service

USER = "transfer"
PASSWORD = "Tr4nsfer-S3cret!"


def need_package(name: str) -> Any:
    """The module ``name``; without it the test is skipped here and failed under CI."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        need_service(name, f"it is not installed ({exc}): pip install -e '.[dev]'")


# ---- SFTP ----------------------------------------------------------------------------------------


@dataclass
class SftpServer:
    """An SFTP server on 127.0.0.1:``port`` serving ``root``; its host key, the account's
    password and the private key it accepts (OpenSSH text, as a stored secret holds it)."""

    root: Path
    port: int = 0
    host_key: Any = None  # asyncssh.SSHKey (private)
    client_key: Any = None  # asyncssh.SSHKey (private) the server accepts for USER
    logins: list[tuple[str, str]] = field(default_factory=list)  # (user, method) accepted
    loop: asyncio.AbstractEventLoop | None = None

    @property
    def fingerprint(self) -> str:
        return str(self.host_key.get_fingerprint("sha256"))

    @property
    def public_host_key(self) -> str:
        """The host key as a known_hosts line has it (``ssh-ed25519 AAAA…``)."""
        return bytes(self.host_key.export_public_key("openssh")).decode().strip()

    @property
    def client_key_text(self) -> str:
        return bytes(self.client_key.export_private_key("openssh")).decode()

    def encrypted_client_key(self, passphrase: str) -> str:
        # Few KDF rounds: the test needs the format, not the brute-force resistance.
        key = self.client_key.export_private_key(
            "openssh", passphrase, rounds=4, ignore_few_rounds=True
        )
        return bytes(key).decode()


@contextmanager
def sftp_server(root: Path, *, posix_rename: bool = True) -> Iterator[SftpServer]:
    """An SFTP server serving ``root`` (chrooted there); ``posix_rename=False`` makes it a
    plain SFTP v3 server without the OpenSSH rename extension (rename never replaces)."""
    asyncssh = need_package("asyncssh")
    root.mkdir(parents=True, exist_ok=True)
    server = SftpServer(
        root=root,
        host_key=asyncssh.generate_private_key("ssh-ed25519"),
        client_key=asyncssh.generate_private_key("ssh-ed25519"),
    )
    accepted = server.client_key.convert_to_public()

    class Login(asyncssh.SSHServer):  # type: ignore[misc]
        method = ""

        def begin_auth(self, username: str) -> bool:
            return True

        def auth_completed(self) -> None:
            server.logins.append((USER, self.method))

        def password_auth_supported(self) -> bool:
            return True

        def validate_password(self, username: str, password: str) -> bool:
            self.method = "password"
            return (username, password) == (USER, PASSWORD)

        def public_key_auth_supported(self) -> bool:
            return True

        def validate_public_key(self, username: str, key: Any) -> bool:
            self.method = "publickey"
            return bool(username == USER and key.public_data == accepted.public_data)

    class Files(asyncssh.SFTPServer):  # type: ignore[misc]
        def __init__(self, channel: Any) -> None:
            super().__init__(channel, chroot=str(root).encode())

    handler = asyncssh.sftp.SFTPServerHandler
    extensions = handler._extensions
    if not posix_rename:
        handler._extensions = [e for e in extensions if e[0] != b"posix-rename@openssh.com"]
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server.loop = loop

    async def start() -> Any:
        return await asyncssh.listen(
            "127.0.0.1",
            0,
            server_host_keys=[server.host_key],
            server_factory=Login,
            sftp_factory=Files,
            allow_scp=False,
        )

    listener = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=30)
    server.port = int(listener.get_port())
    try:
        yield server
    finally:

        async def stop() -> None:
            listener.close()
            await listener.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()
        handler._extensions = extensions


# ---- FTP and FTPS --------------------------------------------------------------------------------


@dataclass
class FtpServer:
    """An FTP server on 127.0.0.1:``port`` serving ``root`` to USER/PASSWORD; with TLS, its
    certificate (self-signed, for 127.0.0.1 and localhost) as PEM."""

    root: Path
    port: int
    certificate: str | None = None
    commands: list[str] = field(default_factory=list)  # every command received (PASS masked)


def self_signed_certificate(folder: Path) -> tuple[Path, Path, str]:
    """A key and a certificate for 127.0.0.1 and localhost, valid a day: the files, and the
    certificate's PEM text (for the ``ca_secret`` that trusts it)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "idms test FTPS")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    key_file, cert_file = folder / "ftps.key", folder / "ftps.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_file.write_text(pem, encoding="utf-8")
    return key_file, cert_file, pem


@contextmanager
def ftp_server(root: Path, *, tls: bool = False) -> Iterator[FtpServer]:
    """An FTP server serving ``root``; ``tls=True``: FTPS, explicit (AUTH TLS), the control and
    data channels both required to be protected."""
    with warnings.catch_warnings():
        # pyftpdlib still uses asyncore/asynchat on Python 3.11 (deprecated there, gone in 3.12,
        # where it brings its own copies): its problem, not a test's.
        warnings.simplefilter("ignore", DeprecationWarning)
        need_package("pyftpdlib")
        from pyftpdlib.authorizers import DummyAuthorizer
        from pyftpdlib.handlers import FTPHandler
        from pyftpdlib.servers import FTPServer

    root.mkdir(parents=True, exist_ok=True)
    authorizer = DummyAuthorizer()
    authorizer.add_user(USER, PASSWORD, str(root), perm="elradfmwMT")
    commands: list[str] = []
    base: Any = FTPHandler
    pem = None
    if tls:
        need_package("OpenSSL")
        from pyftpdlib.handlers import TLS_FTPHandler

        key_file, cert_file, pem = self_signed_certificate(root.parent)
        base = TLS_FTPHandler

    class Handler(base):  # type: ignore[misc, valid-type]
        def pre_process_command(self, line: str, cmd: str, arg: str) -> Any:
            commands.append("PASS ****" if cmd == "PASS" else line)
            return super().pre_process_command(line, cmd, arg)

    Handler.authorizer = authorizer
    Handler.banner = "idms test FTP"
    Handler.auth_failed_timeout = 0.1  # the default 3 s pause after a wrong password
    if tls:
        Handler.certfile = str(cert_file)
        Handler.keyfile = str(key_file)
        Handler.tls_control_required = True
        Handler.tls_data_required = True
    server = FTPServer(("127.0.0.1", 0), Handler)
    port = int(server.socket.getsockname()[1])
    running = threading.Event()
    running.set()

    def serve() -> None:
        while running.is_set():
            server.ioloop.loop(timeout=0.05, blocking=False)
        server.close_all()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield FtpServer(root=root, port=port, certificate=pem, commands=commands)
    finally:
        running.clear()
        thread.join(timeout=30)
