"""The demo association's reference data: codes, names and shares that make it look real."""

from __future__ import annotations

Code = tuple[str, str, str | None]  # code, description, expansion

COUNTRY_NAMES = (
    "United States", "Canada", "Mexico", "United Kingdom", "Ireland", "France", "Germany",
    "Netherlands", "Belgium", "Switzerland", "Austria", "Italy", "Spain", "Portugal", "Sweden",
    "Norway", "Denmark", "Finland", "Poland", "Czech Republic", "Greece", "Israel", "Turkey",
    "United Arab Emirates", "Saudi Arabia", "South Africa", "Nigeria", "Kenya", "Egypt", "India",
    "Pakistan", "China", "Hong Kong", "Japan", "South Korea", "Singapore", "Philippines",
    "Australia", "New Zealand", "Brazil", "Argentina", "Chile", "Colombia",
)  # fmt: skip

# Chapter code -> (name, the states it covers).
CHAPTERS: dict[str, tuple[str, str]] = {
    "NENG": ("New England Chapter", "CT ME MA NH RI VT"),
    "MATL": ("Mid-Atlantic Chapter", "NY NJ PA DE MD DC"),
    "SE": ("Southeast Chapter", "VA WV NC SC GA FL AL MS TN KY AR LA"),
    "MW": ("Midwest Chapter", "OH MI IN IL WI MN IA MO ND SD NE KS"),
    "SW": ("Southwest Chapter", "TX OK NM AZ"),
    "WEST": ("West Chapter", "CA NV UT CO HI"),
    "PNW": ("Pacific Northwest Chapter", "WA OR ID MT WY AK"),
}
CHAPTER_OF_STATE = {
    state: code for code, (_, states) in CHAPTERS.items() for state in states.split()
}

# Rough populations (millions): most members live where most people do.
STATE_WEIGHTS = {
    "CA": 39, "TX": 30, "FL": 22, "NY": 20, "PA": 13, "IL": 12.5, "OH": 11.8, "GA": 11,
    "NC": 10.7, "MI": 10, "NJ": 9.3, "VA": 8.7, "WA": 7.8, "AZ": 7.4, "TN": 7, "MA": 7, "IN": 6.8,
    "MO": 6.2, "MD": 6.2, "WI": 5.9, "CO": 5.8, "MN": 5.7, "SC": 5.3, "AL": 5, "LA": 4.6,
    "KY": 4.5, "OR": 4.2, "OK": 4, "CT": 3.6, "UT": 3.4, "IA": 3.2, "NV": 3.2, "AR": 3, "MS": 2.9,
    "KS": 2.9, "NM": 2.1, "NE": 2, "ID": 1.9, "WV": 1.8, "HI": 1.4, "NH": 1.4, "ME": 1.4,
    "MT": 1.1, "RI": 1.1, "DE": 1, "SD": 0.9, "ND": 0.8, "AK": 0.7, "DC": 0.7, "VT": 0.6, "WY": 0.6,
}  # fmt: skip

# Country -> (Faker locale, share of contacts); the United States takes what is left.
FOREIGN = {
    "Canada": ("en_CA", 0.04),
    "United Kingdom": ("en_GB", 0.025),
    "Australia": ("en_AU", 0.015),
    "Germany": ("de_DE", 0.01),
    "France": ("fr_FR", 0.01),
}

ACTIVITY_TYPES: tuple[Code, ...] = (
    ("MEETING", "Meeting attended", None),
    ("WEBINAR", "Webinar", None),
    ("CERT", "Certification", None),
    ("COMMITTEE", "Committee service", None),
    ("NOTE", "Staff note", None),
    ("CE_CREDIT", "Continuing education credit", None),
    ("VOLUNTEER", "Volunteer service", None),
    ("PUBLICATION", "Publication purchase", None),
    ("SURVEY", "Survey response", None),
)

RELATIONSHIP_TYPES: tuple[Code, ...] = (
    ("PARENT", "Parent of", "CHILD"),
    ("CHILD", "Child of", "PARENT"),
    ("SPOUSE", "Spouse of", "SPOUSE"),
    ("SIBLING", "Sibling of", "SIBLING"),
    ("MENTOR", "Mentor of", "MENTEE"),
    ("MENTEE", "Mentee of", "MENTOR"),
    ("EMPLOYEE", "Employee of", "EMPLOYER"),
    ("EMPLOYER", "Employer of", "EMPLOYEE"),
    ("ASSISTANT", "Assistant to", "MANAGER"),
    ("MANAGER", "Manager of", "ASSISTANT"),
    ("REFERRED_BY", "Referred by", None),
)
RECIPROCAL = {code: exp for code, _, exp in RELATIONSHIP_TYPES}
# Share of persons who are the first side of a relationship of each type.
RELATED_SHARES = {
    "SPOUSE": 0.03,
    "MENTOR": 0.03,
    "PARENT": 0.01,
    "SIBLING": 0.01,
    "REFERRED_BY": 0.02,
}

