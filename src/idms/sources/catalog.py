"""Every built-in source, declared as data, with the vendor's rules.

Sources: SOURCES.md and idms-features.md §7-§8.

Panels and communication preferences get their fields from the store at run time
(``panels.py`` builds a panel's SourceDef; the target adds one boolean field per preference).
"""

from __future__ import annotations

from idms.sources import rules
from idms.sources.model import (
    ALL_ACTIONS,
    COUNTER,
    NEW_GUID,
    TODAY,
    Action,
    ActionNote,
    DuplicateCheck,
    FieldDef,
    SourceDef,
    constant,
    same_as,
)
from idms.values.types import FieldType as T

I = Action.INSERT  # noqa: E741 - the five actions read best as single letters here
IM = Action.INSERT_WITH_MATCHING
U = Action.UPDATE
IU = Action.INSERT_UPDATE
D = Action.DELETE

EMS_ONLY = frozenset({"ems"})
CREDENTIALS_UNSUPPORTED = "not supported by iDMS or the iMIS REST API"
UNLOCK_ON_2017 = (
    "iMIS 2017 can only unlock user accounts, and it does so through the UserData business "
    "object: update source UserData, match on the iMIS ID and map Is Locked Out = No."
)


# Further names of common fields, as spreadsheets head their columns (what auto-mapping and
# every field reference accept: SourceDef.resolve). A name is listed only where it can mean one
# field of the source: "Phone" is left out of Contact, whose phones are three.
IMIS_ID_NAMES = ("Contact ID", "Member ID", "Customer ID")
EMAIL_NAMES = ("Email Address", "E-mail Address", "Primary Email")
FIRST_NAME_NAMES = ("First", "Given Name", "Forename")
LAST_NAME_NAMES = ("Last", "Surname", "Family Name")


def imis_id(required: bool = True, label: str = "iMIS ID", **kw: object) -> FieldDef:
    return FieldDef(
        "ImisId",
        label,
        T.STRING,
        "The contact's iMIS ID.",
        required_on_insert=required,
        max_length=10,
        aliases=("ID", *IMIS_ID_NAMES),
        **kw,  # type: ignore[arg-type]
    )


def text(name: str, label: str, length: int = 100, desc: str = "", **kw: object) -> FieldDef:
    return FieldDef(name, label, T.STRING, desc, max_length=length, **kw)  # type: ignore[arg-type]


def code(name: str, label: str, lookup: str | None, desc: str = "", **kw: object) -> FieldDef:
    return FieldDef(name, label, T.CODE, desc, lookup=lookup, max_length=60, **kw)  # type: ignore[arg-type]


def typed(name: str, label: str, ftype: T, desc: str = "", **kw: object) -> FieldDef:
    return FieldDef(name, label, ftype, desc, **kw)  # type: ignore[arg-type]


ADDRESS_FIELDS = (
    text(
        "Address1",
        "Address 1",
        100,
        aliases=("Address", "Address Line 1", "Street", "Street Address"),
    ),
    text("Address2", "Address 2", 100, aliases=("Address Line 2", "Street 2")),
    text("Address3", "Address 3", 100, aliases=("Address Line 3", "Street 3")),
    text("City", "City", 60, aliases=("Town",)),
    text("StateProvince", "State/Province", 40, aliases=("State", "Province")),
    typed(
        "PostalCode",
        "Postal Code",
        T.POSTAL_CODE,
        "Kept as text: leading zeros stay.",
        aliases=("Zip", "Zip Code", "Postcode", "Zip/Postal Code"),
    ),
    code("Country", "Country", "COUNTRY", "Must be a valid iMIS country."),
)

