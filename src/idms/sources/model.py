"""The shape of a source declaration: fields, keys, actions, platforms, defaults, rules.

A source is data, not code paths (ARCHITECTURE.md): the engine and the targets read these
declarations; adding a source means adding a declaration (``catalog.py``) and its rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from idms.errors import UnknownFieldError
from idms.values.types import FieldType

if TYPE_CHECKING:
    from idms.sources.rules import SourceChecks


class Action(StrEnum):
    """The five iDMS actions."""

    INSERT = "insert"
    INSERT_WITH_MATCHING = "insert-with-matching"
    UPDATE = "update"
    INSERT_UPDATE = "insert-update"
    DELETE = "delete"


ALL_ACTIONS = frozenset(Action)
# Platform names a source can declare: an iMIS platform, or "embedded" for "the embedded store
# offers it under any platform, for rehearsal" (see SourceDef.available_on).
PLATFORM_NAMES = ("embedded", "ems", "2017")


def fold(name: str) -> str:
    """A name as people write it, compared without case, spaces, underscores or punctuation, in
    any script: 'iMIS ID' == 'imis_id' == 'ImisId', 'Größe' == 'GRÖSSE'."""
    return "".join(c for c in name.casefold() if c.isalnum())


@dataclass(frozen=True)
class DefaultRule:
    """What the store uses when an insert leaves a field unmapped or blank.

    kind: ``today`` (the current date), ``field`` (another field's value:
    GiftDate = TransactionDate), ``constant`` (a fixed value: RoleName = Member), ``counter``
    (assigned by the store: ImisId, Seqn,
    Ordinal), ``guid`` (a new GUID: ContactKey).
    """

    kind: Literal["today", "field", "constant", "counter", "guid"]
    value: Any = None

    def describe(self) -> str:
        if self.kind == "today":
            return "today"
        if self.kind == "field":
            return f"= {self.value}"
        if self.kind == "counter":
            return "next number from the store's counter"
        if self.kind == "guid":
            return "a new GUID"
        return repr(self.value)


TODAY = DefaultRule("today")
COUNTER = DefaultRule("counter")
NEW_GUID = DefaultRule("guid")


def same_as(field_name: str) -> DefaultRule:
    return DefaultRule("field", field_name)


def constant(value: Any) -> DefaultRule:
    return DefaultRule("constant", value)


@dataclass(frozen=True)
class FieldDef:
    """One field of a source, by its canonical name (what records and job files use)."""

    name: str
    label: str
    type: FieldType = FieldType.STRING
    description: str = ""
    required_on_insert: bool = False
    lookup: str | None = None  # the lookup table a code field is validated against
    max_length: int | None = None
    read_only: bool = False  # shown in records, never written by a job
    write_only: bool = False  # written by a job, never read back (passwords)
    secret: bool = False  # never shown in results, plans, logs or records
    default: DefaultRule | None = None
    unsupported: str | None = None  # the reason a job may not map this field
    platforms: frozenset[str] | None = None  # None: wherever the source is available
    appendable: bool = False  # multi-select: "Append to Existing Value in Field"
    aliases: tuple[str, ...] = ()  # further accepted names (DonorId also answers to ImisId)

    @property
    def writable(self) -> bool:
        return not self.read_only and self.unsupported is None

    @property
    def is_imis_id(self) -> bool:
        """Text naming a contact by iMIS ID (ImisId, OrganizationId, DonorId ...): sorted as a
        number (``idms.values.folding.id_order``), as iMIS's counter assigns them."""
        return self.type is FieldType.STRING and self.name.endswith("Id")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type.value,
            "description": self.description,
            "required_on_insert": self.required_on_insert,
            "lookup": self.lookup,
            "max_length": self.max_length,
            "read_only": self.read_only,
            "write_only": self.write_only,
            "secret": self.secret,
            "default": self.default.describe() if self.default else None,
            "unsupported": self.unsupported,
            "platforms": sorted(self.platforms) if self.platforms else None,
            "appendable": self.appendable,
        }


