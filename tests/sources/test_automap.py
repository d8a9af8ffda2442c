"""Auto-mapping: each column to the field its header names (name, label, usual name, or a close
spelling), one column per field, and the match keys the source declares, each choice explained."""

from __future__ import annotations

import pytest

from idms.sources.automap import MappingProposal, suggest_mapping
from idms.sources.catalog import BY_NAME

CONTACT = BY_NAME["Contact"]


def fields(proposal: MappingProposal) -> dict[str, str | None]:
    return {c.column: c.reference for c in proposal.columns}


def by_column(proposal: MappingProposal, column: str):  # type: ignore[no-untyped-def]
    return next(c for c in proposal.columns if c.column == column)


def test_spreadsheet_headers_map_to_their_fields() -> None:
    headers = ["E-mail", "Zip", "Member Level", "First Name", "Last", "iMIS ID", "Shoe size"]
    proposal = suggest_mapping(CONTACT, headers, action="update")
    assert fields(proposal) == {
        "E-mail": "Email",
        "Zip": "PostalCode",
        "Member Level": "MemberType",
        "First Name": "FirstName",
        "Last": "LastName",
        "iMIS ID": "ImisId",
        "Shoe size": None,
    }
    assert [(c.column, c.how, c.confidence) for c in proposal.mapped] == [
        ("E-mail", "label", 0.95),
        ("Zip", "alias", 0.9),
        ("Member Level", "alias", 0.9),
        ("First Name", "label", 1.0),
        ("Last", "alias", 0.9),
        ("iMIS ID", "label", 1.0),
    ]
    assert by_column(proposal, "First Name").reason == "'First Name' is the label of FirstName."
    assert by_column(proposal, "E-mail").reason == (
        "'E-mail' is the label of Email, written differently."
    )
    assert by_column(proposal, "Zip").reason == (
        "'Zip' is a usual name for PostalCode ('Postal Code')."
    )
    unknown = by_column(proposal, "Shoe size")
    assert unknown.reason == "Contact Details has no field called 'Shoe size' or anything like it."


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("EMAIL", "Email"),
        ("e_mail", "Email"),
        ("  Email Address ", "Email"),
        ("first-name", "FirstName"),
        ("LASTNAME", "LastName"),
        ("imis_id", "ImisId"),
        ("ID", "ImisId"),
        ("Contact ID", "ImisId"),
        ("State/Province", "StateProvince"),
        ("state", "StateProvince"),
        ("Postal Code", "PostalCode"),
        ("ZIP CODE", "PostalCode"),
        ("Company", "OrganizationName"),
        ("Organization", "OrganizationName"),
        ("Mobile", "MobilePhone"),
        ("Address 1", "Address1"),
        ("address line 2", "Address2"),
        ("Country", "Country"),
        ("City", "City"),
        ("member type", "MemberType"),
    ],
)
def test_case_spaces_and_punctuation_do_not_matter(header: str, field: str) -> None:
    proposal = suggest_mapping(CONTACT, [header])
    assert fields(proposal) == {header: field}


def test_a_close_misspelling_is_proposed_less_surely_and_an_ambiguous_header_is_not() -> None:
    proposal = suggest_mapping(CONTACT, ["Frist Name", "Phone"])
    typo = by_column(proposal, "Frist Name")
    assert (typo.reference, typo.how) == ("FirstName", "similar")
    assert 0.7 < typo.confidence < 0.8
    phone = by_column(proposal, "Phone")
    assert phone.reference is None
    assert set(phone.alternatives[:2]) == {"HomePhone", "WorkPhone"}
    assert "choose one" in phone.reason


def test_two_columns_never_take_one_field_the_better_match_wins() -> None:
    proposal = suggest_mapping(CONTACT, ["Email Address", "E-mail", "Email"])
    assert fields(proposal) == {"Email Address": None, "E-mail": None, "Email": "Email"}
    assert by_column(proposal, "E-mail").reason == (
        "'E-mail' also looks like Email, but 'Email' matches it better."
    )
    assert by_column(proposal, "Email Address").alternatives[0] == "Email"


def test_on_a_tie_the_earlier_column_wins() -> None:
    proposal = suggest_mapping(CONTACT, ["Zip", "Zip Code"])
    assert fields(proposal) == {"Zip": "PostalCode", "Zip Code": None}
    assert by_column(proposal, "Zip Code").reason == (
        "'Zip Code' also looks like Postal Code, but 'Zip' comes first."
    )


def test_what_the_user_mapped_stands_and_its_field_is_taken() -> None:
    proposal = suggest_mapping(
        CONTACT, ["E-mail", "Work address"], keep={"Work address": "Email"}, reserved=["Status"]
    )
    assert fields(proposal) == {"E-mail": None, "Work address": "Email"}
    assert by_column(proposal, "Work address").how == "given"
    assert by_column(proposal, "E-mail").reason == (
        "'E-mail' also looks like Email, but 'Work address' is mapped to it."
    )
    constant = suggest_mapping(CONTACT, ["Status"], reserved=["Status"])
    assert constant.columns[0].reason == "Status is already given a constant."


