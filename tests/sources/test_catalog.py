"""The declarative registry: every source is complete, consistent and shows the vendor's rules."""

from __future__ import annotations

import pytest

from idms.errors import UnknownFieldError, UnknownSourceError
from idms.sources.catalog import BUILTIN_SOURCES, BY_NAME
from idms.sources.model import Action, fold
from idms.sources.registry import resolve_source
from idms.values.types import FieldType


def test_at_least_twelve_sources() -> None:
    assert len(BUILTIN_SOURCES) >= 12


@pytest.mark.parametrize("source", BUILTIN_SOURCES, ids=lambda s: s.name)
def test_source_is_consistent(source) -> None:  # type: ignore[no-untyped-def]
    names = [fold(f.name) for f in source.fields]
    assert len(names) == len(set(names))
    assert source.actions, "a source allows at least one action"
    assert source.identity
    for f in source.fields:
        assert f.label
        if f.type is FieldType.CODE and f.name not in {"FunctionCode", "EventCode", "RoleName"}:
            assert f.lookup or f.read_only, f"{source.name}.{f.name} validates against nothing"
        if f.secret:
            assert f.write_only
    for platform, actions in source.platform_actions.items():
        assert actions <= source.actions
        assert platform in source.platform_notes


def test_user_credentials_rules() -> None:
    creds = BY_NAME["UserCredentials"]
    unsupported = {f.name: f.unsupported for f in creds.fields if f.unsupported}
    assert set(unsupported) == {"EffectiveDate", "ExpirationDate", "IsDisabled"}
    assert all("not supported" in reason for reason in unsupported.values())
    assert creds.field("Password").secret
    # iMIS 2017 unlocks through the UserData business object: no User Credentials action at all
    assert creds.actions_on("2017") == frozenset()
    assert "2017" in creds.platform_notes["2017"]
    assert "UserData" in creds.platform_notes["2017"]
    assert BY_NAME["UserData"].actions_on("2017") == frozenset({Action.UPDATE})


def test_vendor_rules_in_declarations() -> None:
    assert Action.DELETE not in BY_NAME["Contact"].actions
    assert BY_NAME["EventRegistration"].actions == frozenset({Action.INSERT})
    assert BY_NAME["EventRegistration"].available_on("2017", embedded=True) is False
    assert BY_NAME["Gift"].actions == frozenset({Action.INSERT})
    assert BY_NAME["Gift"].field("GiftDate").default is not None
    assert BY_NAME["UserData"].available_on("ems", embedded=True)
    assert not BY_NAME["UserData"].available_on("ems", embedded=False)
    assert BY_NAME["Activity"].field("TransactionDate").default is not None


def test_fields_by_name_label_alias() -> None:
    contact = BY_NAME["Contact"]
    assert contact.field("iMIS ID").name == "ImisId"
    assert contact.field("imis_id").name == "ImisId"
    assert contact.field("Member/Customer Type").name == "MemberType"
    assert BY_NAME["Gift"].field("ImisId").name == "DonorId"
    with pytest.raises(UnknownFieldError) as info:
        contact.field("Emial")
    assert info.value.suggestion == "Email"


def test_resolve_source_by_name_label_and_loosely() -> None:
    assert resolve_source("contact details", BUILTIN_SOURCES).name == "Contact"
    assert resolve_source("User Credentials", BUILTIN_SOURCES).name == "UserCredentials"
    assert resolve_source("lookup_table", BUILTIN_SOURCES).name == "LookupTable"
    with pytest.raises(UnknownSourceError) as info:
        resolve_source("Contcat", BUILTIN_SOURCES)
    assert info.value.suggestion == "Contact"


def test_to_dict_is_complete() -> None:
    d = BY_NAME["Activity"].to_dict()
    assert d["name"] == "Activity"
    assert d["actions"] == ["insert", "insert-with-matching", "update", "insert-update", "delete"]
    seqn = next(f for f in d["fields"] if f["name"] == "Seqn")
    assert seqn["read_only"] is True
    assert seqn["label"] == "SEQN"
