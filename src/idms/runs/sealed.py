"""Sealed files: a file's bytes encrypted with the workspace's key, read back as a stream.

A run queued now reads its input later (an executor, a schedule's fire, a resume after a
crash), so its input is copied into the runs folder when it is queued; the copy may hold
passwords and every other member detail, so it is sealed as staged batches are (Fernet:
AES-128-CBC + HMAC-SHA256, the keys of :class:`~idms.secrets.SecretBox`) and never lies there
in plain text.

The file is a header line then one Fernet token per line, each sealing a chunk of
:data:`CHUNK` bytes (the last may be shorter) prefixed with its number and whether it is the
last one: chunks cannot be reordered, dropped or cut off without the reading failing. Memory
stays at one chunk whatever the file's size; :class:`SealedReader` is seekable (a chunk's
place follows from its number, all full chunks sealing to tokens of one length).

The same format carries records (:func:`write_records`, :func:`read_records`): a durable
run's copy of its query's rows, which are member data as much as an input file is.
"""

from __future__ import annotations

import io
import os
import pickle  # nosec B403 # only records this module sealed (read_records)
import shutil
import struct
from collections.abc import Callable, Generator, Iterable
from pathlib import Path
from typing import IO, Any

from idms.errors import InvalidInputError, SecretError
from idms.private import private_open
from idms.secrets import SecretBox

__all__ = [
    "CHUNK",
    "MAGIC",
    "SealedReader",
    "SealedWriter",
    "is_sealed",
    "open_sealed",
    "read_records",
    "seal_file",
    "write_records",
]

MAGIC = b"idms-sealed 1\n"
CHUNK = 1 << 20
_HEADER = struct.Struct(">QB")  # chunk number, last (1) or not (0)


def seal_file(box: SecretBox, source: str | Path, destination: str | Path) -> None:
    """Write ``source``'s bytes to ``destination`` (created 0600), sealed with ``box``."""
    with open(source, "rb") as plain, private_open(destination, "wb") as sealed:
        writer = SealedWriter(box, sealed)
        shutil.copyfileobj(plain, writer, CHUNK)
        writer.finish()
        sealed.flush()
        os.fsync(sealed.fileno())


class SealedWriter:
    """Bytes written to ``handle`` sealed with ``box``, a chunk at a time; :meth:`finish` seals
    the last one (a file never finished reads as cut short)."""

    def __init__(self, box: SecretBox, handle: IO[bytes]) -> None:
        self._box = box
        self._handle = handle
        self._pending = bytearray()
        self._number = 0
        handle.write(MAGIC)

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._pending += data
        # A chunk is sealed once more bytes follow it: the last one must say it is the last.
        while len(self._pending) > CHUNK:
            self._seal(bytes(self._pending[:CHUNK]), last=False)
            del self._pending[:CHUNK]
        return len(data)

    def finish(self) -> None:
        self._seal(bytes(self._pending), last=True)
        self._pending = bytearray()

    def _seal(self, chunk: bytes, *, last: bool) -> None:
        token = self._box.encrypt_bytes(_HEADER.pack(self._number, int(last)) + chunk)
        self._handle.write(token.encode("ascii") + b"\n")
        self._number += 1


def write_records(box: SecretBox, records: Iterable[Any], handle: IO[bytes]) -> int:
    """Seal ``records`` (any picklable values, one after the other) into ``handle``; how many."""
    writer = SealedWriter(box, handle)
    count = 0
    for record in records:
        pickle.dump(record, writer, protocol=pickle.HIGHEST_PROTOCOL)
        count += 1
    writer.finish()
    return count