CONTACT = SourceDef(
    name="Contact",
    label="Contact Details",
    kind="contact",
    insert_with_matching="match_self",
    required_per_row=True,
    action_notes={
        D: ActionNote(
            job="contacts cannot be deleted in iMIS. Update the contacts with 'Mark Contact for "
            "Erasure' (MarkForErasure) = Yes instead, then run iMIS's contact-erasure task.",
            row="Contacts cannot be deleted in iMIS: update Mark Contact for Erasure instead.",
        )
    },
    checks=rules.CONTACT_CHECKS,
    description="People and organizations. Never deleted: mark them for erasure instead.",
    identity=("ImisId",),
    keys="ImisId (or ContactKey)",
    fallback_keys=(("ContactKey",), ("Email", "LastName"), ("Email",)),
    actions=frozenset({I, IM, U, IU}),
    required_on_insert_note="person: FirstName + LastName; organization: OrganizationName",
    rules=(
        "Contacts are never deleted: update MarkForErasure (Mark Contact for Erasure) instead and "
        "run iMIS's contact-erasure task.",
        "New iMIS IDs come from the store's counter; a supplied iMIS ID is used when free and is "
        "an error when taken.",
        "A new person needs First name and Last name; a new organization needs Organization name.",
        "Member/Customer Type defaults to the system default (NM) when unmapped on insert.",
        "Address fields are written to the contact's default-purpose address.",
        "Organization ID must be the iMIS ID of an organization.",
    ),
    fields=(
        imis_id(required=False, default=COUNTER),
        typed(
            "ContactKey", "Contact Key", T.GUID, "System GUID.", read_only=True, default=NEW_GUID
        ),
        typed("IsOrganization", "Is Organization", T.BOOLEAN, "True for an organization record."),
        code("Prefix", "Prefix", "PREFIX"),
        text("FirstName", "First Name", 20, "Required for a new person.", aliases=FIRST_NAME_NAMES),
        text("MiddleName", "Middle Name", 20, aliases=("Middle", "Middle Initial")),
        text("LastName", "Last Name", 30, "Required for a new person.", aliases=LAST_NAME_NAMES),
        code("Suffix", "Suffix", "SUFFIX"),
        text("InformalName", "Informal Name", 20),
        text(
            "OrganizationName",
            "Organization Name",
            80,
            "Required for a new organization.",
            aliases=("Organization", "Organisation", "Company", "Company Name", "Employer"),
        ),
        text("OrganizationId", "Organization ID", 10, "iMIS ID of the person's organization."),
        text("Title", "Title", 80, aliases=("Job Title",)),
        typed("Email", "Email", T.EMAIL, max_length=100, aliases=EMAIL_NAMES),
        typed("HomePhone", "Home Phone", T.PHONE, max_length=25),
        typed("WorkPhone", "Work Phone", T.PHONE, max_length=25, aliases=("Business Phone",)),
        typed("MobilePhone", "Mobile Phone", T.PHONE, max_length=25, aliases=("Mobile", "Cell")),
        typed("Fax", "Fax Number", T.PHONE, max_length=25),
        code(
            "MemberType",
            "Member/Customer Type",
            "MEMBER_TYPE",
            "Defaults to NM (non-member).",
            default=constant("NM"),
            aliases=("Member Level", "Membership Type", "Membership Level", "Customer Type"),
        ),
        code(
            "Status",
            "Status",
            "CONTACT_STATUS",
            "A = active; D = marked for deletion.",
            default=constant("A"),
        ),
        code("BillingCategory", "Billing Category", "BILLING_CATEGORY"),
        typed("BirthDate", "Birth Date", T.DATE, aliases=("Date of Birth", "DOB")),
        code("Gender", "Gender", "GENDER"),
        typed("JoinDate", "Join Date", T.DATE, aliases=("Member Since",)),
        typed("PaidThrough", "Paid Through", T.DATE, aliases=("Paid Thru",)),
        code("Chapter", "Chapter", "CHAPTER"),
        text("Designation", "Designation", 20),
        text("MajorKey", "Major Key", 20),
        typed(
            "MarkForErasure",
            "Mark Contact for Erasure",
            T.BOOLEAN,
            "Flags the contact for iMIS's erasure task (contacts are never deleted).",
        ),
        *ADDRESS_FIELDS,
        typed("CreatedOn", "Created On", T.DATETIME, read_only=True),
        typed("UpdatedOn", "Updated On", T.DATETIME, read_only=True),
    ),
)

