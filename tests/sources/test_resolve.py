"""SourceDef.resolve, the one way a field reference is read: canonical name, label or alias, in
any case, with or without spaces, underscores or punctuation, in any script; an unknown reference
is refused naming it, with the closest spellings."""

from __future__ import annotations

from dataclasses import replace

import pytest

from idms.errors import PanelDefinitionError, UnknownFieldError
from idms.sources.catalog import BUILTIN_SOURCES, BY_NAME
from idms.sources.model import FieldDef, fold
from idms.sources.panels import panel_source, parse_panel

CONTACT = BY_NAME["Contact"]


@pytest.mark.parametrize(
    ("reference", "name"),
    [
        ("ImisId", "ImisId"),
        ("iMIS ID", "ImisId"),
        ("IMISID", "ImisId"),
        ("imis_id", "ImisId"),
        (" imis-id ", "ImisId"),
        ("Member/Customer Type", "MemberType"),
        ("member customer type", "MemberType"),
        ("membertype", "MemberType"),
        ("State/Province", "StateProvince"),
        ("state_province", "StateProvince"),
        ("Mark Contact for Erasure", "MarkForErasure"),
    ],
)
def test_resolve_by_name_label_case_and_separators(reference: str, name: str) -> None:
    assert CONTACT.resolve(reference).name == name
    assert CONTACT.find_field(reference) is CONTACT.resolve(reference)


def test_an_alias_resolves_too() -> None:
    assert BY_NAME["Gift"].resolve("imis id").name == "DonorId"


@pytest.mark.parametrize("source", BUILTIN_SOURCES, ids=lambda s: s.name)
def test_no_spelling_of_a_built_in_source_names_two_fields(source) -> None:  # type: ignore[no-untyped-def]
    owner: dict[str, str] = {}
    for f in source.fields:
        for spelling in (f.name, f.label, *f.aliases):
            assert owner.setdefault(fold(spelling), f.name) == f.name, (source.name, spelling)


def test_fold_keeps_letters_of_every_script() -> None:
    assert fold("Фамилия") != fold("Имя")
    assert fold("Größe") == fold("GRÖSSE")
    assert fold("Åberg-Öztürk") == fold("åberg öztürk")
    assert fold("Ονομα") == fold("ΟΝΟΜΑ")


def test_labels_in_another_script_name_their_own_fields() -> None:
    source = replace(
        CONTACT,
        fields=(
            FieldDef("Given", "Имя"),
            FieldDef("Family", "Фамилия"),
            FieldDef("Greek", "Επώνυμο"),
        ),
        identity=(),
        match_when_mapped=(),
        fallback_keys=(),
        duplicate_check=None,
    )
    assert source.resolve("фамилия").name == "Family"
    assert source.resolve("ИМЯ").name == "Given"
    assert source.resolve("ΕΠΏΝΥΜΟ").name == "Greek"
    with pytest.raises(UnknownFieldError):
        source.resolve("Отчество")


def test_an_unknown_reference_names_itself_and_the_closest_spellings() -> None:
    with pytest.raises(UnknownFieldError) as info:
        CONTACT.resolve("Emial")
    err = info.value
    assert (err.source, err.name, err.suggestion) == ("Contact", "Emial", "Email")
    assert err.message.startswith("Contact has no field 'Emial'. Did you mean 'Email'")
    assert "idms sources" not in err.message  # the command to type is the CLI's hint only
    assert err.hint == "Run 'idms sources Contact' to list its fields."


def test_suggestions_are_written_as_the_reference_is() -> None:
    with pytest.raises(UnknownFieldError) as by_name:
        CONTACT.resolve("LastNmae")
    assert by_name.value.suggestion == "LastName"
    with pytest.raises(UnknownFieldError) as by_label:
        CONTACT.resolve("Last Nmae")
    assert by_label.value.suggestion == "Last Name"
    with pytest.raises(UnknownFieldError) as several:
        CONTACT.resolve("Phone")
    assert set(several.value.suggestions) <= {"HomePhone", "WorkPhone", "MobilePhone"}
    assert len(several.value.suggestions) >= 2
    assert "' or '" in several.value.message
    with pytest.raises(UnknownFieldError) as nothing:
        CONTACT.resolve("zzzzzzzz")
    assert nothing.value.suggestions == []
    assert "Did you mean" not in nothing.value.message


def test_a_declaration_names_only_its_own_fields() -> None:
    with pytest.raises(ValueError, match="match_when_mapped fields"):
        replace(CONTACT, match_when_mapped=("RoleNmae",))


def test_a_panel_label_cannot_name_another_field() -> None:
    text = (
        "name: Kin\nkind: multi\nfields:\n"
        "  - {name: Hours, label: Minutes}\n"
        "  - {name: Minutes}\n"
        "  - {name: Note, label: iMIS ID}\n"
    )
    with pytest.raises(PanelDefinitionError) as info:
        parse_panel(text)
    problems = "\n".join(info.value.problems)
    assert "fields.0 (Hours): the label 'Minutes' is already another field's name" in problems
    assert "fields.2 (Note): the label 'iMIS ID'" in problems


def test_a_panel_field_by_its_label() -> None:
    source = panel_source(
        parse_panel("name: Kin\nkind: single\nfields:\n  - {name: Size, label: Größe}\n")
    )
    assert source.resolve("GRÖSSE").name == "Size"
    assert source.resolve("iMIS ID").name == "ImisId"
