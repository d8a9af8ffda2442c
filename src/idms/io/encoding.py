"""Which text encoding a file is in: given, marked, or weighed from its content, never guessed.

:func:`find_encoding` decides, in this order:

1. An encoding the job gives (``input.encoding``) always wins and is never second-guessed.
2. A byte-order mark: UTF-8 (``utf-8-sig``), UTF-16, UTF-32.
3. Many NUL bytes: UTF-16 without a mark (``utf-16-le``/``utf-16-be`` from where the NULs sit).
4. A sample that is valid UTF-8 (plain ASCII included) is UTF-8.
5. Otherwise the sample (a bounded prefix: whole lines of the first 64 KiB) is weighed.
   charset-normalizer proposes the readings that make sense among the encodings Excel and common
   exports write (:data:`CANDIDATES`); readings that give the same text are one reading, named
   by the first of :data:`CANDIDATES` among them. Each reading's words are then checked for the
   marks of mojibake (:func:`garbled`): a symbol glued to letters (``£ukasiewicz``), accented
   letters no one language writes together (``Dvoøák`` passes, ``Rùžièka`` does not), Latin
   letters mixed with Cyrillic or Greek in one word (``Gьnюenhaven``), a capital inside a word
   (``MŸller``). A reading's doubts are its garbled words, plus charset-normalizer's mess ratio
   times its words, plus (for text in another script than Latin, where words alone cannot tell
   Hebrew from Cyrillic) how much worse its language fit is than the best reading's. The
   reading with the fewest doubts wins; how sure that is, is the share of the evidence against
   the runner-up, ``(b + 1) / (a + b + 2)`` for ``a`` doubts of the winner and ``b`` of the
   runner-up (with no runner-up, ``b`` is every word with a letter beyond ASCII). Under
   :data:`MIN_CONFIDENCE`, or when a quarter of the winner's words look garbled, the file is
   refused, naming the likely encodings and a word as each of them reads it: nothing is stored in
   a guessed encoding. (A few names whose accents read as plausible letters in two code pages,
   windows-1252's "Zoë" and windows-1257's "Zoė", are such a case.)

Single-byte code pages decode any byte, so the choice between two of them is made on words, not
on decoding errors; a file whose first 64 KiB hold no letter beyond ASCII is read as UTF-8, and a
later byte that is not UTF-8 stops the run at its row (:mod:`idms.io.csv`).
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from idms.errors import InvalidInputError

__all__ = [
    "CANDIDATES",
    "MIN_CONFIDENCE",
    "EncodingFound",
    "check_encoding",
    "describe_encoding",
    "encoding_label",
    "find_encoding",
    "garbled",
]

EncodingBasis = Literal["given", "bom", "nul-bytes", "utf-8", "detected"]

# The encodings weighed when a file has no mark and is not UTF-8, in order of preference when
# they read the sample alike: (Python codec as charset-normalizer names it, the name idms shows
# and accepts back, what it is for).
CANDIDATES: tuple[tuple[str, str, str], ...] = (
    ("cp1252", "windows-1252", 'Western European Windows, Excel\'s "ANSI"'),
    ("cp1250", "windows-1250", "Central European Windows"),
    ("cp1251", "windows-1251", "Cyrillic Windows"),
    ("cp1253", "windows-1253", "Greek Windows"),
    ("cp1254", "windows-1254", "Turkish Windows"),
    ("cp1257", "windows-1257", "Baltic Windows"),
    ("cp1255", "windows-1255", "Hebrew Windows"),
    ("cp1256", "windows-1256", "Arabic Windows"),
    ("cp1258", "windows-1258", "Vietnamese Windows"),
    ("mac_roman", "mac-roman", "Mac OS Roman"),
    ("latin_1", "iso-8859-1", "Latin-1"),
    ("iso8859_2", "iso-8859-2", "Latin-2, Central European"),
    ("iso8859_5", "iso-8859-5", "ISO Cyrillic"),
    ("iso8859_7", "iso-8859-7", "ISO Greek"),
    ("koi8_r", "koi8-r", "Russian KOI8-R"),
    ("cp932", "cp932", "Japanese Shift-JIS"),
    ("gb18030", "gb18030", "Simplified Chinese GB18030/GBK"),
    ("cp950", "cp950", "Traditional Chinese Big5"),
    ("cp949", "cp949", "Korean EUC-KR"),
)
_NAME = {codec: name for codec, name, _ in CANDIDATES}
_RANK = {codec: rank for rank, (codec, _, _) in enumerate(CANDIDATES)}
_LABELS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8",
    "utf-16": "UTF-16",
    "utf-16-le": "UTF-16",
    "utf-16-be": "UTF-16",
    "utf-32": "UTF-32",
    **{name: f"{name} ({what})" for _, name, what in CANDIDATES},
}

MIN_CONFIDENCE = 0.75
_NUL_PROBE = 4096
_MAX_WORDS = 4000  # words with a letter beyond ASCII checked per reading (bounds the time)


@dataclass(frozen=True)
class EncodingFound:
    """The encoding a file is read in, and why: given, a byte-order mark, NUL bytes (UTF-16),
    valid UTF-8, or detected from the content with ``confidence`` (0..1)."""

    name: str
    basis: EncodingBasis
    confidence: float | None = None

    def describe(self) -> str:
        """E.g. "windows-1250 (detected, 97% sure)", "utf-8-sig (byte-order mark)"."""
        return describe_encoding(self.name, self.basis, self.confidence)


_WHY = {
    "given": "as given",
    "bom": "byte-order mark",
    "nul-bytes": "detected from its NUL bytes",
    "utf-8": "valid UTF-8",
    "detected": "detected",
}


def describe_encoding(name: str, basis: str | None, confidence: float | None) -> str:
    """An encoding and why it was chosen, for people: "windows-1250 (detected, 97% sure)"."""
    why = _WHY.get(basis or "")
    if why is None:
        return name
    if confidence is not None:
        why += f", {percent(confidence)} sure"
    return f"{name} ({why})"


def percent(share: float) -> str:
    """A share as a whole percentage, never rounded up to a certainty it is not."""
    return f"{min(int(share * 100), 99 if share < 1 else 100)}%"


def encoding_label(name: str) -> str:
    """A name for messages: "UTF-8", "windows-1250 (Central European Windows)", or ``name``."""
    return _LABELS.get(name.lower(), name)


def check_encoding(name: str) -> str:
    try:
        info = codecs.lookup(name)
    except LookupError:
        raise InvalidInputError(
            f"Unknown encoding '{name}'. Common ones: utf-8, windows-1252 (Excel's \"ANSI\" on "
            f"Western Windows), windows-1250 (Central European), windows-1251 (Cyrillic), "
            f"utf-16; or leave encoding out to detect it."
        ) from None
    if not getattr(info, "_is_text_encoding", True):
        raise InvalidInputError(f"'{name}' is not a text encoding. Try utf-8 or windows-1252.")
    return name


def find_encoding(sample: bytes, at_end: bool, given: str | None, where: str) -> EncodingFound:
    """The encoding of a file whose first bytes are ``sample`` (all of it when ``at_end``).

    ``given`` (the job's ``encoding``, unless ``auto``) wins. Raises
    :class:`~idms.errors.InvalidInputError` naming the likely encodings when the content does not
    tell them apart; ``where`` names the file in messages.
    """
    if given is not None:
        return EncodingFound(check_encoding(given), "given")
    if sample.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return EncodingFound("utf-32", "bom")
    if sample.startswith(codecs.BOM_UTF8):
        return EncodingFound("utf-8-sig", "bom")
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return EncodingFound("utf-16", "bom")
    head = sample[:_NUL_PROBE]
    head = head[: len(head) - len(head) % 2]
    if head:
        even_nuls = head[0::2].count(0)
        odd_nuls = head[1::2].count(0)
        if even_nuls + odd_nuls > len(head) // 4:  # ASCII text in UTF-16: every other byte is 0
            return EncodingFound("utf-16-le" if odd_nuls >= even_nuls else "utf-16-be", "nul-bytes")
    try:
        codecs.getincrementaldecoder("utf-8")("strict").decode(sample, at_end)
    except UnicodeDecodeError:
        return _weigh(sample if at_end else _whole_lines(sample), where)
    return EncodingFound("utf-8", "utf-8")


def _whole_lines(sample: bytes) -> bytes:
    """The sample up to its last line end: no character cut in two. (In the multi-byte code
    pages weighed, a byte 0x0A is always a line feed, never the second byte of a character.)"""
    end = sample.rfind(b"\n")
    return sample[: end + 1] if end > 0 else sample


@dataclass
class _Reading:
    name: str  # the CANDIDATES name of the preferred encoding giving this text
    text: str
    chaos: float  # charset-normalizer's mess ratio (0 clean .. 1)
    coherence: float  # charset-normalizer's fit to a language's letter frequencies (0 .. 1)
    words: int  # words with a letter beyond ASCII
    garbled: int  # of them, how many look garbled
    foreign: int  # of them, how many are in a script other than Latin
    doubts: float = 0.0  # the evidence against this reading, in garbled words


def _weigh(sample: bytes, where: str) -> EncodingFound:
    from charset_normalizer import from_bytes

    matches = from_bytes(
        sample,
        cp_isolation=[codec for codec, _, _ in CANDIDATES],
        preemptive_behaviour=False,  # a cell saying "charset=..." is data, not a declaration
        enable_fallback=False,
    )
    readings: dict[str, _Reading] = {}
    for match in matches:
        text = str(match)
        codecs_alike = [c for c in match.could_be_from_charset if c in _RANK] or [match.encoding]
        codec = min(codecs_alike, key=lambda c: _RANK.get(c, len(_RANK)))
        known = readings.get(text)
        if known is not None:
            if _RANK.get(codec, len(_RANK)) < _RANK.get(_codec_of(known.name), len(_RANK)):
                known.name = _NAME.get(codec, codec)
            continue
        words, bad, foreign = _count_garbled(text)
        name = _NAME.get(codec, codec)
        reading = _Reading(name, text, match.chaos, match.coherence, words, bad, foreign)
        readings[text] = reading
    if not readings:
        raise InvalidInputError(
            f"{where} is not UTF-8, and none of the usual encodings reads it as text (is it a "
            f"text file?). If it is, say which encoding it is in: set encoding in the job's "
            f"input (input.encoding), e.g. encoding: windows-1252.",
            hint="On the command line: --encoding NAME.",
        )
    coherent = max(r.coherence for r in readings.values())
    for r in readings.values():
        # Garbled words are the evidence where the text is Latin; charset-normalizer's mess
        # ratio counts everywhere, and its language fit decides between readings in other
        # scripts (Hebrew read as KOI8-R is Cyrillic letters that spell no Russian).
        r.doubts = r.garbled + r.words * r.chaos
        if r.foreign * 2 > r.words:
            r.doubts += r.words * (coherent - r.coherence)
    # on equal evidence, the more common encoding is named first (it is not chosen: see below)
    ranked = sorted(readings.values(), key=lambda r: (r.doubts, _RANK.get(_codec_of(r.name), 99)))
    best = ranked[0]
    rival = ranked[1].doubts if len(ranked) > 1 else best.words
    confidence = (rival + 1) / (best.doubts + rival + 2)
    if confidence < MIN_CONFIDENCE or best.garbled * 4 > best.words:
        raise _ambiguous(where, ranked[:3], confidence)
    return EncodingFound(best.name, "detected", confidence)


def _codec_of(name: str) -> str:
    return next((codec for codec, shown, _ in CANDIDATES if shown == name), name)


def _ambiguous(where: str, ranked: list[_Reading], confidence: float) -> InvalidInputError:
    first = ranked[0]
    example = _first_difference(first.text, ranked[1].text) if len(ranked) > 1 else None
    if example is not None:
        shown = [f"as {first.name} it reads “{example[0]}”"]
        shown.append(f"as {ranked[1].name} “{example[1]}”")
        readings = "; ".join(shown)
    else:
        readings = ", ".join(encoding_label(r.name) for r in ranked)
    candidates = " or ".join(f'"encoding: {r.name}"' for r in ranked[:2])
    return InvalidInputError(
        f"{where} is not UTF-8, and its content does not say clearly enough which encoding it "
        f"was saved in (the likeliest, {encoding_label(first.name)}, is only "
        f"{percent(confidence)} sure): {readings}. Nothing was read. Say which encoding the "
        f"file is in: add {candidates} to the job's input (input.encoding), or save the file as "
        f"UTF-8.",
        hint=f"On the command line: --encoding {first.name} (or another of those named).",
    )


def _first_difference(a: str, b: str) -> tuple[str, str] | None:
    for left, right in zip(_WORD.findall(a), _WORD.findall(b), strict=False):
        if left != right:
            return left, right
    return None


# --- what garbled text looks like ------------------------------------------------------------

# Letters beyond ASCII that languages written in these code pages use. A word's accented letters
# must all belong to one of them; (letters, markers): with markers, the word needs one of them
# (Vietnamese shares most of its vowels with every other Latin alphabet).
_ALPHABETS: tuple[tuple[frozenset[str], frozenset[str]], ...] = tuple(
    (frozenset(letters), frozenset(markers))
    for letters, markers in (
        ("àâæçéèêëîïôœùûüÿ", ""),  # French
        ("äöüß", ""),  # German
        ("áéíñóúü", ""),  # Spanish
        ("àçèéíïòóúü", ""),  # Catalan
        ("áâãàçéêíóôõú", ""),  # Portuguese
        ("àèéìíîòóùú", ""),  # Italian
        ("éèëïöü", ""),  # Dutch
        ("æøåé", ""),  # Danish, Norwegian
        ("åäöé", ""),  # Swedish
        ("åäöšž", ""),  # Finnish
        ("áðéíóúýþæö", ""),  # Icelandic
        ("áðíóúýæø", ""),  # Faroese
        ("ąćęłńóśźż", ""),  # Polish
        ("áčďéěíňóřšťúůýž", ""),  # Czech
        ("áäčďéíĺľňóôŕšťúýž", ""),  # Slovak
        ("áéíóöőúüű", ""),  # Hungarian
        ("čćđšž", ""),  # Croatian, Bosnian, Serbian (Latin), Slovenian
        ("ăâîșțşţ", ""),  # Romanian
        ("çë", ""),  # Albanian
        ("çğıöşüâîû\u0307", ""),  # Turkish (İ lowers to i + U+0307)
        ("ąčęėįšųūž", ""),  # Lithuanian
        ("āčēģīķļņšūž", ""),  # Latvian
        ("äõöüšž", ""),  # Estonian
        (
            "àáâãèéêìíòóôõùúýăđĩũơư\u0300\u0301\u0303\u0309\u0323",
            "ăđơư\u0300\u0301\u0303\u0309\u0323",
        ),  # Vietnamese (cp1258 writes tones as combining marks)
    )
)
# Scripts other than Latin: a word keeps to one of them (CJK, kana and Hangul as one).
_SCRIPTS = (
    (0x0370, 0x03FF, "Greek"),
    (0x1F00, 0x1FFF, "Greek"),
    (0x0400, 0x052F, "Cyrillic"),
    (0x0590, 0x05FF, "Hebrew"),
    (0x0600, 0x06FF, "Arabic"),
    (0x1100, 0x11FF, "CJK"),
    (0x3000, 0x9FFF, "CJK"),
    (0xAC00, 0xD7AF, "CJK"),
    (0xFF00, 0xFFEF, "CJK"),
)
_PUNCTUATION = frozenset("’‘“”–—…·«»„‚")  # typographic punctuation Excel's AutoCorrect writes
_WORD = re.compile(r"[^\s,;|\"]+")


def _script(char: str) -> str | None:
    code = ord(char)
    for low, high, name in _SCRIPTS:
        if low <= code <= high:
            return name
    return None


def garbled(word: str) -> bool:
    """Whether a word (no spaces or delimiters) shows the marks of text read in the wrong
    encoding: a symbol glued to a letter, a capital inside a word, accented letters no one
    alphabet has together, Latin letters mixed with another script."""
    letters: set[str] = set()
    scripts: set[str] = set()
    latin = False
    last = len(word) - 1
    for i, char in enumerate(word):
        if char.isascii():
            latin = latin or char.isalpha()
            continue
        kind = unicodedata.category(char)
        if kind[0] == "L":
            script = _script(char)
            if script is not None:
                scripts.add(script)
                continue
            latin = True
            lower = char.lower()
            letters.update(c for c in lower if not c.isascii())
            if (
                lower != char
                and i > 0
                and word[i - 1].isalpha()
                and (word[i - 1].islower() or (i < last and word[i + 1].islower()))
            ):
                return True  # "MŸller", "GrŠfe"
            if lower == char and i < last and word[i + 1].isupper() and word[i + 1].isascii():
                return True  # "OíBrien": Mac Roman's í for Windows' ’
        elif kind[0] == "M":
            if _script(char) is None and (i == 0 or _script(word[i - 1]) is None):
                letters.add(char)  # a combining accent on a Latin letter (Vietnamese tones)
        elif kind != "Cf" and char not in _PUNCTUATION:  # Cf: joiners, direction marks
            touching = word[max(i - 1, 0) : i] + word[i + 1 : i + 2]
            if any(c.isalpha() for c in touching):
                return True  # "£ukasiewicz", "Stra§e"
    if len(scripts - {"CJK"}) + (latin and bool(scripts - {"CJK"})) > 1:
        return True
    if letters and not any(
        letters <= alphabet and (not markers or not letters.isdisjoint(markers))
        for alphabet, markers in _ALPHABETS
    ):
        return True
    return word[0] == "’" and len(word) > 1 and word[1].isalpha()  # iso-8859-7's ’ for Ά


def _count_garbled(text: str) -> tuple[int, int, int]:
    """(words with a letter beyond ASCII, how many of them look garbled, how many are in a script
    other than Latin), over a bounded number of words."""
    words = bad = foreign = 0
    for word in _WORD.findall(text):
        if word.isascii():
            continue
        words += 1
        bad += garbled(word)
        foreign += any(_script(c) is not None for c in word if not c.isascii())
        if words >= _MAX_WORDS:
            break
    return words, bad, foreign
