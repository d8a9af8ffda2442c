"""The closed vocabulary of field types a source field can have."""

from __future__ import annotations

from enum import StrEnum


class FieldType(StrEnum):
    """How a field's values are read, stored and compared.

    ``code`` is text validated against a lookup table; ``phone`` and ``postal_code`` are text that
    keeps leading zeros; ``multiselect`` is a set of codes stored comma-separated, as iMIS does;
    ``password`` is write-only text that is never read back or shown.
    """

    STRING = "string"
    INTEGER = "integer"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    CODE = "code"
    EMAIL = "email"
    PHONE = "phone"
    POSTAL_CODE = "postal_code"
    MULTISELECT = "multiselect"
    GUID = "guid"
    PASSWORD = "password"

    @property
    def is_text(self) -> bool:
        return self in _TEXT_TYPES


_TEXT_TYPES = frozenset(
    {
        FieldType.STRING,
        FieldType.CODE,
        FieldType.EMAIL,
        FieldType.PHONE,
        FieldType.POSTAL_CODE,
        FieldType.MULTISELECT,
        FieldType.GUID,
        FieldType.PASSWORD,
    }
)