def test_match_keys_are_the_identity_when_the_file_has_it() -> None:
    proposal = suggest_mapping(CONTACT, ["iMIS ID", "E-mail", "Last"], action="insert-update")
    assert proposal.match_keys == ("ImisId",)
    assert [c.column for c in proposal.columns if c.match] == ["iMIS ID"]
    assert proposal.match_reason == "Matched on ImisId: the key that names one record."


def test_without_the_identity_the_source_fallback_keys_are_ticked_in_order() -> None:
    both = suggest_mapping(CONTACT, ["E-mail", "Last", "First"], action="insert-update")
    assert both.match_keys == ("Email", "LastName")
    assert "ImisId is not in the file" in both.match_reason
    email = suggest_mapping(CONTACT, ["E-mail", "First"], action="update")
    assert email.match_keys == ("Email",)
    none = suggest_mapping(CONTACT, ["First"], action="update")
    assert none.match_keys == ()
    assert none.match_reason == (
        "No column gives a match key for Contact Details: map ImisId or ContactKey or "
        "Email + LastName or Email and match on it."
    )


def test_a_key_column_blank_in_the_samples_is_no_key() -> None:
    samples = {"iMIS ID": ["", None, " "], "E-mail": ["a@example.org"], "Last": ["Lovelace"]}
    proposal = suggest_mapping(
        CONTACT, ["iMIS ID", "E-mail", "Last"], action="insert-update", samples=samples
    )
    assert proposal.match_keys == ("Email", "LastName")
    assert "ImisId is blank in the file's first rows" in proposal.match_reason


def test_samples_that_do_not_fit_the_type_lower_the_confidence() -> None:
    proposal = suggest_mapping(CONTACT, ["Email"], samples={"Email": ["yes", "no"]})
    assert by_column(proposal, "Email").confidence == pytest.approx(0.7)


def test_an_insert_ticks_no_key_and_a_read_only_field_is_then_left_out() -> None:
    proposal = suggest_mapping(CONTACT, ["iMIS ID", "Contact Key"], action="insert")
    assert proposal.match_keys == ()
    assert fields(proposal) == {"iMIS ID": "ImisId", "Contact Key": None}
    assert "which iMIS sets: it can only be a match key" in proposal.columns[1].reason
    keyed = suggest_mapping(CONTACT, ["Contact Key", "First"], action="update")
    assert keyed.match_keys == ("ContactKey",)
    assert fields(keyed) == {"Contact Key": "ContactKey", "First": "FirstName"}


def test_insert_with_matching_finds_the_contact_by_its_fallback_keys() -> None:
    headers = ["E-mail", "First name", "Last name", "Webinar", "Attended", "Activity Type"]
    proposal = suggest_mapping(BY_NAME["Activity"], headers, action="insert-with-matching")
    assert fields(proposal) == {
        "E-mail": "Contact.Email",
        "First name": None,
        "Last name": "Contact.LastName",
        "Webinar": None,
        "Attended": None,
        "Activity Type": "ActivityType",
    }
    assert proposal.match_keys == ("Contact.Email", "Contact.LastName")
    assert by_column(proposal, "E-mail").reason.endswith("It finds the contact.")


def test_group_members_match_on_their_identity_with_the_role_when_mapped() -> None:
    group = BY_NAME["GroupMember"]
    without = suggest_mapping(group, ["ID", "Group Name"], action="update")
    assert without.match_keys == ("ImisId", "GroupName")
    with_role = suggest_mapping(group, ["ID", "Group Name", "role name"], action="update")
    assert fields(with_role)["role name"] == "RoleName"
    assert with_role.match_keys == ("ImisId", "GroupName", "RoleName")


def test_a_field_that_cannot_be_mapped_is_not_proposed() -> None:
    credentials = BY_NAME["UserCredentials"]
    assert fields(suggest_mapping(credentials, ["Expiration Date"])) == {"Expiration Date": None}
    assert "cannot be mapped" in suggest_mapping(credentials, ["Expiration Date"]).columns[0].reason


def test_the_proposal_is_the_same_every_time_and_serialises() -> None:
    headers = ["Zip Code", "Zip", "E-mail", "Phone", "Last", "Email Address"]
    first = suggest_mapping(CONTACT, headers, action="insert-update")
    assert all(suggest_mapping(CONTACT, headers, action="insert-update") == first for _ in range(3))
    data = first.to_dict()
    assert data["match_keys"] == ["Email", "LastName"]
    assert [c["field"] for c in data["columns"]] == [
        "PostalCode",
        None,
        "Email",
        None,
        "LastName",
        None,
    ]


def test_insert_with_matching_leaves_the_imis_id_out_saying_to_insert() -> None:
    headers = ["iMIS ID", "E-mail", "Activity Type"]
    proposal = suggest_mapping(BY_NAME["Activity"], headers, action="insert-with-matching")
    assert fields(proposal) == {
        "iMIS ID": None,
        "E-mail": "Contact.Email",
        "Activity Type": "ActivityType",
    }
    assert proposal.match_keys == ("Contact.Email",)
    assert "use insert instead" in proposal.columns[0].reason
