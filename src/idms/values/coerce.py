"""Coercion of raw input values (CSV text, Excel cells, JSON) into typed field values, and back.

:func:`coerce` is the one way a raw value becomes the value of a field: blank input becomes None,
anything else becomes the Python value of the field's :class:`~idms.values.types.FieldType` or a
:class:`~idms.errors.CoercionError` whose message a data manager can act on (it names the field,
quotes the bad value, and never shows a password). :func:`to_text` renders a typed value back to
text, and the two round-trip: ``coerce(to_text(v, t), t) == v`` for every value ``coerce`` can
return.

Python types per field type: STRING, CODE, EMAIL, PHONE, POSTAL_CODE, GUID, PASSWORD -> ``str``;
INTEGER -> ``int``; DECIMAL -> ``decimal.Decimal``; BOOLEAN -> ``bool``; DATE -> ``datetime.date``;
DATETIME -> naive ``datetime.datetime`` (wall clock as written, never shifted between time zones);
MULTISELECT -> ``tuple[str, ...]``.
"""

from __future__ import annotations

import functools
import math
import re
import uuid
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

from idms.errors import CoercionError
from idms.values.types import FieldType

__all__ = ["coerce", "is_blank", "parse_bool", "to_text"]

_TRUE_SPELLINGS = ("1", "T", "True", "Y", "Yes")
_FALSE_SPELLINGS = ("0", "F", "False", "N", "No")
_BOOLEAN_WORDS = {s.casefold(): True for s in _TRUE_SPELLINGS} | {
    s.casefold(): False for s in _FALSE_SPELLINGS
}

_DIGITS = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+"
_NUMBER = re.compile(rf"(?P<sign>[+-]?)(?P<number>{_DIGITS})", re.ASCII)
_MONEY = re.compile(rf"(?P<sign>[+-]?)[$£€]?\s*(?P<sign2>[+-]?)(?P<number>{_DIGITS})", re.ASCII)
_SERIAL = re.compile(r"\d+(?:\.\d+)?", re.ASCII)
_ISO = re.compile(
    r"(?P<y>\d{4})(?P<sep>[-/])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})"
    r"(?:[Tt ](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d+))?)?"
    r" ?(?:[Zz]|[+-]\d{2}(?::?\d{2})?)?)?",
    re.ASCII,
)
_GUID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32}", re.IGNORECASE
)

_EXCEL_LAST_SERIAL = 2958465  # 9999-12-31
_EXCEL_FAKE_LEAP_DAY = 60  # 1900-02-29, which Excel counts although it never existed
_SECONDS_PER_DAY = 86400
_SAMPLE_MOMENT = datetime(2026, 1, 31, 14, 30, 0)
_QUOTE_LIMIT = 60


def is_blank(value: object) -> bool:
    """True when ``value`` is None or a str that is empty or only whitespace."""
    return value is None or (isinstance(value, str) and not value.strip())


def parse_bool(value: object, *, field: str = "") -> bool:
    """Read a yes/no value.

    True for 1/T/True/Y/Yes and False for 0/F/False/N/No (any case, surrounding whitespace
    ignored), a Python bool as is, and the numbers 1 and 0 (int, float or Decimal). Anything else,
    blanks included, raises :class:`CoercionError` with code ``not_a_boolean``.
    """
    if isinstance(value, bool):
        return value
    number = _finite_decimal(value)
    if number is not None and number in (0, 1):
        return number == 1
    if isinstance(value, str):
        found = _BOOLEAN_WORDS.get(value.strip().casefold())
        if found is not None:
            return found
    raise _Context(field).error(
        value,
        "is not a yes/no value (use "
        + ", ".join(_TRUE_SPELLINGS)
        + " for yes or "
        + ", ".join(_FALSE_SPELLINGS)
        + " for no, in any case)",
        "not_a_boolean",
    )


def coerce(
    value: object,
    ftype: FieldType,
    *,
    fmt: str | None = None,
    field: str = "",
    max_length: int | None = None,
) -> object:
    """Read ``value`` as a value of type ``ftype``.

    Blank input (see :func:`is_blank`) gives None for every type. Otherwise the typed value is
    returned (see the module docstring for the Python type of each field type), or
    :class:`CoercionError` is raised with a stable ``code`` and a message that names ``field``
    (when given) and quotes the value (never a password). ``fmt`` is a ``strptime`` format used
    for DATE and DATETIME strings. ``max_length`` limits the length of text types, measured on
    the value as :func:`to_text` renders it (code ``too_long``); other types ignore it.
    """
    if is_blank(value):
        return None
    if type(ftype) is not FieldType:
        ftype = FieldType(ftype)
    ctx = _Context(field, fmt, ftype is FieldType.PASSWORD)
    result = _COERCERS[ftype](value, ctx)
    if max_length is not None and ftype.is_text:
        text = to_text(result, ftype)
        if len(text) > max_length:
            unit = "character" if len(text) == 1 else "characters"
            problem = f"is {len(text)} {unit}; the most is {max_length}"
            raise ctx.error(text, problem, "too_long")
    return result


