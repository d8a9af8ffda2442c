"""User-defined panels: the definition file (PANEL.yml) and the source a panel becomes.

A panel is what iMIS's Panel Designer makes: a table of typed fields hung off a contact
(single-instance: one row per contact; multi-instance: many rows, each with an Ordinal) or
standing alone (standalone: rows keyed by Ordinal only).

::

    name: Volunteering          # letters, digits, underscore; not a built-in source name
    kind: multi                 # single | multi | standalone
    description: Volunteer roles and hours
    fields:
      - {name: Role, type: string, length: 60, required: true}
      - {name: Skills, type: multiselect, lookup: VOLUNTEER_SKILL}
      - {name: Hours, type: decimal}
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from idms.errors import PanelDefinitionError
from idms.sources.model import ALL_ACTIONS, COUNTER, FieldDef, SourceDef, fold
from idms.values.types import FieldType

PanelKind = Literal["single", "multi", "standalone"]
PANEL_FIELD_TYPES = (
    FieldType.STRING,
    FieldType.INTEGER,
    FieldType.DECIMAL,
    FieldType.BOOLEAN,
    FieldType.DATE,
    FieldType.DATETIME,
    FieldType.CODE,
    FieldType.MULTISELECT,
    FieldType.EMAIL,
    FieldType.PHONE,
)
RESERVED_FIELDS = frozenset({"imisid", "id", "ordinal", "contactkey", "createdon", "updatedon"})
NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,49}$")


class PanelField(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    label: str | None = None
    type: FieldType = FieldType.STRING
    length: int | None = Field(default=None, ge=1, le=4000)
    required: bool = False
    lookup: str | None = None
    description: str = ""


class PanelDefinition(BaseModel):
    """A validated panel definition; ``parse_panel`` is the way to make one from a file."""

    model_config = ConfigDict(extra="forbid")

    name: str
    kind: PanelKind
    description: str = ""
    fields: list[PanelField] = Field(min_length=1)

    @property
    def table_name(self) -> str:
        return "ud_" + self.name.lower()


def parse_panel(
    text: str, *, reserved_names: set[str] | frozenset[str] = frozenset()
) -> PanelDefinition:
    """Parse and check a PANEL.yml document; every problem is reported at once."""
    # Imported here: the YAML reader is needed to create a panel, not to use one (the store
    # keeps panels as JSON), and every command that opens the store would load it.
    from idms.documents import DocumentError, describe_problems, read_yaml

    try:
        raw = read_yaml(text)
    except DocumentError as exc:
        raise PanelDefinitionError([f"the file {exc.message}"]) from None
    if not isinstance(raw, dict):
        raise PanelDefinitionError(["the file must be a mapping with name, kind and fields"])
    try:
        panel = PanelDefinition.model_validate(raw)
    except ValidationError as exc:
        problems = describe_problems(
            exc.errors(),
            unknown="is not a panel setting (check the spelling)",
            location=lambda e: ".".join(str(p) for p in e["loc"]) or "(top level)",
            message=lambda e: str(e["msg"]),
        )
        name = raw.get("name")
        if isinstance(name, str) and fold(name) in {fold(n) for n in reserved_names}:
            problems.insert(0, f"name: '{name}' is already the name of a source")
        raise PanelDefinitionError(problems) from None
    problems = check_panel(panel, reserved_names)
    if problems:
        raise PanelDefinitionError(problems)
    return panel


def check_panel(panel: PanelDefinition, reserved_names: set[str] | frozenset[str]) -> list[str]:
    problems: list[str] = []
    if not NAME_PATTERN.match(panel.name):
        problems.append(
            f"name: '{panel.name}' must start with a letter and hold only letters, digits and "
            "underscores (at most 50)"
        )
    if fold(panel.name) in {fold(n) for n in reserved_names}:
        problems.append(f"name: '{panel.name}' is already the name of a source")
    seen: set[str] = set()
    names = {fold(f.name) for f in panel.fields}
    labels: set[str] = set()
    for i, f in enumerate(panel.fields):
        label = fold(f.label) if f.label else None
        # A field is named by its name or label alike (SourceDef.resolve): no label may name
        # another field.
        if label is not None and label != fold(f.name):
            if label in names or label in labels or label in RESERVED_FIELDS:
                problems.append(
                    f"fields.{i} ({f.name}): the label '{f.label}' is already another field's "
                    "name or label"
                )
            labels.add(label)
        where = f"fields.{i} ({f.name})"
        if not NAME_PATTERN.match(f.name):
            problems.append(
                f"{where}: a field name must start with a letter and hold only letters, digits "
                "and underscores"
            )
        if fold(f.name) in RESERVED_FIELDS:
            problems.append(f"{where}: '{f.name}' is reserved (the panel's key fields)")
        if fold(f.name) in seen:
            problems.append(f"{where}: the field name is used twice")
        seen.add(fold(f.name))
        if f.type not in PANEL_FIELD_TYPES:
            allowed = ", ".join(t.value for t in PANEL_FIELD_TYPES)
            problems.append(f"{where}: type '{f.type.value}' is not a panel type ({allowed})")
        if f.type is FieldType.CODE and not f.lookup:
            problems.append(f"{where}: a code field needs a lookup table")
        if f.length is not None and f.type is not FieldType.STRING:
            problems.append(f"{where}: length applies to string fields only")
    return problems


def panel_source(panel: PanelDefinition) -> SourceDef:
    """The source a panel offers to jobs, with its key fields first."""
    keys: list[FieldDef] = []
    if panel.kind != "standalone":
        keys.append(
            FieldDef(
                "ImisId",
                "iMIS ID",
                FieldType.STRING,
                "The contact the row belongs to.",
                required_on_insert=True,
                max_length=10,
            )
        )
    if panel.kind != "single":
        keys.append(
            FieldDef(
                "Ordinal",
                "Ordinal",
                FieldType.INTEGER,
                "Row number, assigned by the store.",
                read_only=True,
                default=COUNTER,
            )
        )
    own = [
        FieldDef(
            f.name,
            f.label or f.name,
            f.type,
            f.description,
            required_on_insert=f.required,
            lookup=f.lookup,
            max_length=f.length or (255 if f.type is FieldType.STRING else None),
            appendable=f.type is FieldType.MULTISELECT,
        )
        for f in panel.fields
    ]
    identity = {"single": ("ImisId",), "multi": ("ImisId", "Ordinal"), "standalone": ("Ordinal",)}
    key_text = {"single": "ImisId", "multi": "ImisId + Ordinal", "standalone": "Ordinal"}
    required = [k.name for k in keys if k.required_on_insert] + [
        f.name for f in own if f.required_on_insert
    ]
    return SourceDef(
        name=panel.name,
        label=f"Panel {panel.name}",
        kind="panel",
        panel_kind=panel.kind,
        description=panel.description or f"User-defined {panel.kind}-instance panel.",
        identity=identity[panel.kind],
        keys=key_text[panel.kind],
        actions=ALL_ACTIONS,
        required_on_insert_note=", ".join(required) or "(none)",
        rules=(
            {
                "single": "One row per contact, keyed by iMIS ID.",
                "multi": "Many rows per contact; each row gets an Ordinal from the store.",
                "standalone": "Rows not tied to a contact, keyed by Ordinal.",
            }[panel.kind],
            "Multi-select fields can append to what is stored instead of replacing it.",
        ),
        fields=tuple(keys + own),
    )