ADDRESS = SourceDef(
    name="Address",
    label="Address",
    description="A contact's addresses, one per address purpose.",
    many_per_contact=True,
    identity=("ImisId", "AddressPurpose"),
    keys="ImisId + AddressPurpose",
    actions=frozenset({I, IM, U, IU}),
    required_on_insert_note="ImisId, AddressPurpose, Country",
    rules=(
        "Address Purpose must be one of the store's address purposes.",
        "Country must be a valid iMIS country.",
        "Setting a Preferred Mailing/Billing/Shipping flag clears it on the contact's other "
        "addresses: a contact has one preferred address of each kind.",
    ),
    fields=(
        imis_id(),
        code("AddressPurpose", "Address Purpose", "ADDRESS_PURPOSE", required_on_insert=True),
        *ADDRESS_FIELDS[:6],
        code(
            "Country",
            "Country",
            "COUNTRY",
            "Must be a valid iMIS country.",
            required_on_insert=True,
        ),
        typed("Email", "Email", T.EMAIL, max_length=100, aliases=EMAIL_NAMES),
        typed("Phone", "Phone", T.PHONE, max_length=25),
        typed("Fax", "Fax", T.PHONE, max_length=25),
        text("Notes", "Notes", 255),
        code("BadAddress", "Bad Address", "BAD_ADDRESS"),
        typed("IsPreferredMailing", "Preferred Mailing Address", T.BOOLEAN),
        typed("IsPreferredBilling", "Preferred Billing Address", T.BOOLEAN),
        typed("IsPreferredShipping", "Preferred Shipping Address", T.BOOLEAN),
    ),
)

ACTIVITY = SourceDef(
    name="Activity",
    label="Activities",
    description="Activity records (SEQN-keyed): webinars attended, certifications, notes.",
    many_per_contact=True,
    identity=("Seqn",),
    keys="Seqn (the only safe key for update and delete)",
    actions=ALL_ACTIONS,
    required_on_insert_note="ImisId, ActivityType",
    rules=(
        "SEQN is assigned by the store's counter.",
        "Transaction Date defaults to today when blank.",
        "A delete matched on iMIS ID alone would remove every activity of that contact: it is "
        "refused unless the job sets allow_broad_delete. Match on SEQN.",
        "Activity Type must exist in ACTIVITY_TYPE (unless Skip Validation).",
    ),
    fields=(
        typed(
            "Seqn", "SEQN", T.INTEGER, "Activity sequence number.", read_only=True, default=COUNTER
        ),
        imis_id(),
        code("ActivityType", "Activity Type", "ACTIVITY_TYPE", required_on_insert=True),
        text("ProductCode", "Product Code", 31, "The activity subtype."),
        typed("TransactionDate", "Transaction Date", T.DATE, "Blank means today.", default=TODAY),
        typed("EffectiveDate", "Effective Date", T.DATE),
        typed("ThruDate", "Thru Date", T.DATE),
        text("Description", "Description", 255),
        typed("Amount", "Amount", T.DECIMAL),
        typed("Units", "Units", T.DECIMAL),
        text("Category", "Category Code", 15),
        text("Note", "Note", 2000),
        text("Source", "Source", 40),
        text("CampaignCode", "Campaign Code", 40),
        text("ActionCodes", "Action Codes", 255),
        text("BatchNumber", "Batch Number", 15),
        typed(
            "OriginatingTransNum",
            "Originating Transaction Number",
            T.INTEGER,
            "Ties the activity to a financial transaction: do not delete such activities.",
        ),
        code("MemberType", "Customer Type Code", "MEMBER_TYPE"),
        text("OrganizationId", "Institute Contact ID", 10),
    ),
)

