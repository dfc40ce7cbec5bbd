"""Path converters. `<id:...>` is a database id: at most 18 digits, so that a longer
number is a 404 at routing instead of an overflow in the database (SQLite and
PostgreSQL both take ids up to 2**63 - 1)."""

import re

ID = re.compile("[0-9]{1,18}")


def parse_id(text: str) -> int | None:
    """A database id posted in a form, or None for anything else."""
    return int(text) if ID.fullmatch(text) else None


class IdConverter:
    regex = ID.pattern

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)
