"""Saved queries checked against the sources: every problem at once, each with where it is."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from idms.queries.compile import CompiledQuery, compile_query
from idms.queries.model import QueryInvalid, SavedQuery, build_query, iqa_only
from idms.sources import catalog
from idms.sources.filters import Operator
from idms.sources.model import SourceDef
from idms.sources.panels import panel_source, parse_panel

PANEL = """
name: MemberProfile
kind: single
fields:
  - {name: YearsInPractice, type: integer}
  - {name: Interests, type: multiselect, lookup: INTEREST}
"""


def sources() -> list[SourceDef]:
    return [*catalog.BUILTIN_SOURCES, panel_source(parse_panel(PANEL))]


def compiled(**document: Any) -> CompiledQuery:
    document.setdefault("name", "Q")
    return compile_query(build_query(document), sources())


def problems(**document: Any) -> list[str]:
    with pytest.raises(QueryInvalid) as caught:
        compiled(**document)
    return caught.value.problems


def test_columns_resolve_own_related_and_panel_fields_by_name_or_label() -> None:
    q = compiled(
        **{"from": "User Credentials"},
        columns={
            "ID": "iMIS ID",
            "Mail": "Contact.Email",
            "Years": "MemberProfile.YearsInPractice",
            "Locked": "is locked out",
        },
    )
    assert q.source is not None
    assert q.source.name == "UserCredentials"
    assert [(c.alias, c.relation, c.field.name) for c in q.columns] == [
        ("ID", None, "ImisId"),
        ("Mail", "Contact", "Email"),
        ("Years", "MemberProfile", "YearsInPractice"),
        ("Locked", None, "IsLockedOut"),
    ]
    assert list(q.relations) == ["Contact", "MemberProfile"]
    on = q.relations["Contact"].on
    assert [(a.name, b.name) for a, b in on] == [("ImisId", "ImisId")]


def test_columns_as_a_list_show_each_field_under_its_own_name() -> None:
    q = compiled(**{"from": "Contact"}, columns=["ImisId", "LastName"])
    assert q.aliases == ("ImisId", "LastName")


def test_every_problem_is_listed_with_where_it_is_and_a_suggestion() -> None:
    found = problems(
        **{"from": "Contact"},
        columns={
            "ID": "ImisId",
            "Mail": "Emial",
            "Who": "Contakt.LastName",
            "Pw": "UserCredentials.Password",
        },
        filters=[
            {"field": "LastName", "op": "sortOf", "value": "x"},
            {"field": "JoinDate", "op": "gt", "value": "not a date"},
            {"field": "LastName", "op": "isTrue"},
            {"field": "Email", "op": "eq"},
        ],
        order_by=["Nope"],
    )
    text = "\n".join(found)
    assert "columns.Mail: Contact has no field 'Emial'. Did you mean 'Email'?" in text
    assert (
        "columns.Who: 'Contakt' is neither a source nor a relation. Did you mean 'Contact'?" in text
    )
    assert "columns.Pw: Password is secret" in text
    assert "filters[0].op: Unknown filter operator 'sortOf'" in text
    assert "filters[1].value: JoinDate" in text
    assert "is not a date" in text
    assert "filters[2].op: 'isTrue' applies to Yes/No fields; LastName is not one" in text
    assert "filters[3]: LastName" not in text
    assert "filters[3]: Email eq needs a value" in text
    assert "order_by[0]: Contact has no field 'Nope'" in text
    assert len(found) == 8


def test_write_only_fields_cannot_be_shown_or_filtered() -> None:
    found = problems(
        **{"from": "UserCredentials"},
        columns={"ID": "ImisId", "U": "UnlockUserAccount"},
    )
    assert found == [
        "columns.U: UnlockUserAccount is written by jobs but never read back, so it cannot be shown"
    ]


def test_the_shape_is_checked_first_with_every_problem() -> None:
    with pytest.raises(QueryInvalid) as caught:
        build_query({"name": "Q", "from": "Contact", "colums": {"a": "b"}, "limit": 0})
    found = caught.value.problems
    assert "colums: is not a query setting (check the spelling)" in found
    assert any(p.startswith("limit:") for p in found)
    with pytest.raises(QueryInvalid, match="give 'from'"):
        build_query({"name": "Q"})
    with pytest.raises(QueryInvalid, match="an IQA path starts with"):
        build_query({"name": "Q", "iqa": "Common/Queries/X"})
    with pytest.raises(QueryInvalid, match="'required' applies to a filter with a 'prompt'"):
        build_query(
            {
                "name": "Q",
                "from": "Contact",
                "columns": ["ImisId"],
                "filters": [{"field": "LastName", "value": "x", "required": True}],
            }
        )


def test_prompts_are_numbered_in_document_order_and_bound_by_name() -> None:
    q = compiled(
        **{"from": "Activity"},
        columns={"ID": "ImisId"},
        related={
            "Registered": {
                "source": "EventRegistration",
                "filters": [{"field": "EventCode", "prompt": "event", "required": True}],
            }
        },
        filters=[
            {"field": "ActivityType", "op": "eq", "prompt": "type", "value": "MEETING"},
            {"field": "TransactionDate", "op": "ge", "prompt": "since"},
            {"field": "Registered.RegistrationId", "op": "isEmpty"},
        ],
    )
    assert q.prompts == ("type", "since", "event")
    bound = q.bind({"event": "ANNUAL27", "since": "2026-01-01"})
    assert [(r, f.field, f.op, f.value) for r, f in bound.where] == [
        (None, "ActivityType", Operator.EQ, "MEETING"),  # the prompt's default
        (None, "TransactionDate", Operator.GE, date(2026, 1, 1)),
        ("Registered", "RegistrationId", Operator.IS_EMPTY, None),
    ]
    assert [(f.field, f.value) for f in bound.on["Registered"]] == [("EventCode", "ANNUAL27")]
    # An optional prompt left blank drops its filter; the wire values keep their places.
    bound = q.bind({"event": "X", "since": ""})
    assert [f.field for _, f in bound.where] == ["ActivityType", "RegistrationId"]
    assert q.parameter_values({"event": "X", "type": "WEBINAR"}) == ["WEBINAR", "", "X"]


def test_a_missing_required_prompt_and_an_unknown_parameter_are_refused() -> None:
    q = compiled(
        **{"from": "Contact"},
        columns=["ImisId"],
        filters=[{"field": "LastName", "op": "startsWith", "prompt": "last", "required": True}],
    )
    with pytest.raises(QueryInvalid) as caught:
        q.bind({})
    assert caught.value.problems == [
        "the prompt 'last' is required (filters[0]: LastName startsWith): give it a value"
    ]
    assert caught.value.hint == "Give --param last=VALUE."  # the command line's words
    with pytest.raises(
        QueryInvalid, match=r"'lst' is not a prompt of this query\. Did you mean 'last'\?"
    ):
        q.bind({"lst": "S"})
    with pytest.raises(QueryInvalid, match="JoinDate"):
        compiled(
            **{"from": "Contact"},
            columns=["ImisId"],
            filters=[{"field": "JoinDate", "op": "ge", "prompt": "since"}],
        ).bind({"since": "yesterday-ish"})


def test_values_written_as_liquid_are_computed_when_the_query_runs() -> None:
    q = compiled(
        **{"from": "Activity"},
        columns=["ImisId"],
        filters=[
            {
                "field": "TransactionDate",
                "op": "between",
                "value": [
                    "{{ today | date: '%Y' | minus: 1 }}-01-01",
                    "{{ today | date: '%Y' | minus: 1 }}-12-31",
                ],
            },
            {"field": "Description", "op": "contains", "value": "{{ params.topic }}"},
        ],
    )
    bound = q.bind({}, now=datetime(2026, 3, 4, 5, 6, 7))
    (_, between), (_, contains) = bound.where
    assert between.value == (date(2025, 1, 1), date(2025, 12, 31))
    assert contains.op is Operator.CONTAINS


def test_in_and_between_take_lists_or_pipe_separated_text() -> None:
    q = compiled(
        **{"from": "Contact"},
        columns=["ImisId"],
        filters=[
            {"field": "MemberType", "op": "in", "value": "REG|GLD"},
            {"field": "JoinDate", "op": "between", "value": ["2020-01-01", "2020-12-31"]},
        ],
    )
    (_, member), (_, joined) = q.bind({}).where
    assert member.value == ("REG", "GLD")
    assert joined.value == (date(2020, 1, 1), date(2020, 12, 31))
    found = problems(
        **{"from": "Contact"},
        columns=["ImisId"],
        filters=[{"field": "JoinDate", "op": "between", "value": ["2020-01-01"]}],
    )
    assert found == [
        "filters[0].value: 'between' on JoinDate takes two values, LOW|HIGH (or a list of two)"
    ]


def test_relations_need_a_contact_key_or_an_explicit_on() -> None:
    found = problems(
        **{"from": "EventRegistration"},
        columns={"ID": "RegistrantId"},
        related={"Ev": {"source": "Event"}},
    )
    assert found == [
        "related.Ev: Event has no iMIS ID to relate on; say how with "
        "'on: {QUERY_FIELD: RELATED_FIELD}'"
    ]
    q = compiled(
        **{"from": "EventRegistration"},
        columns={"ID": "RegistrantId", "Event": "Ev.EventName"},
        related={"Ev": {"source": "Event", "on": {"EventCode": "EventCode"}, "required": True}},
    )
    relation = q.relations["Ev"]
    assert relation.required
    assert [(a.name, b.name) for a, b in relation.on] == [("EventCode", "EventCode")]
    # A gift's donor is its contact: DonorId answers to ImisId.
    gift = compiled(**{"from": "Gift"}, columns={"Donor": "Contact.LastName"})
    assert [(a.name, b.name) for a, b in gift.relations["Contact"].on] == [("DonorId", "ImisId")]


def test_aliases_must_differ_and_order_by_takes_aliases_or_fields() -> None:
    found = problems(**{"from": "Contact"}, columns={"ID": "ImisId", "id": "LastName"})
    assert found == ["columns.id: the alias repeats 'ID' (aliases must differ, not only in case)"]
    q = compiled(
        **{"from": "Contact"},
        columns={"ID": "ImisId", "Last": "LastName"},
        order_by=["-last", "FirstName"],
    )
    assert [(o.field.name, o.descending) for o in q.order] == [
        ("LastName", True),
        ("FirstName", False),
    ]


def test_an_iqa_known_only_by_path_passes_its_parameters_in_order() -> None:
    q = compile_query(iqa_only("$/Common/Queries/Locked"), sources())
    assert q.source is None
    assert q.iqa_path == "$/Common/Queries/Locked"
    assert q.parameter_values({"1": "S", "2": ""}) == ["S", ""]
    named = compile_query(
        SavedQuery(name="Locked", iqa="$/Common/Queries/Locked", prompts=["last", "first"]),
        sources(),
    )
    assert named.parameter_values({"first": "Ada"}) == ["", "Ada"]
    with pytest.raises(QueryInvalid, match=r"need 'from'"):
        build_query({"name": "X", "iqa": "$/A", "columns": ["ImisId"]})


def test_the_default_iqa_path_follows_the_name() -> None:
    q = build_query({"name": "Locked out users", "from": "Contact", "columns": ["ImisId"]})
    assert q.iqa_path == "$/idms/Locked out users"
    assert q.to_document() == {
        "name": "Locked out users",
        "from": "Contact",
        "columns": {"ImisId": "ImisId"},
    }