USER_CREDENTIALS = SourceDef(
    name="UserCredentials",
    label="User Credentials",
    kind="credentials",
    required_per_row=True,
    checks=rules.CREDENTIALS_CHECKS,
    description="Logins of contacts: create, unlock, delete. Credentials are never updated.",
    identity=("ImisId",),
    keys="ImisId",
    actions=frozenset({I, IM, U, D}),
    # iMIS 2017 can only unlock, and does so through the UserData business object.
    platform_actions={"2017": frozenset()},
    platform_notes={"2017": UNLOCK_ON_2017},
    required_on_insert_note=(
        "existing contact: ImisId (the contact must have an Email and no credentials); "
        "new contact: FirstName, LastName, Email, Username, Password"
    ),
    rules=(
        "Insert for an existing contact (iMIS ID): the contact must exist, have an e-mail and "
        "have no credentials yet. Without a Username the contact's e-mail becomes the "
        "username; without a Password the account exists but cannot log in until a password "
        "is set.",
        "Insert with a new contact (no iMIS ID): First Name, Last Name, Email, Username and "
        "Password are required; the contact and its credentials are created together or not "
        "at all.",
        "Usernames are unique without regard to case.",
        "Passwords need at least 6 characters (the iMIS default; IDMS_PASSWORD_MIN_LENGTH) and "
        "may not start or end with a space; they are stored only as argon2 hashes and never "
        "shown.",
        "Update only unlocks: Unlock User Account = 1/T/True/Y/Yes unlocks (lock cleared, "
        "failed-attempt count reset); locking is not supported. An update maps the match key(s) "
        "and Unlock User Account only; mapping Username or Password is refused: delete the "
        "credentials and insert new ones.",
        "Delete removes the credentials and keeps the contact; an insert afterwards works.",
        "After 5 failed logins (configurable) the account is locked out.",
    ),
    fields=(
        imis_id(required=False),
        text("Username", "Username", 60, "Unique without regard to case."),
        typed(
            "Password",
            "Password",
            T.PASSWORD,
            "Write-only; stored as an argon2 hash.",
            write_only=True,
            secret=True,
        ),
        typed(
            "UnlockUserAccount",
            "Unlock User Account",
            T.BOOLEAN,
            "1/T/True/Y/Yes unlocks the account.",
            write_only=True,
        ),
        text(
            "FirstName",
            "First Name",
            20,
            "For a new contact created with its credentials.",
            aliases=FIRST_NAME_NAMES,
        ),
        text(
            "LastName",
            "Last Name",
            30,
            "For a new contact created with its credentials.",
            aliases=LAST_NAME_NAMES,
        ),
        typed(
            "Email",
            "Email",
            T.EMAIL,
            "The contact's e-mail (required for credentials).",
            max_length=100,
            aliases=EMAIL_NAMES,
        ),
        typed(
            "IsLockedOut",
            "Is Locked Out",
            T.BOOLEAN,
            "iMIS locks an account after too many failed logins; Unlock User Account unlocks "
            "it. Locking is not supported.",
            read_only=True,
        ),
        typed(
            "FailedPasswordAttemptCount", "Failed Password Attempt Count", T.INTEGER, read_only=True
        ),
        typed("LastLockoutDate", "Last Lockout Date", T.DATETIME, read_only=True),
        typed("LastLoginDate", "Last Login Date", T.DATETIME, read_only=True),
        typed("CreatedOn", "Created On", T.DATETIME, read_only=True),
        typed("EffectiveDate", "Effective Date", T.DATE, unsupported=CREDENTIALS_UNSUPPORTED),
        typed(
            "ExpirationDate",
            "Expiration Date",
            T.DATE,
            unsupported=CREDENTIALS_UNSUPPORTED,
            aliases=("Expiration Dates",),
        ),
        typed("IsDisabled", "Disabled Flag", T.BOOLEAN, unsupported=CREDENTIALS_UNSUPPORTED),
    ),
)