def to_text(value: object, ftype: FieldType) -> str:
    """Render a typed value as text that :func:`coerce` reads back as the same value.

    None -> ``""``; bool -> ``True``/``False``; date -> ``YYYY-MM-DD``; datetime -> ISO
    ``YYYY-MM-DDTHH:MM:SS`` (with ``.ffffff`` when it has microseconds; the date alone when
    ``ftype`` is DATE); Decimal -> plain digits, never an exponent; a tuple or list (multiselect)
    -> its items joined by commas (plus a trailing comma when a single item holds ``;`` or ``|``,
    which would otherwise be read as separators); anything else -> ``str(value)``.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, datetime):
        return value.date().isoformat() if ftype == FieldType.DATE else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, tuple | list):
        text = ",".join(str(item) for item in value)
        # One choice holding ";" or "|" gets a trailing comma, so it is not split on them.
        return f"{text}," if len(value) == 1 and any(s in text for s in ";|") else text
    return str(value)


class _Context:
    """What a per-type coercer needs besides the value: the field's name and format.

    A plain class with slots, not a frozen dataclass: one is made for every value coerced, and
    a frozen dataclass's ``__init__`` costs three times as much (it sets through ``object``).
    """

    __slots__ = ("field", "fmt", "secret")

    def __init__(self, field: str, fmt: str | None = None, secret: bool = False) -> None:
        self.field = field
        self.fmt = fmt
        self.secret = secret

    def error(self, value: object, problem: str, code: str) -> CoercionError:
        """A CoercionError reading ``<field>: '<value>' <problem>`` (``the password`` if secret)."""
        subject = "the password" if self.secret else _quote(value)
        prefix = f"{self.field}: " if self.field else ""
        return CoercionError(f"{prefix}{subject} {problem}", code=code)


def _quote(value: object) -> str:
    """The value in quotes for a message, cut short when long."""
    text = str(value)
    if len(text) > _QUOTE_LIMIT:
        text = text[: _QUOTE_LIMIT - 1] + "…"
    return f"'{text}'"


def _finite_decimal(value: object) -> Decimal | None:
    """An int, float or Decimal as a finite Decimal (floats through their shortest text)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(str(value)) if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    return None


def _whole(number: Decimal) -> int | None:
    """The number as an int when it has no fractional part."""
    return int(number) if number == number.to_integral_value() else None


def _number_text(value: object, *, whole_only: bool) -> str | None:
    """A finite number as text, else None.

    With ``whole_only`` only whole numbers are accepted and written as ints (``5.0`` -> ``"5"``).
    Otherwise an int or integral float is written as an int, another float through ``str`` and a
    Decimal in plain digits keeping its places (``Decimal("5.0")`` -> ``"5.0"``).
    """
    number = _finite_decimal(value)
    if number is None:
        return None
    whole = _whole(number)
    if whole_only:
        return None if whole is None else str(whole)
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value) if whole is None else str(whole)


# --- text types -----------------------------------------------------------------------------


def _string(value: object, ctx: _Context) -> str:
    """STRING and CODE: text stripped of surrounding whitespace.

    Numbers become text (``5.0`` -> ``"5"``, Decimals without exponent), bools ``True``/``False``,
    dates and datetimes ISO text; anything else is refused with code ``not_text``.
    """
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool | date):
        return to_text(value, FieldType.STRING)
    text = _number_text(value, whole_only=False)
    if text is None:
        raise ctx.error(value, "is not text", "not_text")
    return text


# The everyday shape of an address (ASCII dot-atom local part, a DNS name with a letter TLD),
# checked without the full validator, which costs ~80 µs an address. Anything else, and every
# refusal, goes through email-validator, so its verdicts and reasons stay the rule.
_PLAIN_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})"
)


def _plain_email(text: str) -> bool:
    if len(text) > 254:
        return False
    match = _PLAIN_EMAIL.fullmatch(text)
    if match is None or match.start(1) > 65:  # a local part of at most 64 characters
        return False
    return _plain_domain(match.group(1).lower())