INTERESTS: tuple[Code, ...] = (
    ("ADVOCACY", "Advocacy and public policy", None),
    ("EDUCATION", "Professional education", None),
    ("NETWORKING", "Networking", None),
    ("RESEARCH", "Research", None),
    ("LEADERSHIP", "Leadership", None),
    ("TECHNOLOGY", "Technology", None),
    ("MENTORING", "Mentoring", None),
    ("ETHICS", "Ethics and standards", None),
)

VOLUNTEER_SKILLS: tuple[Code, ...] = (
    ("WRITING", "Writing and editing", None),
    ("SPEAKING", "Public speaking", None),
    ("FUNDRAISING", "Fundraising", None),
    ("EVENTS", "Event planning", None),
    ("SOCIAL", "Social media", None),
    ("MENTORING", "Mentoring", None),
    ("TECH", "Technology", None),
    ("FINANCE", "Finance and accounting", None),
)

LOOKUPS: dict[str, tuple[Code, ...]] = {
    "PREFIX": tuple((p, p, None) for p in ("Mr", "Ms", "Mrs", "Dr", "Prof")),
    "SUFFIX": (
        ("Jr", "Junior", None),
        ("Sr", "Senior", None),
        ("II", "The Second", None),
        ("III", "The Third", None),
        ("PhD", "Doctor of Philosophy", None),
    ),
    "MEMBER_TYPE": (
        ("NM", "Non-member", None),
        ("REG", "Regular Member", None),
        ("STU", "Student", None),
        ("RET", "Retired", None),
        ("LIFE", "Life Member", None),
        ("CORP", "Corporate", None),
        ("GLD", "Gold", None),
        ("SLV", "Silver", None),
    ),
    "CONTACT_STATUS": (
        ("A", "Active", None),
        ("I", "Inactive", None),
        ("D", "Marked for deletion", None),
    ),
    "BILLING_CATEGORY": (
        ("STD", "Standard annual billing", None),
        ("AUTO", "Automatic renewal", None),
        ("INTL", "International", None),
        ("COMP", "Complimentary", None),
    ),
    "GENDER": (
        ("M", "Male", None),
        ("F", "Female", None),
        ("X", "Non-binary", None),
        ("U", "Unspecified", None),
    ),
    "CHAPTER": tuple((code, name, None) for code, (name, _) in CHAPTERS.items()),
    "COUNTRY": tuple((name, name, None) for name in COUNTRY_NAMES),
    "ADDRESS_PURPOSE": (
        ("Address", "Default address", None),
        ("Home", "Home address", None),
        ("Work", "Work address", None),
        ("Billing", "Billing address", None),
        ("Shipping", "Shipping address", None),
    ),
    "BAD_ADDRESS": (
        ("RTS", "Returned to sender", None),
        ("NFA", "Moved, no forwarding address", None),
        ("UNDELIV", "Undeliverable as addressed", None),
        ("VACANT", "Vacant", None),
    ),
    # TOCALL is never generated: staff create "to call" follow-ups (docs/examples).
    "ACTIVITY_TYPE": (*ACTIVITY_TYPES, ("TOCALL", "To call (staff follow-up)", None)),
    "RELATIONSHIP_TYPE": RELATIONSHIP_TYPES,
    "TRIBUTE_TYPE": (("HONOR", "In honor of", None), ("MEMORY", "In memory of", None)),
    "EVENT_STATUS": (("A", "Active", None), ("C", "Closed", None), ("P", "Pending", None)),
    "INTEREST": INTERESTS,
    "VOLUNTEER_SKILL": VOLUNTEER_SKILLS,
}

PERSON_MEMBER_TYPES = {"REG": 38, "NM": 22, "STU": 9, "RET": 8, "LIFE": 3, "GLD": 8, "SLV": 12}
MEMBER_TYPES_ACTIVE = ("REG", "GLD", "SLV", "LIFE", "RET")

