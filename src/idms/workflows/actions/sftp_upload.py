"""SFTP Upload (iDMS "SFTP Upload", an iTransfer connection): a file of the run (a Convert step's
output) sent to an SFTP server.

The server is known by its host key, pinned in the step (``host_key``: the ``SHA256:…``
fingerprint its administrator gives, or its public key as a known_hosts line); a server showing
another key is refused before any password or key is sent, the message saying the key seen, so a
changed key is a decision, never a silent switch. Only ``accept_unknown_host_key: true`` with no
pin takes whatever key the server shows (the output then says which, to pin it).

The password or private key comes from the workspace's stored secrets (``idms secrets set
NAME``), never the step. The file is streamed (any size), under a temporary name
(``.NAME.RUN.part``), then renamed to its name (the OpenSSH posix-rename where the server has
it, replacing the old file in one step; else remove and rename), so a receiver never reads half
a file. asyncssh does the SSH; it runs in an event loop of its own, the step being a plain call.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncssh
from pydantic import BaseModel, ConfigDict, Field, field_validator

from idms.errors import printable
from idms.workflows.actions._files import run_file_path
from idms.workflows.actions._transfer import (
    Backoff,
    FileToSend,
    RemoteFolder,
    RemoteName,
    Secrets,
    TryTimeout,
    host_alone,
    join,
    part_name,
    remote_folder,
    target_name,
    with_retries,
)
from idms.workflows.actions.base import ActionContext, ActionSpec, StepFailed, StepResult

T = TypeVar("T")

KEY_TYPES = ("ssh-", "ecdsa-", "sk-ssh-", "sk-ecdsa-")
# The file is sent in blocks of at most BLOCK bytes, at most REQUESTS of them in flight: 4 MiB
# on the way at once whatever the file's size (OpenSSH's sftp has 2 MiB: 64 of 32 KiB), enough
# to keep a distant server busy. asyncssh's own choice, when the server allows 4 MiB requests
# (asyncssh's server does), is 16 requests of 4 MiB: some 200 MiB held for an 80 MB file (each
# block is copied into its packet, then encrypted), and no faster (bench/bench_transfer.py).
BLOCK = 256 * 1024
REQUESTS = 16


@dataclass(frozen=True)
class HostKeyPin:
    """The server key a step trusts: a fingerprint (``SHA256:…``, ``MD5:…``) or the key."""

    fingerprint: str | None = None
    key: asyncssh.SSHKey | None = None

    @classmethod
    def parse(cls, text: str) -> HostKeyPin:
        text = text.strip()
        if text.upper().startswith("SHA256:"):
            return cls(fingerprint="SHA256:" + text[7:].rstrip("="))
        if text.upper().startswith("MD5:"):
            return cls(fingerprint="MD5:" + text[4:].lower())
        # A public key ("ssh-ed25519 AAAA… comment") or a known_hosts line ("host ssh-ed25519
        # AAAA…"): the key type and the key, wherever they are on the line.
        words = text.split()
        for index, word in enumerate(words[:-1]):
            if word.startswith(KEY_TYPES):
                try:
                    return cls(key=asyncssh.import_public_key(f"{word} {words[index + 1]}"))
                except (asyncssh.KeyImportError, ValueError):
                    break
        raise ValueError(
            "host_key must be the server's fingerprint (SHA256:…) or its public key "
            "(ssh-ed25519 AAAA…, as a known_hosts line has it)"
        )

    def matches(self, key: asyncssh.SSHKey) -> bool:
        if self.key is not None:
            return bool(key.public_data == self.key.public_data)
        assert self.fingerprint is not None
        if self.fingerprint.startswith("MD5:"):
            return bool(key.get_fingerprint("md5").lower() == self.fingerprint.lower())
        return bool(key.get_fingerprint("sha256").rstrip("=") == self.fingerprint)

    @property
    def shown(self) -> str:
        if self.key is not None:
            return str(self.key.get_fingerprint("sha256"))
        assert self.fingerprint is not None
        return self.fingerprint


class SftpUploadParams(BaseModel):
    """A step's ``with:`` for ``sftp_upload``."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field(min_length=1, description="The SFTP server's name or address.")
    port: int = Field(default=22, ge=1, le=65535, description="Its port.")
    username: str = Field(min_length=1, description="The account to log in as (not secret).")
    password_secret: str | None = Field(
        default=None, description="The stored secret holding the account's password."
    )
    private_key_secret: str | None = Field(
        default=None,
        description="The stored secret holding a private key (OpenSSH or PEM) to log in with.",
    )
    passphrase_secret: str | None = Field(
        default=None, description="The stored secret holding the private key's passphrase."
    )
    host_key: str | None = Field(
        default=None,
        description="The server's host key, pinned: its fingerprint (`SHA256:…`) or its public "
        "key (`ssh-ed25519 AAAA…`, a known_hosts line). Without it (and without "
        "accept_unknown_host_key) the step fails saying the key the server shows.",
    )
    accept_unknown_host_key: bool = Field(
        default=False,
        description="With no host_key: trust whatever key the server shows (the output says "
        "which, to pin it). Not for production.",
    )
    folder: RemoteFolder = ""
    file: FileToSend
    file_name: RemoteName = None
    timeout_seconds: TryTimeout = 900
    retries: int = Field(
        default=2,
        ge=0,
        le=10,
        description="How many more times to try when the server cannot be reached or the "
        "connection breaks.",
    )
    backoff_seconds: Backoff = 10

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        return host_alone(value, "sftp.example.org")

    @field_validator("host_key")
    @classmethod
    def _pin(cls, value: str | None) -> str | None:
        if value is not None and value.strip():
            HostKeyPin.parse(value)
            return value.strip()
        return None


