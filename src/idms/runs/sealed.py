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
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Callable
from pathlib import Path
from typing import IO

from idms.errors import InvalidInputError, SecretError
from idms.private import private_open
from idms.secrets import SecretBox

__all__ = ["CHUNK", "MAGIC", "SealedReader", "is_sealed", "open_sealed", "seal_file"]

MAGIC = b"idms-sealed 1\n"
CHUNK = 1 << 20
_HEADER = struct.Struct(">QB")  # chunk number, last (1) or not (0)


def seal_file(box: SecretBox, source: str | Path, destination: str | Path) -> None:
    """Write ``source``'s bytes to ``destination`` (created 0600), sealed with ``box``."""
    with open(source, "rb") as plain, private_open(destination, "wb") as sealed:
        sealed.write(MAGIC)
        number = 0
        chunk = plain.read(CHUNK)
        while True:
            following = plain.read(CHUNK) if len(chunk) == CHUNK else b""
            last = not following
            token = box.encrypt_bytes(_HEADER.pack(number, int(last)) + chunk)
            sealed.write(token.encode("ascii") + b"\n")
            if last:
                break
            chunk, number = following, number + 1
        sealed.flush()
        os.fsync(sealed.fileno())


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

    def __init__(self, box: SecretBox, path: str | Path) -> None:
        self._box = box
        self._name = Path(path).name
        self._file = open(path, "rb")  # noqa: SIM115 - closed with the reader
        try:
            if self._file.read(len(MAGIC)) != MAGIC:
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
        return InvalidInputError(
            f"The sealed copy {self._name} cannot be read: it was changed, cut short, or sealed "
            "with another key. Run the job again from its original file."
        )
