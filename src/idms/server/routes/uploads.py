"""``/uploads``: the files a job reads, sent to the server (``multipart/form-data``, one part
named ``file``), listed, read and deleted. A job then names one as ``"input": {"upload": ID}``.

The file is parsed as it streams in and written to the workspace chunk by chunk
(:mod:`idms.io.uploads`): never held in memory, refused with a 413 once past the upload limit.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from idms.config import show_size
from idms.errors import InvalidInputError
from idms.io.uploads import UploadInfo, UploadStore, UploadTooLarge, UploadWriter
from idms.server.auth import Context
from idms.server.errors import ApiError
from idms.server.schemas import Deleted, ErrorBody, UploadOut
from idms.server.urls import absolute

router = APIRouter(tags=["uploads"])

FILE_PART = "file"
NOT_MULTIPART = "The upload is not a valid multipart body"
HOW = "send the file as multipart/form-data in a part named 'file' (curl -F file=@roster.csv)"
UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [FILE_PART],
                    "properties": {
                        FILE_PART: {
                            "type": "string",
                            "format": "binary",
                            "description": "The file: .csv, .tsv, .txt, .xlsx or .xlsm",
                        }
                    },
                },
            }
        },
    }
}


def upload_out(info: UploadInfo) -> UploadOut:
    return UploadOut(**info.as_dict())


@router.post(
    "/uploads",
    status_code=201,
    response_model=UploadOut,
    summary='Upload a file for jobs to read; a job names it as {"upload": ID}',
    openapi_extra=UPLOAD_BODY,
    responses={
        201: {"description": "Kept; Location is the upload's URL"},
        400: {"model": ErrorBody, "description": "Not a file a job can read, or no file"},
        413: {"model": ErrorBody, "description": "Larger than the upload limit"},
    },
)
async def create_upload(context: Context, request: Request) -> Response:
    store = context.workspace.uploads
    receiver = _Receiver(store)
    try:
        await receiver.receive(request)
        info = await run_in_threadpool(receiver.finish)
    except BaseException:
        await run_in_threadpool(receiver.discard)
        raise
    out = upload_out(info)
    return JSONResponse(
        out.model_dump(mode="json"),
        status_code=201,
        headers={"Location": absolute(request, f"{context.prefix}/uploads/{info.id}")},
    )


@router.get("/uploads", response_model=list[UploadOut], summary="The uploads, newest first")
def list_uploads(context: Context) -> list[UploadOut]:
    return [upload_out(i) for i in context.workspace.uploads.list()]


@router.get(
    "/uploads/{upload_id}",
    response_model=UploadOut,
    summary="An upload: its name, size and columns",
    responses={404: {"model": ErrorBody}},
)
def get_upload(context: Context, upload_id: str) -> UploadOut:
    return upload_out(context.workspace.uploads.get(upload_id))


@router.delete(
    "/uploads/{upload_id}",
    response_model=Deleted,
    summary="Delete an upload (runs queued from it keep their own copy)",
    responses={404: {"model": ErrorBody}},
)
def delete_upload(context: Context, upload_id: str) -> Deleted:
    return Deleted(deleted=context.workspace.uploads.delete(upload_id).id)


class _Receiver:
    """The multipart body, parsed as it streams in: the part named ``file`` goes to an
    :class:`UploadWriter`; other parts are ignored."""

    def __init__(self, store: UploadStore) -> None:
        self.store = store
        self.writer: UploadWriter | None = None
        self.pending: list[bytes] = []
        self._header_field = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._in_file = False
        self._error: Exception | None = None

    async def receive(self, request: Request) -> None:
        kind, options = parse_options_header(request.headers.get("content-type", ""))
        boundary = options.get(b"boundary")
        if kind != b"multipart/form-data" or not boundary:
            raise InvalidInputError(f"No file: {HOW}.")
        parser = MultipartParser(
            boundary,
            callbacks={
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_field_data,
                "on_header_value": self._header_value_data,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
            },
        )
        async for chunk in request.stream():
            try:
                parser.write(chunk)
            except FormParserError:
                raise InvalidInputError(
                    f"The upload is not a valid multipart body: {HOW}."
                ) from None
            if self._error is not None:
                raise self._error
            await self._flush()
        try:
            parser.finalize()
        except FormParserError:
            raise InvalidInputError(f"{NOT_MULTIPART}: {HOW}.") from None
        await self._flush()
        if self.writer is None:
            raise InvalidInputError(f"No file: {HOW}.")

    async def _flush(self) -> None:
        if self.pending and self.writer is not None:
            data = b"".join(self.pending)
            self.pending.clear()
            try:
                await run_in_threadpool(self.writer.write, data)
            except UploadTooLarge as exc:
                raise ApiError(
                    413,
                    f"The file is larger than the {show_size(exc.limit)} an upload may be; "
                    "nothing was kept.",
                ) from None

    def finish(self) -> UploadInfo:
        assert self.writer is not None
        return self.writer.finish()

    def discard(self) -> None:
        if self.writer is not None:
            self.writer.discard()

    # ---- the parser's callbacks (they must not raise: an error is kept for receive) ----------

    def _part_begin(self) -> None:
        self._headers = {}
        self._in_file = False

    def _header_field_data(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field = self._header_value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        if options.get(b"name", b"").decode("utf-8", "replace") != FILE_PART:
            return
        if self.writer is not None:
            self._error = InvalidInputError("One file per upload: send the others one by one.")
            return
        name = options.get(b"filename")
        if name is None:
            self._error = InvalidInputError(f"The part named 'file' is not a file: {HOW}.")
            return
        try:
            self.writer = self.store.begin(name.decode("utf-8", "replace"))
        except InvalidInputError as exc:
            self._error = exc
            return
        self._in_file = True

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file and self._error is None:
            self.pending.append(bytes(data[start:end]))

    def _part_end(self) -> None:
        self._in_file = False