USER_DATA = SourceDef(
    name="UserData",
    label="UserData (business object)",
    kind="userdata",
    update_is_an_action=True,
    checks=rules.USERDATA_CHECKS,
    description="iMIS 2017's UserData business object: unlock locked-out accounts.",
    identity=("ImisId",),
    keys="ImisId",
    actions=frozenset({U}),
    platforms=frozenset({"2017", "embedded"}),
    required_on_insert_note="(update only)",
    rules=(
        "Is Locked Out = 0/F/False/N/No unlocks (unlike EMS, where Unlock User Account = True); "
        "locking is not supported.",
        "On iMIS 2017 this is the only way to unlock: User Credentials allows no action there.",
    ),
    fields=(
        imis_id(label="ID"),
        text("Username", "Username", 60, read_only=True),
        typed("Email", "Email", T.EMAIL, read_only=True),
        text("FullName", "Full Name", 100, read_only=True),
        typed("IsLockedOut", "Is Locked Out", T.BOOLEAN, "False unlocks the account."),
        typed(
            "FailedPasswordAttemptCount", "Failed Password Attempt Count", T.INTEGER, read_only=True
        ),
        typed("LastLockoutDate", "Last Lockout Date", T.DATETIME, read_only=True),
        typed("IsDisabled", "Is Disabled", T.BOOLEAN, read_only=True),
        typed("CreatedOn", "Created On", T.DATETIME, read_only=True),
    ),
)

GROUP_MEMBER = SourceDef(
    name="GroupMember",
    label="Group Members",
    description="Membership of contacts in groups (committees, chapters, companies), with roles.",
    many_per_contact=True,
    match_when_mapped=("RoleName",),
    identity=("ImisId", "GroupName", "RoleName"),
    keys="ImisId + GroupName (+ RoleName when matched)",
    actions=ALL_ACTIONS,
    required_on_insert_note="ImisId, GroupName",
    rules=(
        "Role Name defaults to Member; Join Date defaults to today.",
        "Role Name mapped but not matched adds the role; matched, it updates that role.",
        "Role Name must be one of the group's roles.",
    ),
    fields=(
        imis_id(),
        code("GroupName", "Group Name", "GROUP", required_on_insert=True),
        code("RoleName", "Role Name", None, "Blank means Member.", default=constant("Member")),
        typed("JoinDate", "Join Date", T.DATE, "Blank means today.", default=TODAY),
        typed("RoleBeginDate", "Role Begin Date", T.DATE),
        typed("RoleEndDate", "Role End Date", T.DATE),
        typed("IsActive", "Is Active", T.BOOLEAN, default=constant(True)),
    ),
)

RELATIONSHIP = SourceDef(
    name="Relationship",
    label="Relationships",
    description="Relationships between contacts (parent of, employee of ...).",
    many_per_contact=True,
    identity=("ImisId", "RelationshipType", "TargetImisId"),
    keys="ImisId + RelationshipType + TargetImisId",
    actions=ALL_ACTIONS,
    required_on_insert_note="ImisId, RelationshipType, TargetImisId",
    rules=(
        "The relationship appears on the target's record only when Reciprocal Type is mapped "
        "(parent of <-> child of); the reciprocal record is kept in step.",
        "Both contacts must exist.",
    ),
    fields=(
        imis_id(),
        code("RelationshipType", "Relationship Type", "RELATIONSHIP_TYPE", required_on_insert=True),
        text("TargetImisId", "Target iMIS ID", 10, required_on_insert=True),
        code("ReciprocalType", "Reciprocal Type", "RELATIONSHIP_TYPE"),
        typed("BeginDate", "Begin Date", T.DATE),
        typed("EndDate", "End Date", T.DATE),
        text("Title", "Title", 80),
    ),
)

COMMUNICATION_PREFERENCES = SourceDef(
    name="CommunicationPreferences",
    label="Communication Preferences",
    kind="preferences",
    description="Opt-ins: one Yes/No field per preference defined in the store.",
    identity=("ImisId",),
    keys="ImisId",
    actions=frozenset({I, IM, U, IU}),
    required_on_insert_note="ImisId",
    rules=("Yes/1/True opts in; No/0/False opts out.",),
    fields=(imis_id(),),
)

