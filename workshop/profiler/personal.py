"""Which columns of a sample look personal, and what the ethics register should say
about each: by the column's name, and by its sampled values (phone numbers by the
phonenumbers library, card numbers by Luhn, addresses by the ipaddress module).

A finding is a proposal for the room, not a verdict: each becomes a prefilled risk
that a person accepts or dismisses.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import phonenumbers

from .stats import CATEGORY, DECIMAL, INTEGER, TEXT, Column

# A column is flagged by its values when this share of its sampled values match.
SHARE = 0.6
PHONE_REGIONS = ("GB", "US", "DE", "FR")

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
SSN = re.compile(r"^\d{3}-\d{2}-\d{4}$")
NINO = re.compile(r"^[A-CEGHJ-PR-TW-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]$", re.IGNORECASE)
STREET = re.compile(r"^\d+[a-z]?\s+\S.*\b(street|st|road|rd|avenue|ave|lane|ln|way|drive|"
                    r"dr|close|court|place|boulevard|blvd|strasse|straße|rue|via)\b",
                    re.IGNORECASE)
POSTCODE = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}$", re.IGNORECASE)
PERSON_NAME = re.compile(r"^[A-Z][a-z'’-]+(\s[A-Z][a-z'’-]+){0,2}$")


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    special: bool = False


KINDS = {kind.key: kind for kind in (
    Kind("email", "e-mail addresses"),
    Kind("phone", "phone numbers"),
    Kind("name", "people's names"),
    Kind("address", "postal addresses"),
    Kind("ip", "IP addresses"),
    Kind("location", "precise locations"),
    Kind("birth", "dates of birth"),
    Kind("card", "payment card numbers"),
    Kind("national_id", "national identity numbers"),
    Kind("health", "health data", special=True),
    Kind("religion", "religious beliefs", special=True),
    Kind("ethnicity", "ethnic origin", special=True),
    Kind("sexuality", "sexual orientation", special=True),
    Kind("politics", "political opinions", special=True),
    Kind("union", "trade-union membership", special=True),
)}

# Words in a column's name (split on _ - space and camelCase), per kind.
NAME_WORDS: dict[str, tuple[str, ...]] = {
    "email": ("email", "e-mail", "mail"),
    "phone": ("phone", "mobile", "telephone", "tel", "cell", "msisdn"),
    "name": ("firstname", "first_name", "lastname", "last_name", "surname", "fullname",
             "full_name", "given_name", "family_name", "forename", "middle_name"),
    "address": ("address", "street", "addr", "postcode", "postal_code", "zip", "zipcode",
                "post_code"),
    "ip": ("ip", "ip_address", "ipv4", "ipv6"),
    "location": ("lat", "latitude", "lon", "lng", "longitude", "geo", "coordinates",
                 "geolocation"),
    "birth": ("dob", "birth", "birthday", "birthdate", "date_of_birth", "born"),
    "card": ("card_number", "pan", "credit_card", "cc_number", "cardnumber"),
    "national_id": ("ssn", "social_security", "national_id", "nino", "passport",
                    "tax_id", "nhs_number", "national_insurance", "id_card"),
    "health": ("health", "diagnosis", "medical", "condition", "disability", "medication",
               "allergy", "allergies", "pregnancy", "pregnant", "bmi", "blood_type"),
    "religion": ("religion", "religious", "faith", "belief"),
    "ethnicity": ("ethnicity", "ethnic", "race", "ethnic_origin"),
    "sexuality": ("sexual_orientation", "orientation", "sexuality"),
    "politics": ("political", "politics", "party_affiliation", "political_party"),
    "union": ("union", "trade_union", "union_member", "union_membership"),
}

# Values that betray a special category, when a column is made of them.
LEXICON: dict[str, frozenset[str]] = {
    "health": frozenset({"diabetes", "asthma", "cancer", "hiv", "depression", "anxiety",
                         "hypertension", "pregnant", "epilepsy", "arthritis", "adhd",
                         "autism", "dementia", "copd", "migraine", "obesity",
                         "coeliac", "celiac", "heart disease", "none"}),
    "religion": frozenset({"christian", "muslim", "jewish", "hindu", "buddhist", "sikh",
                           "atheist", "catholic", "protestant", "agnostic", "orthodox"}),
    "ethnicity": frozenset({"white", "black", "asian", "hispanic", "latino", "mixed",
                            "caucasian", "black british", "white british", "arab",
                            "other ethnic group"}),
    "sexuality": frozenset({"heterosexual", "straight", "gay", "lesbian", "bisexual",
                            "queer", "asexual", "pansexual"}),
    "politics": frozenset({"labour", "conservative", "democrat", "republican",
                           "liberal democrat", "green", "reform", "snp", "socialist"}),
}


@dataclass(frozen=True)
class Finding:
    column: str
    kind: str
    evidence: str

    @property
    def label(self) -> str:
        return KINDS[self.kind].label

    @property
    def special(self) -> bool:
        return KINDS[self.kind].special


def _words(name: str) -> set[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower().strip()
    parts = re.split(r"[\s_\-.]+", spaced)
    joined = "_".join(part for part in parts if part)
    words = {part for part in parts if part}
    # "date_of_birth" and "first_name" are names too, not only their words.
    words |= {"_".join(parts[i:j]) for i in range(len(parts))
              for j in range(i + 2, min(len(parts), i + 3) + 1)}
    return words | {joined}


def by_name(name: str) -> str | None:
    words = _words(name)
    for kind, hints in NAME_WORDS.items():
        if words & set(hints):
            return kind
    return None


def _share(values: Iterable[Any], test: Callable[[str], bool]) -> float:
    texts = [str(value).strip() for value in values]
    if not texts:
        return 0.0
    return sum(1 for text in texts if text and test(text)) / len(texts)


def is_phone(text: str) -> bool:
    if sum(ch.isdigit() for ch in text) < 7:
        return False
    for region in PHONE_REGIONS:
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            return False
        if phonenumbers.is_valid_number(number):
            return True
    return False


def luhn(text: str) -> bool:
    # ASCII digits only, checked first: "²".isdigit() is true and int("²") fails.
    if any(ch not in "0123456789 -" for ch in text):
        return False
    digits = [int(ch) for ch in text if ch in "0123456789"]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2:
            digit *= 2
            digit -= 9 if digit > 9 else 0
        total += digit
    return total % 10 == 0


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


VALUE_TESTS: dict[str, Callable[[str], bool]] = {
    "email": lambda text: bool(EMAIL.match(text)),
    "card": luhn,
    "ip": is_ip,
    "national_id": lambda text: bool(SSN.match(text) or NINO.match(text)),
    "phone": is_phone,
    "address": lambda text: bool(STREET.match(text) or POSTCODE.match(text)),
}


def _by_values(column: Column) -> tuple[str, float] | None:
    """Text is tested for every kind; numbers only as card numbers (a phone number or
    an id read as a number is told by its column's name)."""
    if column.kind not in (TEXT, CATEGORY, INTEGER) or not column.values:
        return None
    tests = VALUE_TESTS if column.kind != INTEGER else {"card": luhn}
    for kind, test in tests.items():
        share = _share(column.values, test)
        if share >= SHARE:
            return kind, share
    return _special_values(column) if column.kind != INTEGER else None


def _special_values(column: Column) -> tuple[str, float] | None:
    values = [str(value).strip().lower() for value in column.values]
    for kind, words in LEXICON.items():
        hits = [value for value in values if value in words]
        if len(set(hits)) >= 2 and len(hits) / len(values) >= SHARE:
            return kind, len(hits) / len(values)
    return None


def _precise(column: Column) -> bool:
    """Coordinates to three decimals or more locate a street, not a region."""
    decimals = [len(str(value).split(".")[1]) for value in column.values
                if "." in str(value)]
    return bool(decimals) and sorted(decimals)[len(decimals) // 2] >= 3


def find(column: Column) -> Finding | None:
    """What personal data this column holds, if any, and how that was seen."""
    named = by_name(column.name)
    valued = _by_values(column)
    if valued is not None:
        kind, share = valued
        how = f"{share:.0%} of sampled values look like {KINDS[kind].label}"
        if named == kind:
            how = f"its name, and {how}"
        return Finding(column.name, kind, how)
    if named is None:
        if column.kind == TEXT and _share(column.values, lambda t: bool(
                PERSON_NAME.match(t))) >= 0.8 and "name" in _words(column.name):
            return Finding(column.name, "name", "its name, and values that read as names")
        return None
    if named == "location" and not (column.kind == DECIMAL and _precise(column)):
        return None
    return Finding(column.name, named, f"its name (“{column.name}”)")


def mask(value: Any) -> str:
    """An example that shows a value's shape, not the value: its first character, its
    length, and for e-mails the top-level domain."""
    text = str(value)
    if EMAIL.match(text):
        local, domain = text.split("@", 1)
        tld = domain.rsplit(".", 1)[-1]
        return f"{local[:1]}•••@•••.{tld}"
    if len(text) <= 2:
        return "•" * len(text)
    keep = 1 if len(text) < 8 else 2
    middle = "".join("•" if ch.isalnum() else ch for ch in text[keep:-1])
    return f"{text[:keep]}{middle}{'•'}"


MITIGATIONS = {
    "email": ("Keep e-mail addresses out of the model's features and prompts; join on a "
              "pseudonymous id instead.", "Let people see, correct and delete what is kept"),
    "phone": ("Drop or hash phone numbers before the data reaches personalisation.",
              "Let people see and delete what is kept"),
    "name": ("Use a pseudonymous id; never show names in generated content unless the "
             "person signed in.", "Let people see what is kept about them"),
    "address": ("Keep only the region personalisation needs (city or district), not "
                "the street.", "Let people choose how precise their location is"),
    "ip": ("Truncate IP addresses to a network and keep them only as long as security "
           "needs.", "Say in the privacy notice what is logged"),
    "location": ("Round coordinates to a district before use; never infer home or work "
                 "places without consent.", "Let people turn location-based "
                                            "personalisation off"),
    "birth": ("Keep an age band, not the date of birth.", "Let people leave age out"),
    "card": ("Remove card numbers: personalisation never needs them (PCI DSS).",
             "None needed once removed"),
    "national_id": ("Remove national identity numbers from this data set.",
                    "None needed once removed"),
}
SPECIAL = ("Special-category data (GDPR art. 9): use it only with explicit consent and a "
           "documented necessity, or leave it out of personalisation.",
           "Explicit opt-in, and a way to withdraw it")


def proposed_risk(finding: Finding, source_name: str) -> dict[str, Any]:
    """The ethics-register entry a finding proposes, as a risk form's fields."""
    mitigation, control = (SPECIAL if finding.special
                           else MITIGATIONS.get(finding.kind, SPECIAL))
    return {
        "risk": f"{finding.label.capitalize()} in “{finding.column}” of {source_name}"[:200],
        "category": "privacy",
        "affected": f"People whose records are in {source_name}"[:200],
        "intent": "unintended",
        "likelihood": 3,
        "severity": 5 if finding.special or finding.kind in ("card", "national_id") else 4,
        "action": "act",
        "mitigation": mitigation,
        "user_control": control,
        "status": "open",
    }