@dataclass(frozen=True)
class ActionNote:
    """Why a source refuses an action on every platform: said to a job before it runs, and to
    a row that asks for it anyway (a change sent to a target directly)."""

    job: str
    row: str


@dataclass(frozen=True)
class DuplicateCheck:
    """Rows that would insert a record like one already stored (or inserted earlier in the run)
    are skipped, when the job's ``duplicate_check`` option is on (iMIS itself would not refuse
    them): two records are alike when they agree on ``fields``."""

    fields: tuple[str, ...]
    code: str
    message: str


@dataclass(frozen=True)
class SourceDef:
    """One iMIS data area a job can write to.

    ``identity`` names the fields that address exactly one stored record (what ``apply`` uses for
    updates and deletes); ``keys`` is the vendor's match-key guidance shown to users. ``rules``
    are the vendor rules in words, shown by ``idms sources SOURCE``; ``checks`` are those of them
    idms enforces itself, as functions (``rules.py``), applied by every target and the job check.

    The fields after ``panel_kind`` say how the engine treats the source, so that the engine never
    branches on a source's name: adding a source is adding a declaration.
    """

    name: str
    label: str
    description: str
    fields: tuple[FieldDef, ...]
    identity: tuple[str, ...]
    keys: str
    actions: frozenset[Action]
    platforms: frozenset[str] = frozenset({"ems", "2017"})
    platform_actions: Mapping[str, frozenset[Action]] = field(default_factory=dict)
    platform_notes: Mapping[str, str] = field(default_factory=dict)
    required_on_insert_note: str = ""
    rules: tuple[str, ...] = ()
    kind: Literal["contact", "table", "panel", "credentials", "userdata", "preferences"] = "table"
    panel_kind: Literal["single", "multi", "standalone"] | None = None
    # Insert with matching: "find_contact" finds each row's contact from Contact fields first
    # (most sources); "match_self" matches the source's own records and inserts when none does.
    insert_with_matching: Literal["find_contact", "match_self"] = "find_contact"
    # What a new record requires depends on the row (a person or an organization; an existing
    # contact or a new one), so the store checks it per row, not the job per mapping.
    required_per_row: bool = False
    # One contact has many records: a delete matched on the iMIS ID alone would remove them all.
    many_per_contact: bool = False
    # Fields that take part in matching whenever they are mapped (a mapped Role Name that is not
    # matched adds the role; matched, it updates it: either way it finds the membership).
    match_when_mapped: tuple[str, ...] = ()
    # The key sets to match on when the file lacks the identity, most reliable first: a key
    # (ContactKey), then field-based keys (Email + LastName, then Email) as iDMS advises when no
    # key is known (idms-features §10). What auto-mapping ticks (``automap.py``); a job may match
    # on anything mapped.
    fallback_keys: tuple[tuple[str, ...], ...] = ()
    duplicate_check: DuplicateCheck | None = None
    # An update is an action (unlock), not new values: always sent, never judged unchanged.
    update_is_an_action: bool = False
    action_notes: Mapping[Action, ActionNote] = field(default_factory=dict)
    checks: SourceChecks | None = None

    def __post_init__(self) -> None:
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: duplicate field names")
        declared = {
            "identity": self.identity,
            "match_when_mapped": self.match_when_mapped,
            "fallback_keys": tuple(k for keys in self.fallback_keys for k in keys),
            "duplicate_check": self.duplicate_check.fields if self.duplicate_check else (),
        }
        for what, fields in declared.items():
            missing = [k for k in fields if k not in names]
            if missing:
                raise ValueError(f"{self.name}: {what} fields {missing} are not fields")
        object.__setattr__(self, "_by_fold", self._index())
        object.__setattr__(self, "_by_name", {f.name: f for f in self.fields})
        plain = frozenset(f.name for f in self.fields if f.unsupported is None and not f.read_only)
        object.__setattr__(self, "_plain_writable", plain)

    def _index(self) -> dict[str, FieldDef]:
        # Canonical names first: a label or alias that folds like another field's name never
        # takes that name away (the catalog test and the panel check refuse such spellings).
        index: dict[str, FieldDef] = {}
        for f in self.fields:
            index.setdefault(fold(f.name), f)
        for f in self.fields:
            index.setdefault(fold(f.label), f)
        for f in self.fields:
            for alias in f.aliases:
                index.setdefault(fold(alias), f)
        return index

    @property
    def plain_writable(self) -> frozenset[str]:
        """Canonical names of the fields a change may write (neither read-only nor unsupported)."""
        plain: frozenset[str] = self._plain_writable  # type: ignore[attr-defined]
        return plain

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def resolve(self, reference: str) -> FieldDef:
        """The field a user means by ``reference``: the one way every field reference is read
        (mappings, match keys, ``--set``, filters and ``--where``, query columns, orderings,
        relations). It accepts the canonical name (``ImisId``), the iDMS label (``iMIS ID``) or
        an alias, compared without case, spaces, underscores or punctuation (``imis_id``).
        An unknown reference raises :class:`UnknownFieldError` naming it, with the closest
        spellings. After resolution, code compares canonical names (``FieldDef.name``) only."""
        found = self.find_field(reference)
        if found is None:
            raise UnknownFieldError(self.name, reference, self.close_spellings(reference))
        return found

    def find_field(self, reference: str) -> FieldDef | None:
        """:meth:`resolve`, answering None instead of raising for an unknown reference."""
        exact: FieldDef | None = self._by_name.get(reference)  # type: ignore[attr-defined]
        if exact is not None:
            return exact
        by_fold: dict[str, FieldDef] = self._by_fold  # type: ignore[attr-defined]
        return by_fold.get(fold(reference))

    # The resolver's older name, kept for the targets and tests that call it.
    field = resolve

    def close_spellings(self, reference: str, n: int = 3) -> list[str]:
        """The spellings of up to ``n`` fields closest to ``reference`` (best first; others only
        when about as close as the best: 'Phone' -> HomePhone, WorkPhone, MobilePhone), each as
        the declaration writes it: the label when the reference looks like one (has a space),
        else the canonical name."""
        wanted = fold(reference)
        scored: dict[FieldDef, float] = {}
        for f in self.fields:
            for spelling in (f.name, f.label, *f.aliases):
                score = SequenceMatcher(None, wanted, fold(spelling)).ratio()
                scored[f] = max(score, scored.get(f, 0.0))
        ranked = sorted((f for f in scored if scored[f] >= 0.6), key=lambda f: -scored[f])
        close = [f for f in ranked if scored[f] >= scored[ranked[0]] - 0.05][:n] if ranked else []
        as_label = " " in reference.strip()
        return [f.label if as_label else f.name for f in close]

    def actions_on(self, platform: str) -> frozenset[Action]:
        """The actions allowed under a platform's rules."""
        return self.platform_actions.get(platform, self.actions)

    def available_on(self, platform: str, *, embedded: bool) -> bool:
        """Whether the source exists on this platform (on the embedded store when ``embedded``)."""
        if platform in self.platforms:
            return True
        return embedded and "embedded" in self.platforms

    def fields_on(self, platform: str) -> list[FieldDef]:
        return [f for f in self.fields if f.platforms is None or platform in f.platforms]

    def secret_fields(self) -> frozenset[str]:
        return frozenset(f.name for f in self.fields if f.secret)

    def with_fields(self, extra: Iterable[FieldDef]) -> SourceDef:
        """A copy with more fields (dynamic ones: communication preferences, panel fields)."""
        from dataclasses import replace

        return replace(self, fields=self.fields + tuple(extra))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "kind": self.kind,
            "panel_kind": self.panel_kind,
            "description": self.description,
            "keys": self.keys,
            "identity": list(self.identity),
            "actions": [a.value for a in Action if a in self.actions],
            "platforms": sorted(self.platforms),
            "platform_actions": {
                p: [a.value for a in Action if a in acts]
                for p, acts in sorted(self.platform_actions.items())
            },
            "platform_notes": dict(self.platform_notes),
            "required_on_insert": self.required_on_insert_note,
            "rules": list(self.rules),
            "fields": [f.to_dict() for f in self.fields],
        }