EVENT = SourceDef(
    name="Event",
    label="Event Setup",
    description="Events (EMS only): code, name, dates, status.",
    identity=("EventCode",),
    keys="EventCode",
    actions=frozenset({I, U, IU}),
    platforms=EMS_ONLY,
    required_on_insert_note="EventCode, EventName",
    rules=("Closing an event (status C) does not create the activities a manual close would.",),
    fields=(
        code("EventCode", "Event Code", None, required_on_insert=True),
        text("EventName", "Event Name", 60, required_on_insert=True),
        code(
            "Status",
            "Status",
            "EVENT_STATUS",
            "A active, C closed, P pending.",
            default=constant("A"),
        ),
        typed("StartDate", "Start Date", T.DATE),
        typed("EndDate", "End Date", T.DATE),
        text("Description", "Description", 255),
        text("EventContactId", "Event Contact", 10, "iMIS ID of the event's contact."),
        text("Location", "Location", 100),
    ),
)

EVENT_FUNCTION = SourceDef(
    name="EventFunction",
    label="Event Setup: Registration Options and Program Items",
    description="An event's registration options and program items (functions), with prices.",
    identity=("EventCode", "FunctionCode"),
    keys="EventCode + FunctionCode",
    actions=frozenset({I, U, IU}),
    platforms=EMS_ONLY,
    required_on_insert_note="EventCode, FunctionCode, FunctionName",
    rules=("The event must exist; a registration option must have a price to be registered for.",),
    fields=(
        code("EventCode", "Event Code", "EVENT", required_on_insert=True),
        code(
            "FunctionCode",
            "Function Code",
            None,
            required_on_insert=True,
            aliases=("Registration Option Code", "Program Item Code"),
        ),
        text("FunctionName", "Function Name", 60, required_on_insert=True),
        typed("IsRegistrationOption", "Is Registration Option", T.BOOLEAN, default=constant(False)),
        typed("Price", "Price", T.DECIMAL),
        typed("Capacity", "Capacity", T.INTEGER),
        typed("BeginDate", "Begin Date", T.DATE),
    ),
)

EVENT_REGISTRATION = SourceDef(
    name="EventRegistration",
    label="Event Registration",
    description="Registrations of contacts for events (EMS only; insert only).",
    duplicate_check=DuplicateCheck(
        ("RegistrantId", "EventCode", "FunctionCode"),
        "already_registered",
        "Skipped: this contact is already registered for this event and function "
        "(duplicate check; switch it off with duplicate_check: false).",
    ),
    identity=("RegistrationId",),
    keys="EventCode + RegistrantId (+ FunctionCode)",
    actions=frozenset({I}),
    platforms=EMS_ONLY,
    required_on_insert_note="RegistrantId, EventCode, FunctionCode",
    rules=(
        "Insert only. iMIS does not check for duplicate registrations; idms does (switchable).",
        "Price unmapped means the option's price; the option must have a price.",
        "Function Code must be a registration option or program item of the event.",
    ),
    fields=(
        typed("RegistrationId", "Registration ID", T.INTEGER, read_only=True, default=COUNTER),
        text(
            "RegistrantId",
            "Registrant ID",
            10,
            required_on_insert=True,
            aliases=("ImisId", *IMIS_ID_NAMES),
        ),
        code("EventCode", "Event Code", "EVENT", required_on_insert=True),
        code(
            "FunctionCode",
            "Function Code",
            "FUNCTION",
            required_on_insert=True,
            aliases=("Registration Option Code",),
        ),
        typed("Price", "Price", T.DECIMAL, "Blank means the option's default price."),
        text("RegisteredById", "Registered By ID", 10),
        text("BillToId", "Bill To ID", 10),
        typed("TransactionDate", "Transaction Date", T.DATE, default=TODAY),
        typed(
            "Waitlist",
            "Wait List",
            T.BOOLEAN,
            "Join the wait list when the option is full.",
            default=constant(False),
        ),
        code("Status", "Status", None, read_only=True),
    ),
)