@dataclass
class _HostKeyCheck:
    """asyncssh asks this whether the key the server shows is the one trusted; it remembers
    the key, to report it."""

    pin: HostKeyPin | None
    accept_unknown: bool
    seen: list[asyncssh.SSHKey] = field(default_factory=list)

    def __call__(self, key: asyncssh.SSHKey) -> bool:
        self.seen.append(key)
        if self.pin is not None:
            return self.pin.matches(key)
        return self.accept_unknown


class _Client(asyncssh.SSHClient):
    def __init__(self, check: _HostKeyCheck) -> None:
        self.check = check

    def validate_host_public_key(
        self, host: str, addr: str, port: int, key: asyncssh.SSHKey
    ) -> bool:
        return self.check(key)


def describe_key(key: asyncssh.SSHKey) -> str:
    return f"{key.get_fingerprint('sha256')} ({key.get_algorithm()})"


def _run_async(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """The coroutine run to its end in an event loop of its own (in a thread of its own if this
    one already runs a loop: a step called from async code)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


@dataclass
class _Upload:
    """One try of one step: where, who, which file."""

    params: SftpUploadParams
    path: Path
    remote: str
    temporary: str
    password: str | None
    client_keys: list[asyncssh.SSHKey] | None
    check: _HostKeyCheck

    @property
    def where(self) -> str:
        return f"{self.params.host}:{self.params.port}"

    async def run(self) -> dict[str, Any]:
        params = self.params
        pin = self.check.pin
        trusted = [pin.key] if pin is not None and pin.key is not None else []
        connection = await asyncssh.connect(
            params.host,
            params.port,
            username=params.username,
            password=self.password,
            client_keys=self.client_keys,
            passphrase=None,
            known_hosts=(trusted, [], []),
            client_factory=lambda: _Client(self.check),
            # Nothing of this computer's own SSH set-up: its config, agent, keys, CA bundle.
            config=[],
            agent_path=None,
            x509_trusted_certs=None,
            x509_trusted_cert_paths=None,
            gss_auth=False,
            gss_kex=False,
            connect_timeout=min(params.timeout_seconds, 60),
            login_timeout=min(params.timeout_seconds, 120),
            preferred_auth=(
                "publickey,keyboard-interactive,password"
                if self.client_keys
                else "keyboard-interactive,password"
            ),
        )
        async with connection:
            shown = connection.get_server_host_key()
            key = shown or (self.check.seen[-1] if self.check.seen else None)
            async with connection.start_sftp_client() as sftp:
                size = self.path.stat().st_size
                try:
                    block = min(BLOCK, sftp.limits.max_write_len)
                    await sftp.put(
                        str(self.path), self.temporary, block_size=block, max_requests=REQUESTS
                    )
                    written = (await sftp.stat(self.temporary)).size
                    if written is not None and written != size:
                        raise StepFailed(
                            f"{self.where} kept {written:,} of the {size:,} bytes sent: the "
                            "upload is tried again.",
                        )
                    await _rename(sftp, self.temporary, self.remote)
                except BaseException:
                    await _forget(sftp, self.temporary)
                    raise
        return {
            "host": params.host,
            "port": params.port,
            "remote_path": self.remote,
            "file_name": self.remote.rsplit("/", 1)[-1],
            "bytes": size,
            "host_key": key.get_fingerprint("sha256") if key is not None else None,
            "host_key_type": key.get_algorithm() if key is not None else None,
            "host_key_pinned": pin is not None,
        }


async def _rename(sftp: asyncssh.SFTPClient, temporary: str, remote: str) -> None:
    """``temporary`` renamed ``remote``, replacing it: in one step where the server can."""
    try:
        await sftp.posix_rename(temporary, remote)
        return
    except asyncssh.SFTPOpUnsupported:
        pass
    try:
        await sftp.rename(temporary, remote)
    except asyncssh.SFTPError:
        # Plain SFTP (v3) will not rename onto an existing file.
        with contextlib.suppress(asyncssh.SFTPNoSuchFile):
            await sftp.remove(remote)
        await sftp.rename(temporary, remote)


async def _forget(sftp: asyncssh.SFTPClient, temporary: str) -> None:
    """The temporary file of a failed upload removed, if it can be (best effort)."""
    with contextlib.suppress(asyncssh.Error, OSError, TimeoutError):
        await asyncio.wait_for(sftp.remove(temporary), timeout=10)


def _failure(exc: BaseException, upload: _Upload) -> StepFailed:
    """What went wrong, as a data manager reads it; whether trying again may help."""
    params, where = upload.params, upload.where
    seen = upload.check.seen[-1] if upload.check.seen else None
    if isinstance(exc, StepFailed):
        return exc
    if isinstance(exc, asyncssh.HostKeyNotVerifiable):
        shown = describe_key(seen) if seen is not None else "a key that could not be read"
        fingerprint = seen.get_fingerprint("sha256") if seen is not None else "SHA256:…"
        pin = upload.check.pin
        if pin is not None:
            return StepFailed(
                f"The SFTP server {where} showed the host key {shown}, not the one pinned in "
                f"host_key ({pin.shown}): nothing was sent. If its administrator confirms the "
                f'key was changed, pin the new one (host_key: "{fingerprint}"); otherwise '
                "something may be posing as the server.",
                retryable=False,
            )
        return StepFailed(
            f"The SFTP server {where} showed the host key {shown}, and the step pins none: "
            "nothing was sent. Check the fingerprint with the server's administrator, then pin "
            f'it (host_key: "{fingerprint}").',
            retryable=False,
        )
    if isinstance(exc, asyncssh.PermissionDenied):
        how = "password" if not upload.client_keys else "key"
        if upload.client_keys and upload.password:
            how = "key or password"
        return StepFailed(
            f"The SFTP server {where} refused the login of {params.username!r}: check the user "
            f"name and the {how} in the stored secret.",
            retryable=False,
        )
    if isinstance(exc, asyncssh.SFTPNoSuchFile | asyncssh.SFTPNoSuchPath):
        folder = params.folder or "(the login folder)"
        return StepFailed(
            f"The folder {printable(folder)!r} does not exist on {where} (or {params.username!r} "
            "cannot see it): check folder, or ask the server's administrator to create it.",
            retryable=False,
        )
    if isinstance(exc, asyncssh.SFTPPermissionDenied | asyncssh.SFTPWriteProtect):
        return StepFailed(
            f"{params.username!r} may not write {upload.remote!r} on {where}: ask the server's "
            "administrator for write access to the folder.",
            retryable=False,
        )
    if isinstance(exc, asyncssh.SFTPNoSpaceOnFilesystem | asyncssh.SFTPQuotaExceeded):
        return StepFailed(f"{where} has no room for the file ({exc.reason}).")
    if isinstance(exc, asyncssh.SFTPError):
        return StepFailed(f"{where} refused the upload: {exc.reason}.")
    if isinstance(exc, TimeoutError | asyncssh.TimeoutError):
        return StepFailed(
            f"The upload to {where} did not finish within {params.timeout_seconds:g} s."
        )
    if isinstance(exc, ConnectionRefusedError):
        return StepFailed(
            f"{where} refused the connection: check the host and port, and that the SFTP "
            "server is running."
        )
    if isinstance(exc, socket.gaierror):
        return StepFailed(f"No host is named {params.host!r}: check host.", retryable=False)
    if isinstance(exc, asyncssh.DisconnectError):
        return StepFailed(f"{where} ended the connection: {exc.reason}.")
    if isinstance(exc, OSError):
        return StepFailed(
            f"{where} could not be reached ({exc.strerror or type(exc).__name__}): check the "
            "host and port, and that this server may connect to it."
        )
    raise exc


def _client_keys(params: SftpUploadParams, secrets: Secrets) -> list[asyncssh.SSHKey] | None:
    if not params.private_key_secret:
        return None
    data = secrets.get(params.private_key_secret, "private_key_secret")
    passphrase = (
        secrets.get(params.passphrase_secret, "passphrase_secret")
        if params.passphrase_secret
        else None
    )
    try:
        return [asyncssh.import_private_key(data, passphrase)]
    except (asyncssh.KeyEncryptionError, asyncssh.KeyImportError, ValueError) as exc:
        if passphrase is None and "passphrase" in str(exc).lower():
            problem = "it is encrypted: name the secret holding its passphrase in passphrase_secret"
        elif isinstance(exc, asyncssh.KeyEncryptionError) or "passphrase" in str(exc).lower():
            problem = "its passphrase (passphrase_secret) is wrong"
        else:
            problem = "it is not a private key in OpenSSH or PEM form"
    raise StepFailed(
        f"The private key in the stored secret {params.private_key_secret!r} cannot be used: "
        f"{problem}.",
        retryable=False,
    )


def _check(params: SftpUploadParams) -> None:
    """What the parameters need together, checked when the step runs (a parameter written as a
    template is known only then). A step pinning no key and not accepting an unknown one is
    let through: the server's key is read, and the step fails saying which it is, to pin it."""
    if not params.password_secret and not params.private_key_secret:
        raise StepFailed(
            "Give password_secret or private_key_secret (the name of a stored secret): the "
            "server needs a password or a key.",
            retryable=False,
        )
    if params.passphrase_secret and not params.private_key_secret:
        raise StepFailed(
            "passphrase_secret is the passphrase of private_key_secret's key: give that too.",
            retryable=False,
        )


def run(params: SftpUploadParams, data: dict[str, Any], context: ActionContext) -> StepResult:
    _check(params)
    found, path = run_file_path(params.file, context)
    name = target_name(params.file_name, found)
    folder = remote_folder(params.folder)
    secrets = Secrets(context)
    password = (
        secrets.get(params.password_secret, "password_secret") if params.password_secret else None
    )
    client_keys = _client_keys(params, secrets)
    pin = HostKeyPin.parse(params.host_key) if params.host_key else None

    def send() -> dict[str, Any]:
        upload = _Upload(
            params=params,
            path=path,
            remote=join(folder, name),
            temporary=join(folder, part_name(name, context)),
            password=password,
            client_keys=client_keys,
            check=_HostKeyCheck(pin, params.accept_unknown_host_key),
        )

        async def attempt() -> dict[str, Any]:
            try:
                async with asyncio.timeout(params.timeout_seconds):
                    return await upload.run()
            except Exception as exc:
                raise _failure(exc, upload) from None

        return _run_async(attempt)

    output = with_retries(
        send,
        retries=params.retries,
        backoff_seconds=params.backoff_seconds,
        context=context,
        secrets=secrets,
    )
    message = f"{output['bytes']:,} bytes sent to {params.host}:{output['remote_path']}"
    if pin is None:
        context.log(
            f"The SFTP server {params.host}:{params.port} was trusted unpinned; its host key is "
            f'{output["host_key"]}: pin it (host_key: "{output["host_key"]}").'
        )
        message += f" (host key {output['host_key']} not pinned)"
    return StepResult(output=output, message=message)


ACTION = ActionSpec(
    name="sftp_upload",
    label="SFTP Upload",
    summary="Send a file of the run to an SFTP server (host key pinned, written then renamed)",
    params=SftpUploadParams,
    run=run,
    example="""\
- id: upload
  action: sftp_upload
  with:
    host: sftp.board.example.org
    username: idms
    password_secret: board-sftp
    host_key: "SHA256:4vJwP8mR0xD6Q1VhT2bq0n5m3Zf3oFq9cWc6r0m8x1E"
    folder: /incoming
    file: "{{ steps.csv }}"
""",
)