@functools.lru_cache(maxsize=4096)
def _plain_domain(domain: str) -> bool:
    """Whether ``domain`` needs none of the full validator's rules: asked once per domain (a
    file holds a few hundred domains for many thousand addresses)."""
    if "--" in domain:  # IDNA rules on hyphens in 3rd/4th place: the full validator decides
        return False
    return not any(
        domain == special or domain.endswith("." + special) for special in _special_use_domains()
    )


@functools.cache
def _special_use_domains() -> tuple[str, ...]:
    """email-validator's special-use domains, imported with it when an address is first checked
    (not when idms starts: the import costs ~0.1 s, and most commands never check an address)."""
    from email_validator import SPECIAL_USE_DOMAIN_NAMES

    return tuple(SPECIAL_USE_DOMAIN_NAMES)


def _email(value: object, ctx: _Context) -> str:
    """EMAIL: the stripped text, as given (not lower-cased), when it is a valid address.

    The deliverability of the domain is not checked. Invalid -> code ``invalid_email`` with the
    validator's reason.
    """
    if not isinstance(value, str):
        raise ctx.error(value, "is not an email address", "invalid_email")
    text = value.strip()
    if _plain_email(text):
        return text
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ctx.error(text, f"is not a valid email address: {exc}", "invalid_email") from None
    return text


def _digits(value: object, ctx: _Context, noun: str) -> str:
    """Stripped text, leading zeros kept; a whole number (an Excel cell) becomes its digits."""
    if isinstance(value, str):
        return value.strip()
    text = _number_text(value, whole_only=True)
    if text is None:
        raise ctx.error(value, f"is not {noun}", "not_text")
    return text


def _phone(value: object, ctx: _Context) -> str:
    """PHONE: stripped text (``"01234"`` stays as is); a whole number becomes its digits."""
    return _digits(value, ctx, "a phone number")


def _postal_code(value: object, ctx: _Context) -> str:
    """POSTAL_CODE: stripped text (``"01234"`` stays as is); a whole number becomes its digits."""
    return _digits(value, ctx, "a postal code")


def _multiselect(value: object, ctx: _Context) -> tuple[str, ...] | None:
    """MULTISELECT: the distinct non-blank stripped items in first-seen order, or None if none.

    A str is split on commas (or, when it has no comma, on ``;`` or ``|``). A list or tuple gives
    its items in order, a set in sorted order; items are text or numbers, and may not contain a
    comma (code ``invalid_multiselect``), since the stored form separates items with commas.
    """
    raw: list[object]
    if isinstance(value, str):
        separator = next((s for s in ",;|" if s in value), ",")
        raw = [*value.split(separator)]
    elif isinstance(value, list | tuple | set | frozenset):
        raw = list(value)
    else:
        raise ctx.error(value, "is not a list of choices", "not_text")
    items: list[str] = []
    for item in raw:
        if is_blank(item):
            continue
        text = _string(item, ctx)
        if "," in text:
            raise ctx.error(
                text, "contains a comma, which separates the choices", "invalid_multiselect"
            )
        items.append(text)
    if isinstance(value, set | frozenset):
        items.sort()
    distinct = tuple(dict.fromkeys(items))
    return distinct or None


def _guid(value: object, ctx: _Context) -> str:
    """GUID: the canonical upper-case 8-4-4-4-12 hexadecimal form.

    Accepts a ``uuid.UUID`` and text with or without braces or hyphens; code ``invalid_guid``.
    """
    if isinstance(value, uuid.UUID):
        return str(value).upper()
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{") and text.endswith("}"):
            text = text[1:-1]
        if _GUID.fullmatch(text):
            return str(uuid.UUID(text)).upper()
    raise ctx.error(
        value,
        "is not a GUID (expected 32 hexadecimal digits such as "
        "6F9619FF-8B86-D011-B42D-00C04FC964FF)",
        "invalid_guid",
    )


def _password(value: object, ctx: _Context) -> str:
    """PASSWORD: the text exactly as given, not even stripped; whole numbers become text.

    Error messages never show the value.
    """
    if isinstance(value, str):
        return value
    text = _number_text(value, whole_only=True)
    if text is None:
        raise ctx.error(value, "is not text", "not_text")
    return text


# --- numbers and yes/no ---------------------------------------------------------------------


# The whole numbers a database column holds (a signed 64-bit integer).
_INT64_MAX = 2**63 - 1
_INT64_MIN = -(2**63)