TITLES = (
    "Executive Director", "Program Manager", "Senior Analyst", "Director of Operations",
    "Chief Financial Officer", "Chief Executive Officer", "Vice President, Marketing",
    "Membership Coordinator", "Registered Nurse", "Nurse Practitioner", "Attorney",
    "Associate Attorney", "Staff Engineer", "Project Engineer", "Senior Accountant", "Controller",
    "Policy Advisor", "Research Scientist", "Consultant", "Senior Consultant", "Office Manager",
    "Human Resources Manager", "IT Director", "Communications Specialist", "Physician",
    "Clinical Director", "Professor", "Assistant Professor", "Partner", "Managing Partner",
    "Operations Manager", "Grants Manager", "Development Director", "Data Analyst",
    "Compliance Officer", "Administrator", "Account Executive", "Principal",
)  # fmt: skip
DESIGNATIONS = ("CPA", "CAE", "MBA", "RN", "PE", "CFRE", "MD", "JD", "PMP", "SHRM-CP")
ORG_SUFFIXES = (
    "Associates",
    "Health System",
    "Consulting Group",
    "& Partners LLP",
    "Medical Center",
    "Engineering",
    "Foundation",
    "Institute",
    "Solutions",
    "Law Group",
    "Financial Services",
)
NICKNAMES = {
    "William": "Bill", "Robert": "Bob", "Elizabeth": "Liz", "Katherine": "Kate", "Michael": "Mike",
    "James": "Jim", "Jennifer": "Jen", "Christopher": "Chris", "Thomas": "Tom", "Richard": "Rick",
    "Margaret": "Peggy", "Daniel": "Dan", "Joseph": "Joe", "Matthew": "Matt", "Anthony": "Tony",
    "Patricia": "Pat", "Susan": "Sue", "Deborah": "Debbie", "Rebecca": "Becky", "Nicholas": "Nick",
    "Jonathan": "Jon", "Benjamin": "Ben", "Samuel": "Sam", "Alexander": "Alex", "Andrew": "Andy",
    "Stephen": "Steve", "Steven": "Steve", "David": "Dave", "Timothy": "Tim", "Kimberly": "Kim",
    "Jessica": "Jess", "Victoria": "Vicky", "Edward": "Ed", "Charles": "Charlie",
}  # fmt: skip

WEBINAR_TOPICS = (
    "Ethics in Practice", "Leading Remote Teams", "Budgeting Basics", "Data Privacy Update",
    "Negotiation Skills", "Advocacy 101", "Grant Writing Essentials", "Regulatory Outlook",
    "Managing Change", "Diversity, Equity and Inclusion", "Cybersecurity for Professionals",
)  # fmt: skip
CERTIFICATIONS = (
    ("CERT-PRO", "Certified Professional"),
    ("CERT-ADV", "Advanced Practitioner"),
    ("CERT-MGR", "Certified Manager"),
)
PUBLICATIONS = (
    ("PUB-HANDBOOK", "Practice Handbook, 5th edition", "89.00"),
    ("PUB-SALARY", "Annual Salary Survey Report", "49.00"),
    ("PUB-GUIDE", "Career Guide for New Professionals", "19.95"),
    ("PUB-JOURNAL", "Journal back issue", "25.00"),
)
VOLUNTEER_TASKS = (
    "Conference registration desk",
    "Mentoring program",
    "Chapter newsletter",
    "Awards judging",
    "Membership drive phone bank",
    "Exam item writing",
)
SPECIALTIES = (
    "General practice", "Consulting", "Research", "Education", "Public policy", "Finance",
    "Compliance", "Technology", "Operations", "Clinical practice", "Management",
)  # fmt: skip
VOLUNTEER_ROLES = (
    "Event volunteer",
    "Mentor",
    "Conference speaker",
    "Committee member",
    "Newsletter contributor",
    "Registration desk",
    "Ambassador",
    "Exam item writer",
)

COMMITTEES: tuple[tuple[str, str], ...] = (
    ("BOARD", "Board of Directors"),
    ("AWARDS", "Awards Committee"),
    ("EDUCATION", "Education Committee"),
    ("MEMBERSHIP", "Membership Committee"),
    ("FINANCE", "Finance Committee"),
)
COMMITTEE_SIZES = {"BOARD": 15, "AWARDS": 12, "EDUCATION": 30, "MEMBERSHIP": 30, "FINANCE": 10}
COMMITTEE_ROLES = ("Member", "Chair", "Vice Chair", "Secretary")
CHAPTER_ROLES = ("Member", "President", "Vice President", "Treasurer")

