"""Generated data samples with known figures, for the profiling tests and benchmark.

`customers(rows)` writes a CRM export of 20 columns whose completeness, duplicates and
personal columns are known exactly: every 10th phone is empty, a quarter of the rows
name a health condition, half have notes, and every 100th row repeats the row before it
(the personal columns are PERSONAL).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random

COLUMNS = ["customer_id", "email", "phone", "first_name", "last_name", "street_address",
           "postcode", "city", "country", "signup_date", "last_order_at", "orders",
           "lifetime_value", "loyalty_tier", "marketing_consent", "date_of_birth",
           "ip_address", "preferred_channel", "health_condition", "notes"]
PERSONAL = {"email": "email", "phone": "phone", "first_name": "name", "last_name": "name",
            "street_address": "address", "postcode": "address", "date_of_birth": "birth",
            "ip_address": "ip", "health_condition": "health"}
FIRST = ["Amira", "Ben", "Chloe", "Dev", "Elena", "Femi", "Grace", "Hugo", "Isla", "Jonas"]
LAST = ["Okafor", "Smith", "Nguyen", "Patel", "Kowalski", "Jones", "Garcia", "Brown"]
STREETS = ["High Street", "Station Road", "Church Lane", "Mill Road", "Park Avenue"]
CITIES = ["Leeds", "York", "Bristol", "Glasgow", "Cardiff", "Belfast", "Norwich"]
CONDITIONS = ["diabetes", "asthma", "hypertension", "migraine", "arthritis"]
NEWEST = dt.datetime(2026, 11, 30, 18, 30)


def _row(index: int, rng: random.Random) -> list[str]:
    first, last = FIRST[index % len(FIRST)], LAST[index % len(LAST)]
    return [
        str(100000 + index),
        f"{first.lower()}.{last.lower()}{index}@example.com",
        "" if index % 10 == 0 else f"+44 7911 {index % 1000000:06d}",
        first, last,
        f"{index % 200 + 1} {STREETS[index % len(STREETS)]}",
        f"LS{index % 20 + 1} {index % 9 + 1}AB",
        CITIES[index % len(CITIES)], "United Kingdom",
        (dt.date(2020, 1, 1) + dt.timedelta(days=index % 2000)).isoformat(),
        (NEWEST - dt.timedelta(minutes=index)).isoformat(sep=" "),
        str(rng.randint(0, 60)), f"{rng.uniform(0, 5000):.2f}",
        ["bronze", "silver", "gold"][index % 3], ["true", "false"][index % 2],
        (dt.date(1950, 1, 1) + dt.timedelta(days=index % 20000)).isoformat(),
        f"192.0.{index % 256}.{index // 256 % 256}",
        ["email", "sms", "app", "post"][index % 4],
        CONDITIONS[index % len(CONDITIONS)] if index % 4 == 0 else "",
        f"Asked about order {index}" if index % 2 == 0 else "",
    ]


def customers(rows: int, seed: int = 3) -> tuple[bytes, dict[str, float | int]]:
    """The file, and what a profile of it must show: the rows, the duplicated rows,
    and each column's share of filled cells, tallied as the rows are written."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    previous: list[str] = []
    filled = dict.fromkeys(COLUMNS, 0)
    for index in range(rows):
        row = previous if index % 100 == 99 else _row(index, rng)
        writer.writerow(row)
        for name, value in zip(COLUMNS, row, strict=True):
            filled[name] += bool(value)
        previous = row
    known: dict[str, float | int] = {"rows": rows, "duplicate_rows": rows // 100}
    known |= {name: count / rows for name, count in filled.items()}
    return out.getvalue().encode(), known