def _integer(value: object, ctx: _Context) -> int:
    """INTEGER: a whole number from an int, an integral float or Decimal, or text such as
    ``"12"``, ``"12.0"`` or ``"1,234"``. Bools and fractions are refused: ``not_an_integer``;
    so is a number beyond 64 bits, which no database column holds (SQLite would raise
    ``OverflowError`` on it)."""
    number = _finite_decimal(value)
    if isinstance(value, str):
        match = _NUMBER.fullmatch(value.strip())
        if match:
            number = Decimal(match["sign"] + match["number"].replace(",", ""))
    whole = None if number is None else _whole(number)
    if whole is None:
        raise ctx.error(value, "is not a whole number", "not_an_integer")
    if not _INT64_MIN <= whole <= _INT64_MAX:
        raise ctx.error(
            value,
            f"is beyond the largest whole number a database holds ({_INT64_MAX:,})",
            "not_an_integer",
        )
    return whole


def _decimal(value: object, ctx: _Context) -> Decimal:
    """DECIMAL: a finite Decimal from an int, float (through its shortest text) or Decimal, or
    text such as ``"12.50"``, ``"-3"``, ``"1,234.5"`` or ``"$1,234.50"`` (an optional leading
    $, £ or € and thousands commas). NaN and infinity are refused: ``not_a_number``."""
    number = _finite_decimal(value)
    if isinstance(value, str):
        match = _MONEY.fullmatch(value.strip())
        if match and not (match["sign"] and match["sign2"]):
            sign = match["sign"] or match["sign2"]
            number = Decimal(sign + match["number"].replace(",", ""))
    if number is None:
        raise ctx.error(value, "is not a number", "not_a_number")
    return number


def _boolean(value: object, ctx: _Context) -> bool:
    """BOOLEAN: see :func:`parse_bool`."""
    return parse_bool(value, field=ctx.field)


# --- dates and times ------------------------------------------------------------------------


def _wall_clock(text: str) -> datetime | None:
    """An ISO-like date or date-time (``-`` or ``/`` between the date parts, an optional time,
    and an optional offset or ``Z`` that is ignored) as a naive datetime, else None."""
    match = _ISO.fullmatch(text)
    if not match:
        return None
    fraction = (match["f"] or "")[:6].ljust(6, "0")
    try:
        return datetime(
            int(match["y"]),
            int(match["m"]),
            int(match["d"]),
            int(match["H"] or 0),
            int(match["M"] or 0),
            int(match["S"] or 0),
            int(fraction),
        )
    except ValueError:
        return None


def _serial(value: object) -> Decimal | None:
    """An Excel serial number from a number or from text made of digits and a decimal point."""
    if isinstance(value, str):
        text = value.strip()
        return Decimal(text) if _SERIAL.fullmatch(text) else None
    return _finite_decimal(value)


def _excel_day(day: int, value: object, ctx: _Context, code: str) -> date:
    """The date of a whole Excel serial in the 1900 date system (1 = 1900-01-01)."""
    if not 1 <= day <= _EXCEL_LAST_SERIAL:
        raise ctx.error(
            value,
            f"is not a date (Excel day numbers run from 1 to {_EXCEL_LAST_SERIAL})",
            code,
        )
    if day == _EXCEL_FAKE_LEAP_DAY:
        raise ctx.error(
            value, "is Excel's day for 29 February 1900, a date that never existed", code
        )
    base = date(1899, 12, 31) if day < _EXCEL_FAKE_LEAP_DAY else date(1899, 12, 30)
    return base + timedelta(days=day)


def _strptime(value: str, fmt: str, ctx: _Context, what: str, code: str) -> datetime:
    """``value`` (stripped) read with ``fmt``, as a naive wall-clock datetime."""
    try:
        parsed = datetime.strptime(value.strip(), fmt)
    except ValueError:
        try:
            example = f" (for example {_SAMPLE_MOMENT.strftime(fmt)})"
        except ValueError:
            example = ""
        raise ctx.error(value, f"is not {what} in the format {fmt}{example}", code) from None
    return parsed.replace(tzinfo=None)


def _date(value: object, ctx: _Context) -> date:
    """DATE: a date; a datetime gives its wall-clock date (no time-zone conversion).

    Text is read with the field's format when it has one, else as ``YYYY-MM-DD`` or
    ``YYYY/MM/DD`` with an optional time (ignored) or as an Excel serial number; numbers are
    Excel serial numbers (fraction ignored). Anything else: ``not_a_date``.
    """
    code = "not_a_date"
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        if ctx.fmt is not None:
            return _strptime(value, ctx.fmt, ctx, "a date", code).date()
        parsed = _wall_clock(value.strip())
        if parsed is not None:
            return parsed.date()
    serial = _serial(value)
    if serial is None:
        raise ctx.error(
            value,
            "is not a date (expected YYYY-MM-DD, or give the column a format such as %m/%d/%Y)",
            code,
        )
    return _excel_day(int(serial.to_integral_value(ROUND_FLOOR)), value, ctx, code)


