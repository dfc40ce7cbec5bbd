"""Workshop templates are data: one JSON file per method in this folder.

Another template is a new file here, not new code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

METHODS_DIR = Path(__file__).parent


@dataclass(frozen=True)
class PhaseTemplate:
    key: str
    title: str
    section: str
    minutes: int
    prompt: str
    pitfalls: tuple[str, ...]


@dataclass(frozen=True)
class Method:
    key: str
    title: str
    summary: str
    source: str
    phases: tuple[PhaseTemplate, ...]


def _load(path: Path) -> Method:
    data = json.loads(path.read_text(encoding="utf-8"))
    phases = tuple(
        PhaseTemplate(
            key=p["key"],
            title=p["title"],
            section=p.get("section", ""),
            minutes=int(p["minutes"]),
            prompt=p.get("prompt", ""),
            pitfalls=tuple(p.get("pitfalls", ())),
        )
        for p in data["phases"]
    )
    return Method(data["key"], data["title"], data["summary"], data.get("source", ""), phases)


@cache
def all_methods() -> dict[str, Method]:
    methods = (_load(path) for path in sorted(METHODS_DIR.glob("*.json")))
    return {method.key: method for method in methods}


def get_method(key: str) -> Method:
    return all_methods()[key]