def read_records(
    box: SecretBox, source: str | Path | IO[bytes], *, name: str, broken: str
) -> Generator[Any, None, None]:
    """The records :func:`write_records` sealed, one at a time; :class:`InvalidInputError`
    saying ``broken`` when the file was changed, cut short or sealed with another key."""
    raw = SealedReader(box, source, name=name, broken=broken)
    with io.BufferedReader(raw, buffer_size=CHUNK) as plain:
        while True:
            try:
                # Decrypted and authenticated with the key: bytes this process's key sealed.
                yield pickle.load(plain)  # nosec B301
            except EOFError:
                return


def is_sealed(path: str | Path) -> bool:
    """Whether ``path`` is a sealed file (by its header)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


def open_sealed(box: SecretBox) -> Callable[[Path], IO[bytes]]:
    """An opener of sealed files for :func:`idms.io.reader.open_input`: their plain bytes."""

    def opener(path: Path) -> IO[bytes]:
        return io.BufferedReader(SealedReader(box, path), buffer_size=CHUNK)

    return opener


class SealedReader(io.RawIOBase):
    """The plain bytes of a sealed file, read (and seeked) a chunk at a time."""

    def __init__(
        self,
        box: SecretBox,
        source: str | Path | IO[bytes],
        *,
        name: str | None = None,
        broken: str | None = None,
    ) -> None:
        """``source`` is a path or a binary file (closed with the reader, read from its
        start); ``name`` labels the file in messages, ``broken`` is what is said when it was
        changed, cut short, or sealed with another key."""
        self._box = box
        if isinstance(source, str | Path):
            self._name = name or Path(source).name
            self._file: IO[bytes] = open(source, "rb")  # noqa: SIM115 - closed with the reader
        else:
            self._name = name or "a sealed file"
            self._file = source
            self._file.seek(0)
        self._message = broken
        try:
            if self._file.read(len(MAGIC)) != MAGIC:
                if broken is not None:
                    raise InvalidInputError(broken)
                raise InvalidInputError(f"{self._name} is not a sealed copy of an input file.")
            first = self._file.readline()
        except BaseException:
            self._file.close()
            raise
        self._line = len(first)  # every full chunk's token line is this long
        self._number = -1  # the chunk in hand
        self._plain = b""
        self._last = False
        self._position = 0
        try:
            # The last chunk first: it must say it is the last (the file is whole), and it
            # tells the size.
            length = os.fstat(self._file.fileno()).st_size - len(MAGIC)
            final = max(0, -(-length // self._line) - 1) if self._line else 0
            self._goto(final)
            if not self._last:
                raise self._broken()
            self._length = final * CHUNK + len(self._plain)
        except BaseException:
            self._file.close()
            raise

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR:
            offset += self._position
        elif whence == io.SEEK_END:
            offset += self._length
        elif whence != io.SEEK_SET:
            raise ValueError(f"invalid whence ({whence})")
        if offset < 0:
            raise ValueError(f"negative seek position {offset}")
        self._position = offset
        return offset

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        if self._position >= self._length:
            return 0
        number, within = divmod(self._position, CHUNK)
        if number != self._number:
            self._goto(number)
        data = self._plain[within : within + len(buffer)]
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._file.close()
            self._plain = b""
        super().close()

    def _goto(self, number: int) -> None:
        """Load chunk ``number``."""
        self._file.seek(len(MAGIC) + number * self._line)
        self._load(number, self._file.readline())

    def _load(self, number: int, line: bytes) -> None:
        try:
            raw = self._box.decrypt_bytes(line.strip().decode("ascii"), name=self._name)
        except (SecretError, UnicodeDecodeError):
            raise self._broken() from None
        found, last = _HEADER.unpack_from(raw)
        if found != number or (not last and len(raw) - _HEADER.size != CHUNK):
            raise self._broken()
        self._number, self._last, self._plain = number, bool(last), raw[_HEADER.size :]

    def _broken(self) -> InvalidInputError:
        if self._message is not None:
            return InvalidInputError(self._message)
        return InvalidInputError(
            f"The sealed copy {self._name} cannot be read: it was changed, cut short, or sealed "
            "with another key. Run the job again from its original file."
        )