GIFT = SourceDef(
    name="Gift",
    label="Gifts",
    description="Donations (insert only). Credit-card payment methods are refused.",
    identity=("GiftId",),
    keys="(none: gifts are insert only)",
    actions=frozenset({I}),
    required_on_insert_note="Amount, DonorId, GiftItemId, PaymentMethodId",
    rules=(
        "Payment methods of type credit card are not supported: create a cash-type payment "
        "method for imported card gifts.",
        "Gift Date defaults to Transaction Date; Transaction Date defaults to today.",
    ),
    fields=(
        typed("GiftId", "Gift ID", T.INTEGER, read_only=True, default=COUNTER),
        text(
            "DonorId", "Donor ID", 10, required_on_insert=True, aliases=("ImisId", *IMIS_ID_NAMES)
        ),
        typed("Amount", "Amount", T.DECIMAL, required_on_insert=True),
        code("GiftItemId", "Gift Item Id", "GIFT_ITEM", required_on_insert=True),
        code("PaymentMethodId", "Payment Method Id", "PAYMENT_METHOD", required_on_insert=True),
        typed(
            "GiftDate",
            "Gift Date",
            T.DATE,
            "Unmapped means the Transaction Date.",
            default=same_as("TransactionDate"),
        ),
        typed("TransactionDate", "Transaction Date", T.DATE, default=TODAY),
        text("CheckNumber", "Check/PO Number", 40),
        text("SourceCode", "Source Code", 40),
        text("TributeName", "Tribute Name", 100, "Free text; no iMIS ID needed."),
        text("TributeNameId", "Tribute Name ID", 10),
        code("TributeType", "Tribute Type ID", "TRIBUTE_TYPE"),
        text("TributeMessage", "Tribute Message", 255),
        text("SoftCreditId", "Soft Credit ID", 10),
        typed("SoftCreditAmount", "Soft Credit Amount", T.DECIMAL),
        typed("SoftCreditPercentage", "Soft Credit Percentage", T.DECIMAL),
        typed("DoNotReceipt", "Do Not Receipt", T.BOOLEAN),
        text("ListAs", "List As", 100),
        text("MovesManagerId", "Moves Manager ID", 10),
        text("NotifyContactId", "Notify Contact ID", 10),
    ),
)

LOOKUP_TABLE = SourceDef(
    name="LookupTable",
    label="General Lookup Tables",
    description="The codes that validation checks (ACTIVITY_TYPE, MEMBER_TYPE, COUNTRY ...).",
    identity=("TableName", "Code"),
    keys="TableName + Code",
    actions=frozenset({I, U, IU, D}),
    required_on_insert_note="TableName, Code",
    rules=("Expansion holds extra data for a code (it can change panel-field behaviour).",),
    fields=(
        text("TableName", "Table Name", 60, required_on_insert=True),
        text("Code", "Code", 60, required_on_insert=True),
        text("Description", "Description", 255),
        text("Expansion", "Expansion", 255),
    ),
)

BUILTIN_SOURCES: tuple[SourceDef, ...] = (
    CONTACT,
    ADDRESS,
    ACTIVITY,
    USER_CREDENTIALS,
    USER_DATA,
    GROUP_MEMBER,
    RELATIONSHIP,
    COMMUNICATION_PREFERENCES,
    EVENT,
    EVENT_FUNCTION,
    EVENT_REGISTRATION,
    GIFT,
    LOOKUP_TABLE,
)

BY_NAME = {s.name: s for s in BUILTIN_SOURCES}

# Lookup tables whose codes live in their own store tables rather than in the general lookup
# table (the target resolves both alike).
ENTITY_LOOKUPS = ("EVENT", "FUNCTION", "GROUP", "GIFT_ITEM", "PAYMENT_METHOD")
