"""Counted nouns, the one place for singular and plural: "1 recipe", "2 recipes",
"1 person", "3 people". The roadmap PDF, the Markdown export and the board's pages all
say counts through here (template filter `counted` in board_tags)."""

from __future__ import annotations

# The nouns whose plural is not the singular plus "s".
IRREGULAR = {
    "person": "people",
    "entry": "entries",
    "activity": "activities",
    "category": "categories",
    "was": "were",
    "is": "are",
}


def noun(count: int, singular: str, plural: str = "") -> str:
    """The form of `singular` that goes with `count`; "person|people" names both."""
    if "|" in singular and not plural:
        singular, _, plural = singular.partition("|")
    if count == 1:
        return singular
    if plural:
        return plural
    head, _, last = singular.rpartition(" ")
    many = IRREGULAR.get(last) or (last[:-1] + "ies" if last.endswith("y") and
                                   last[-2:-1] not in "aeiou" else last + "s")
    return f"{head} {many}" if head else many


def listed(things: list[str]) -> str:
    """ "a", "a or b", "a, b or c"."""
    if len(things) < 2:
        return "".join(things)
    return f"{', '.join(things[:-1])} or {things[-1]}"


def counted(count: int, singular: str, plural: str = "") -> str:
    """ "1 recipe", "2 recipes", "0 open action items" (`singular` may be a phrase: its
    last word takes the plural)."""
    return f"{count:,} {noun(count, singular, plural)}"
