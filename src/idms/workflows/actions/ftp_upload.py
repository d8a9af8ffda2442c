"""FTP Upload (iDMS "FTP Upload", an iTransfer connection): a file of the run (a Convert step's
output) sent to an FTP server, in the clear or over FTPS.

``tls: explicit`` is FTPS as most servers offer it: the connection starts plain on port 21 and is
switched to TLS (``AUTH TLS``) before the password is sent, the file going over a protected data
channel too (``PROT P``). The server's certificate is checked against the system's authorities,
or against the one given in a stored secret (``ca_secret``: a self-signed certificate, a private
authority); ``verify_certificate: false`` turns the check off, for a test server only. Passive
mode (the default) connects out to the server for the data; active mode has the server connect
back.

The password comes from the workspace's stored secrets (``idms secrets set NAME``). The file is
streamed (any size) under a temporary name (``.NAME.RUN.part``) and renamed once whole (the old
file removed first where the server will not rename onto it), so a receiver never reads half a
file. Python's ftplib does the FTP.
"""

from __future__ import annotations

import contextlib
import ftplib  # nosec B402 # FTPS by default; plain FTP only when a step says tls: none
import socket
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

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

BLOCK = 64 * 1024


class FtpUploadParams(BaseModel):
    """A step's ``with:`` for ``ftp_upload``."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field(min_length=1, description="The FTP server's name or address.")
    port: int = Field(default=21, ge=1, le=65535, description="Its port.")
    tls: Literal["none", "explicit"] = Field(
        default="explicit",
        description="explicit: FTPS (AUTH TLS), the password and the file encrypted; none: "
        "plain FTP, everything in the clear.",
    )
    passive: bool = Field(
        default=True, description="Passive mode (the client connects for the data); false: active."
    )
    username: str = Field(
        default="anonymous", min_length=1, description="The account to log in as (not secret)."
    )
    password_secret: str | None = Field(
        default=None,
        description="The stored secret holding the account's password (none: no password).",
    )
    verify_certificate: bool = Field(
        default=True,
        description="FTPS: check the server's certificate and name (false: for a test server "
        "only).",
    )
    ca_secret: str | None = Field(
        default=None,
        description="FTPS: the stored secret holding a certificate (PEM) to trust, for a server "
        "whose certificate is self-signed or from a private authority.",
    )
    folder: RemoteFolder = ""
    file: FileToSend
    file_name: RemoteName = None
    timeout_seconds: TryTimeout = 900
    retries: int = Field(
        default=2,
        ge=0,
        le=10,
        description="How many more times to try when the server cannot be reached, is busy "
        "(4xx) or the connection breaks.",
    )
    backoff_seconds: Backoff = 10

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        return host_alone(value, "ftp.example.org")


class _ReusingFTP_TLS(ftplib.FTP_TLS):
    """FTPS whose data connections resume the control connection's TLS session, as servers
    such as vsftpd, FileZilla Server and ProFTPD (``TLSOptions`` defaults) require: ftplib
    alone opens a new session for each file, which they refuse (``425``/``522``)."""

    def ntransfercmd(
        self, cmd: str, rest: int | str | None = None
    ) -> tuple[socket.socket, int | None]:
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:  # type: ignore[attr-defined]
            session = getattr(self.sock, "session", None)
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=session)
        return conn, size


@dataclass
class _Upload:
    params: FtpUploadParams
    path: Path
    folder: str
    name: str
    temporary: str
    password: str
    tls: ssl.SSLContext | None

    @property
    def where(self) -> str:
        return f"{self.params.host}:{self.params.port}"

    def run(self) -> dict[str, Any]:
        params = self.params
        deadline = time.monotonic() + params.timeout_seconds
        per_call = min(params.timeout_seconds, 120)
        ftp: ftplib.FTP
        if self.tls is not None:
            ftp = _ReusingFTP_TLS(context=self.tls, timeout=per_call)
        else:
            ftp = ftplib.FTP(timeout=per_call)  # nosec B321 # the step asked for tls: none
        try:
            ftp.connect(params.host, params.port)
            ftp.login(params.username, self.password)  # FTP_TLS: AUTH TLS first
            if isinstance(ftp, ftplib.FTP_TLS):
                ftp.prot_p()
            ftp.set_pasv(params.passive)
            if self.folder:
                self._cwd(ftp)
            size = self.path.stat().st_size
            try:
                self._store(ftp, deadline)
                self._check_size(ftp, size)
                self._rename(ftp)
            except BaseException:
                self._forget(ftp)
                raise
            # The file is in place: a server closing rudely now does not undo that.
            with contextlib.suppress(ftplib.Error, OSError, EOFError):
                ftp.quit()
        finally:
            ftp.close()
        return {
            "host": params.host,
            "port": params.port,
            "tls": params.tls,
            "remote_path": join(self.folder, self.name),
            "file_name": self.name,
            "bytes": size,
        }

    def _cwd(self, ftp: ftplib.FTP) -> None:
        try:
            ftp.cwd(self.folder)
        except ftplib.error_perm:
            raise StepFailed(
                f"The folder {printable(self.folder)!r} does not exist on {self.where} (or "
                f"{self.params.username!r} may not enter it): check folder, or ask the "
                "server's administrator to create it.",
                retryable=False,
            ) from None

    def _store(self, ftp: ftplib.FTP, deadline: float) -> None:
        def on_block(block: bytes) -> None:
            if time.monotonic() > deadline:
                raise TimeoutError("the upload took too long")

        with self.path.open("rb") as source:
            try:
                ftp.storbinary(f"STOR {self.temporary}", source, BLOCK, on_block)
            except ftplib.error_perm as exc:
                raise StepFailed(
                    f"{self.where} refused to store {self.temporary!r} in "
                    f"{printable(self.folder or '(the login folder)')!r}: {_reply(exc)}. Check "
                    f"that {self.params.username!r} may write there.",
                    retryable=False,
                ) from None

    def _check_size(self, ftp: ftplib.FTP, size: int) -> None:
        try:
            written = ftp.size(self.temporary)
        except ftplib.Error:
            return  # a server without SIZE: nothing to compare
        if written is not None and written != size:
            raise StepFailed(
                f"{self.where} kept {written:,} of the {size:,} bytes sent: the upload is tried "
                "again."
            )

    def _rename(self, ftp: ftplib.FTP) -> None:
        try:
            ftp.rename(self.temporary, self.name)
            return
        except ftplib.error_perm:
            pass  # many servers (IIS, some vsftpd) will not rename onto an existing file
        with contextlib.suppress(ftplib.error_perm):
            ftp.delete(self.name)
        try:
            ftp.rename(self.temporary, self.name)
        except ftplib.error_perm as exc:
            raise StepFailed(
                f"{self.where} received the file as {self.temporary!r} but refused to rename it "
                f"{self.name!r}: {_reply(exc)}.",
                retryable=False,
            ) from None

    def _forget(self, ftp: ftplib.FTP) -> None:
        """The temporary file of a failed upload removed, if it can be (best effort)."""
        with contextlib.suppress(ftplib.Error, OSError, EOFError):
            ftp.delete(self.temporary)


def _reply(exc: ftplib.Error) -> str:
    return printable(str(exc).strip())[:200]


def _tls_context(params: FtpUploadParams, secrets: Secrets) -> ssl.SSLContext | None:
    if params.tls == "none":
        return None
    context = ssl.create_default_context()
    if params.ca_secret:
        pem = secrets.get(params.ca_secret, "ca_secret")
        try:
            context.load_verify_locations(cadata=pem)
        except (ssl.SSLError, ValueError):
            raise StepFailed(
                f"The stored secret {params.ca_secret!r} that ca_secret names does not hold a "
                "certificate in PEM form (-----BEGIN CERTIFICATE-----…).",
                retryable=False,
            ) from None
    if not params.verify_certificate:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _failure(exc: BaseException, upload: _Upload) -> StepFailed:
    params, where = upload.params, upload.where
    if isinstance(exc, StepFailed):
        return exc
    if isinstance(exc, ssl.SSLCertVerificationError):
        return StepFailed(
            f"The certificate of {where} is not trusted ({exc.verify_message}): the password was "
            "not sent. If the server's certificate is self-signed or from a private authority, "
            "store it (PEM) as a secret and name it in ca_secret.",
            retryable=False,
        )
    if isinstance(exc, ssl.SSLError):
        return StepFailed(
            f"The TLS connection with {where} failed ({exc.reason or exc}): check that the "
            "server offers FTPS with AUTH TLS on this port (tls: explicit).",
            retryable=False,
        )
    if isinstance(exc, ftplib.error_perm):
        reply = _reply(exc)
        if reply.startswith("530"):
            return StepFailed(
                f"{where} refused the login of {params.username!r}: check the user name and "
                f"the password in the stored secret. The server said: {reply}.",
                retryable=False,
            )
        if params.tls == "explicit" and reply[:3] in ("500", "502", "504", "534"):
            return StepFailed(
                f"{where} does not offer FTPS (AUTH TLS): {reply}. Ask its administrator, or "
                "set tls: none if the password may travel in the clear.",
                retryable=False,
            )
        return StepFailed(f"{where} refused: {reply}.", retryable=False)
    if isinstance(exc, ftplib.error_temp):
        return StepFailed(f"{where} is busy: {_reply(exc)}.")
    if isinstance(exc, ftplib.Error):
        return StepFailed(f"{where} answered unexpectedly: {_reply(exc)}.")
    if isinstance(exc, TimeoutError):
        return StepFailed(f"{where} did not answer in time, or the upload took too long.")
    if isinstance(exc, ConnectionRefusedError):
        mode = "" if params.passive else " (active mode: it may not connect back to this server)"
        return StepFailed(
            f"{where} refused the connection{mode}: check the host and port, and that the FTP "
            "server is running."
        )
    if isinstance(exc, socket.gaierror):
        return StepFailed(f"No host is named {params.host!r}: check host.", retryable=False)
    if isinstance(exc, OSError | EOFError):
        return StepFailed(
            f"{where} could not be reached or ended the connection "
            f"({getattr(exc, 'strerror', None) or type(exc).__name__})."
        )
    raise exc


def run(params: FtpUploadParams, data: dict[str, Any], context: ActionContext) -> StepResult:
    found, path = run_file_path(params.file, context)
    name = target_name(params.file_name, found)
    folder = remote_folder(params.folder)
    secrets = Secrets(context)
    password = (
        secrets.get(params.password_secret, "password_secret") if params.password_secret else ""
    )
    upload = _Upload(
        params=params,
        path=path,
        folder=folder,
        name=name,
        temporary=part_name(name, context),
        password=password,
        tls=_tls_context(params, secrets),
    )

    def send() -> dict[str, Any]:
        try:
            return upload.run()
        except Exception as exc:
            raise _failure(exc, upload) from None

    output = with_retries(
        send,
        retries=params.retries,
        backoff_seconds=params.backoff_seconds,
        context=context,
        secrets=secrets,
    )
    scheme = "ftps" if params.tls == "explicit" else "ftp"
    return StepResult(
        output=output,
        message=f"{output['bytes']:,} bytes sent to {scheme}://{params.host}/"
        f"{output['remote_path'].lstrip('/')}",
    )


ACTION = ActionSpec(
    name="ftp_upload",
    label="FTP Upload",
    summary="Send a file of the run to an FTP or FTPS server (written then renamed)",
    params=FtpUploadParams,
    run=run,
    example="""\
- id: upload
  action: ftp_upload
  with:
    host: ftp.fulfilment.example.com
    tls: explicit
    username: idms
    password_secret: fulfilment-ftp
    folder: /inbound
    file: "{{ steps.csv }}"
""",
)