def _datetime(value: object, ctx: _Context) -> datetime:
    """DATETIME: a naive datetime holding the wall-clock time as written.

    A tz-aware datetime or a text offset keeps its wall-clock time and loses the offset (no
    shift). A date or date-only text is midnight. Text is read with the field's format when it
    has one, else as ISO (``T`` or space before the time) or as an Excel serial number; numbers
    are Excel serials whose fraction is the time, rounded to the second. Else: ``not_a_datetime``.
    """
    code = "not_a_datetime"
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime.combine(value, time())
    if isinstance(value, str):
        if ctx.fmt is not None:
            return _strptime(value, ctx.fmt, ctx, "a date and time", code)
        parsed = _wall_clock(value.strip())
        if parsed is not None:
            return parsed
    serial = _serial(value)
    if serial is None:
        raise ctx.error(
            value,
            "is not a date and time (expected YYYY-MM-DD HH:MM:SS, or give the column a format "
            "such as %m/%d/%Y %H:%M)",
            code,
        )
    whole = serial.to_integral_value(ROUND_FLOOR)
    day = _excel_day(int(whole), value, ctx, code)
    seconds = int(((serial - whole) * _SECONDS_PER_DAY).to_integral_value(ROUND_HALF_EVEN))
    try:
        return datetime.combine(day, time()) + timedelta(seconds=seconds)
    except OverflowError:  # 9999-12-31 23:59:59.5 or later rounds past the last day
        raise ctx.error(value, "is later than the last date, 9999-12-31", code) from None


_COERCERS: dict[FieldType, Callable[[object, _Context], object]] = {
    FieldType.STRING: _string,
    FieldType.INTEGER: _integer,
    FieldType.DECIMAL: _decimal,
    FieldType.BOOLEAN: _boolean,
    FieldType.DATE: _date,
    FieldType.DATETIME: _datetime,
    FieldType.CODE: _string,
    FieldType.EMAIL: _email,
    FieldType.PHONE: _phone,
    FieldType.POSTAL_CODE: _postal_code,
    FieldType.MULTISELECT: _multiselect,
    FieldType.GUID: _guid,
    FieldType.PASSWORD: _password,
}
"""One coercer per field type; each takes a non-blank value and returns the typed value."""


def coercer(
    ftype: FieldType,
    *,
    fmt: str | None = None,
    field: str = "",
    max_length: int | None = None,
) -> Callable[[object], object]:
    """A one-argument :func:`coerce` for one field, quick on the common cell shapes.

    Plain text, ISO dates, whole numbers, the yes/no spellings and everyday e-mail addresses are
    read directly; anything else (and every refusal) goes through :func:`coerce`, so results and
    messages are the same as calling it.
    """
    ftype = FieldType(ftype)

    def slow(value: object) -> object:
        return coerce(value, ftype, fmt=fmt, field=field, max_length=max_length)

    limit = max_length if max_length is not None else 1 << 30
    if ftype in (FieldType.STRING, FieldType.CODE, FieldType.PHONE, FieldType.POSTAL_CODE):

        def text(value: object) -> object:
            if type(value) is str:
                stripped = value.strip()
                if stripped and len(stripped) <= limit:
                    return stripped
            return slow(value)

        return text
    if ftype is FieldType.EMAIL:

        def email(value: object) -> object:
            if type(value) is str:
                stripped = value.strip()
                if len(stripped) <= limit and _plain_email(stripped):
                    return stripped
            return slow(value)

        return email
    if ftype is FieldType.DATE and fmt is None:

        def iso_date(value: object) -> object:
            if type(value) is str and len(value) == 10 and value[4] == "-" and value[7] == "-":
                try:
                    return date.fromisoformat(value)
                except ValueError:
                    pass
            return slow(value)

        return iso_date
    if ftype is FieldType.INTEGER:

        def integer(value: object) -> object:
            if type(value) is str and value.isascii() and value.isdigit():
                return int(value)
            return slow(value)

        return integer
    if ftype is FieldType.BOOLEAN:
        spellings = {s.casefold(): True for s in _TRUE_SPELLINGS}
        spellings.update({s.casefold(): False for s in _FALSE_SPELLINGS})

        def boolean(value: object) -> object:
            if type(value) is str:
                found = spellings.get(value.strip().casefold())
                if found is not None:
                    return found
            return slow(value)

        return boolean
    return slow