PREFERENCES: tuple[tuple[str, str, str, float], ...] = (
    ("NEWSLETTER", "Monthly newsletter", "The members' newsletter by e-mail.", 0.75),
    ("EVENTS", "Event announcements", "Conferences, webinars and chapter meetings.", 0.6),
    ("DUES_REMINDERS", "Dues reminders", "Renewal notices before dues fall due.", 0.9),
    ("SURVEYS", "Surveys", "Member surveys and research panels.", 0.35),
    ("PARTNER_OFFERS", "Partner offers", "Offers from our partners and sponsors.", 0.15),
)

# Event templates: code, name (after the year), usual month and day, days, venue, registration
# options, program items.
Function = tuple[str, str, str | None]  # function code, name, price
EventTemplate = tuple[
    str, str, tuple[int, int], int, str, tuple[Function, ...], tuple[Function, ...]
]
EVENT_TEMPLATES: tuple[EventTemplate, ...] = (
    (
        "AC", "Annual Conference", (10, 14), 3, "Hyatt Regency, Chicago, IL",
        (
            ("MEMBER", "Member Registration", "395.00"),
            ("NONMEMBER", "Non-member Registration", "595.00"),
            ("STUDENT", "Student Registration", "95.00"),
        ),
        (
            ("WELCOME", "Welcome Reception", None),
            ("LUNCH", "Awards Luncheon", "45.00"),
            ("WKSHP-LEAD", "Pre-conference Workshop: Leadership", "125.00"),
            ("GOLF", "Charity Golf Outing", "150.00"),
        ),
    ),
    (
        "LS", "Spring Leadership Summit", (4, 22), 2, "Grand Hyatt, Washington, DC",
        (
            ("MEMBER", "Member Registration", "295.00"),
            ("NONMEMBER", "Non-member Registration", "450.00"),
        ),
        (
            ("KEYNOTE", "Opening Keynote", None),
            ("DINNER", "Networking Dinner", "85.00"),
            ("TOUR", "Capitol Hill Tour", "35.00"),
        ),
    ),
    (
        "ES", "Fall Education Symposium", (9, 16), 2, "Colorado Convention Center, Denver, CO",
        (
            ("MEMBER", "Member Registration", "245.00"),
            ("NONMEMBER", "Non-member Registration", "395.00"),
            ("STUDENT", "Student Registration", "75.00"),
        ),
        (
            ("WKSHP-DATA", "Workshop: Data and Analytics", "125.00"),
            ("WKSHP-ETH", "Workshop: Ethics Update", "95.00"),
            ("BREAKFAST", "Networking Breakfast", None),
        ),
    ),
    (
        "LD", "Legislative Day", (3, 4), 1, "Hilton Capitol Center, Austin, TX",
        (
            ("MEMBER", "Member Registration", "75.00"),
            ("NONMEMBER", "Non-member Registration", "125.00"),
        ),
        (
            ("BRIEFING", "Policy Briefing", None),
            ("RECEPTION", "Legislative Reception", "40.00"),
        ),
    ),
    (
        "GALA", "Awards Gala", (11, 8), 1, "The Fairmont, San Francisco, CA",
        (
            ("TICKET", "Individual Ticket", "175.00"),
            ("TABLE", "Table of Ten", "1500.00"),
        ),
        (
            ("AUCTION", "Silent Auction", None),
            ("VIP", "VIP Reception", "75.00"),
        ),
    ),
    (
        "NR", "Summer Networking Reception", (6, 10), 1, "Westin Copley Place, Boston, MA",
        (
            ("MEMBER", "Member Registration", "25.00"),
            ("NONMEMBER", "Non-member Registration", "45.00"),
        ),
        (
            ("SPEED", "Speed Mentoring", None),
            ("TALK", "Lightning Talks", None),
        ),
    ),
)  # fmt: skip

# Registration options that sell out first (one of them gets a capacity).
SMALL = ("STUDENT", "TABLE")

GIFT_ITEMS = (
    ("ANNUAL", "Annual Fund", "Unrestricted support for the association's programs."),
    ("SCHOLARSHIP", "Scholarship Fund", "Scholarships for students entering the profession."),
    ("BUILDING", "Building Fund", "The new headquarters and training center."),
    ("ENDOWMENT", "Endowment", "The association's permanent endowment."),
)
PAYMENT_METHODS = (
    ("CASH", "Cash", "CASH"),
    ("CHECK", "Check", "CHECK"),
    ("EFT", "Electronic funds transfer", "CASH"),
    ("VISA", "Visa", "CREDIT_CARD"),
    ("MC", "MasterCard", "CREDIT_CARD"),
    ("AMEX", "American Express", "CREDIT_CARD"),
)
