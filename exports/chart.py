"""The prioritization matrix, drawn on the server as inline SVG (docs/architecture.md, rule 8).

Impact and effort are whole scores from 1 to 5, so recipes pile up on the same 25
points. Each point of the grid is drawn as a cell, and the recipes in a cell are laid
out inside it, deterministically and without overlaps:

1. as many as fit: one row each, a numbered marker and the title cut to the width;
2. up to twice that: the same in two columns;
3. more: numbered markers only, in a grid shrunk to fit (never below half size);
   what still does not fit is summed up in a "+N" marker.

The number on each marker is the recipe's priority rank, the key to the legend. Labels
never leave their cell, so labels of different cells cannot meet either. Text widths
are estimated from character classes (the bundled fonts make the estimate hold
everywhere; it errs on the wide side) to cut titles with an ellipsis.

The SVG holds the grid, the axes and every recipe's marker (with its full title as
the marker's <title>). The label text is set by the page in HTML, in the box computed
here, over the chart: WeasyPrint draws SVG text letter by letter, which is slow and
would print Arabic unjoined. The box clips, so a label can never spill over.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from workshop import words
from workshop.choices import Quadrant
from workshop.models import HIGH_SCORE

from .context import RecipeRow

WIDTH, HEIGHT = 720, 500
LEFT, TOP, RIGHT, BOTTOM = 52, 6, 6, 46
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
CELL_W, CELL_H = PLOT_W / 5, PLOT_H / 5
PAD = 4
ROW_H = 14
FONT = 9.5
QUADRANT_BAND = 15  # room for the quadrant's name in its top-left cell
FONT_FAMILY = "Attune Sans, Attune Arabic, Attune Hebrew, Attune Symbols, Attune Math, Attune CJK"

QUADRANT_STYLE = {
    Quadrant.QUICK_WIN: ("#e7f5ee", "#12875a"),
    Quadrant.BIG_BET: ("#eceffd", "#3b4fd8"),
    Quadrant.FILL_IN: ("#f3f4f6", "#5d6778"),
    Quadrant.MONEY_PIT: ("#fbeeec", "#b42318"),
}


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    def overlaps(self, other: Box) -> bool:
        return not (
            self.x + self.w <= other.x
            or other.x + other.w <= self.x
            or self.y + self.h <= other.y
            or other.y + other.h <= self.y
        )

    def inside(self, other: Box) -> bool:
        return (
            self.x >= other.x
            and self.y >= other.y
            and self.x + self.w <= other.x + other.w
            and self.y + self.h <= other.y + other.h
        )


@dataclass(frozen=True)
class Placement:
    """Where one recipe's marker and label went: `box` holds both, `label` the title."""

    rank: int
    title: str
    lines: list[str]
    box: Box
    cell: Box

    @property
    def label(self) -> str:
        return " ".join(self.lines)


@dataclass(frozen=True)
class Text:
    """A piece of text the page sets over the chart, in a box placed here."""

    kind: str  # "label" (a title) or "number" (the rank on a marker)
    lines: list[str]
    box: Box
    size: float = FONT  # in chart units

    @property
    def style(self) -> str:
        # Percent of the chart for the box; points for the text (a unit is 0.25 mm).
        box = self.box
        style = (
            f"left:{100 * box.x / WIDTH:.2f}%;top:{100 * box.y / HEIGHT:.2f}%;"
            f"width:{100 * box.w / WIDTH:.2f}%;height:{100 * box.h / HEIGHT:.2f}%"
        )
        if self.kind == "number":
            points = self.size * 0.25 * 72 / 25.4
            style += f";font-size:{points:.2f}pt;line-height:{box.h * 0.25:.2f}mm"
        return style

    @property
    def text(self) -> str:
        return " ".join(self.lines)


@dataclass(frozen=True)
class Chart:
    svg: SafeString
    placements: list[Placement]
    texts: list[Text]
    overflow: dict[tuple[int, int], int]  # (impact, effort) -> recipes summed up as "+N"


def text_width(text: str, size: float) -> float:
    """A generous estimate of the width of `text` set in the bundled sans at `size`."""
    width = 0.0
    for char in text:
        if unicodedata.combining(char):
            continue
        if unicodedata.east_asian_width(char) in ("W", "F"):
            width += 1.0
        elif char in "il.,:;'|!() ":
            width += 0.32
        elif char.isupper() or char in "mwMW@%":
            width += 0.78
        else:
            width += 0.58
    return width * size


def fit(text: str, width: float, size: float = FONT) -> str:
    """`text` cut with an ellipsis so that it fits in `width`."""
    text = " ".join(text.split())
    if text_width(text, size) <= width:
        return text
    ellipsis = text_width("…", size)
    cut = ""
    for char in text:
        if text_width(cut + char, size) + ellipsis > width:
            break
        cut += char
    return cut.rstrip() + "…" if cut.strip() else ""


def wrap(text: str, width: float, lines: int, size: float = FONT) -> list[str]:
    """`text` broken into at most `lines` lines of `width`; the last one cut if need be."""
    words = " ".join(text.split()).split(" ")
    out: list[str] = []
    while words and len(out) < lines - 1:
        line = words.pop(0)
        if text_width(line, size) > width:  # a long word (or a run of CJK): cut it
            cut = fit(line, width, size).rstrip("…")
            words.insert(0, line[len(cut) :])
            line = cut
        while words and text_width(f"{line} {words[0]}", size) <= width:
            line += " " + words.pop(0)
        out.append(line)
    if words:
        out.append(fit(" ".join(words), width, size))
    return [line for line in out if line]


def cell_box(impact: int, effort: int) -> Box:
    return Box(LEFT + (effort - 1) * CELL_W, TOP + (5 - impact) * CELL_H, CELL_W, CELL_H)


def quadrant_of(impact: int, effort: int) -> Quadrant:
    if impact >= HIGH_SCORE:
        return Quadrant.BIG_BET if effort >= HIGH_SCORE else Quadrant.QUICK_WIN
    return Quadrant.MONEY_PIT if effort >= HIGH_SCORE else Quadrant.FILL_IN


def _is_label_cell(impact: int, effort: int) -> bool:
    """The top-left cell of each quadrant carries the quadrant's name."""
    return impact in (5, HIGH_SCORE - 1) and effort in (1, HIGH_SCORE)


def _marker(
    rank: int | str, x: float, y: float, scale: float, fill: str, title: str, css: str
) -> tuple[str, Text, Box]:
    """A numbered pill: the plotted point. Its full title rides along as its <title>."""
    height = 11 * scale
    width = (6 + 5.6 * len(str(rank))) * scale
    box = Box(x, y, width, height)
    svg = (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}" '
        f'rx="{height / 2:.1f}" fill="{fill}" {css}><title>{escape(title)}</title></rect>'
    )
    return svg, Text("number", [str(rank)], box, 7.8 * scale), box


def _recipe_marker(recipe: RecipeRow, x: float, y: float, scale: float, fill: str):
    css = f'class="recipe" data-rank="{recipe.rank}"'
    return _marker(recipe.rank, x, y, scale, fill, recipe.title, css)


def _layout_cell(
    recipes: Sequence[RecipeRow], cell: Box, band: float, fill: str
) -> tuple[list[str], list[Text], list[Placement], int]:
    inner = Box(cell.x + PAD, cell.y + PAD + band, cell.w - 2 * PAD, cell.h - 2 * PAD - band)
    rows = int(inner.h // ROW_H)
    parts: list[str] = []
    texts: list[Text] = []
    placements: list[Placement] = []
    count = len(recipes)
    if count <= 2 * rows:
        columns = 1 if count <= rows else 2
        # A lone recipe or two get their title on up to three lines.
        lines = max(1, min(3, rows // count)) if columns == 1 else 1
        col_w = inner.w / columns
        y = inner.y
        for index, recipe in enumerate(recipes):
            if columns == 2 and index == rows:
                y = inner.y
            x = inner.x + (col_w if columns == 2 and index >= rows else 0)
            svg, number, box = _recipe_marker(recipe, x, y + 1, 1.0, fill)
            room = col_w - box.w - 3 - (2 if columns > 1 else 0)
            label = wrap(recipe.title, room, lines)
            height = ROW_H - 1 + (len(label) - 1) * (ROW_H - 2)
            parts.append(svg)
            texts += [number, Text("label", label, Box(x + box.w + 3, y, room, height))]
            placements.append(
                Placement(
                    recipe.rank, recipe.title, label, Box(x, y, box.w + 3 + room, height), cell
                )
            )
            y += height + 1
        return parts, texts, placements, 0

    # Markers only: shrink them until they all fit, down to half size.
    widest = len(str(max(recipe.rank for recipe in recipes)))
    scale = 1.0
    while scale > 0.5:
        chip_w, chip_h = (6 + 5.6 * widest + 2) * scale, 13 * scale
        if int(inner.w // chip_w) * int(inner.h // chip_h) >= count:
            break
        scale -= 0.05
    scale = max(scale, 0.5)
    chip_w, chip_h = (6 + 5.6 * widest + 2) * scale, 13 * scale
    per_row, lines = int(inner.w // chip_w), int(inner.h // chip_h)
    capacity = per_row * lines
    shown = recipes if count <= capacity else recipes[: capacity - 1]
    for index, recipe in enumerate(shown):
        line, column = divmod(index, per_row)
        svg, number, box = _recipe_marker(
            recipe, inner.x + column * chip_w, inner.y + line * chip_h, scale, fill
        )
        parts.append(svg)
        texts.append(number)
        placements.append(Placement(recipe.rank, recipe.title, [], box, cell))
    hidden = count - len(shown)
    if hidden:
        line, column = divmod(len(shown), per_row)
        titles = "; ".join(recipe.title for recipe in recipes[len(shown) :])
        svg, number, _ = _marker(
            f"+{hidden}",
            inner.x + column * chip_w,
            inner.y + line * chip_h,
            scale,
            "#5d6778",
            titles,
            'class="recipe-more"',
        )
        parts.append(svg)
        texts.append(number)
    return parts, texts, placements, hidden


def alt_text(recipes: Sequence[RecipeRow]) -> str:
    """The chart in words, for a screen reader (the tagged PDF's alternate text): how
    many recipes fall in each quadrant, and which."""
    quadrants: dict[str, list[str]] = {}
    for recipe in recipes:
        quadrants.setdefault(recipe.quadrant_label, []).append(
            f"{recipe.rank}. {recipe.title} (impact {recipe.impact}, effort {recipe.effort})")
    said = "; ".join(f"{label}: {', '.join(titles[:12])}"
                     + (f" and {len(titles) - 12} more" if len(titles) > 12 else "")
                     for label, titles in quadrants.items())
    head = f"Prioritization matrix of {words.counted(len(recipes), 'recipe')} by impact and effort"
    return f"{head}. {said}." if said else f"{head}."


def matrix(recipes: Sequence[RecipeRow]) -> Chart:
    """The impact / effort chart of `recipes` (in priority order) and where each went."""
    cells: dict[tuple[int, int], list[RecipeRow]] = {}
    for recipe in recipes:
        cells.setdefault((recipe.impact, recipe.effort), []).append(recipe)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" class="matrix" font-family="{FONT_FAMILY}" '
        f'role="img" aria-label="Recipes by impact and effort">'
        f"<title>{escape(alt_text(recipes))}</title>"
    ]
    # Quadrant backgrounds, the grid over them, then the quadrant names. Few elements:
    # the renderer styles and draws each one.
    for quadrant, (top, left, bottom, right) in (
        (Quadrant.QUICK_WIN, (5, 1, HIGH_SCORE, HIGH_SCORE - 1)),
        (Quadrant.BIG_BET, (5, HIGH_SCORE, HIGH_SCORE, 5)),
        (Quadrant.FILL_IN, (HIGH_SCORE - 1, 1, 1, HIGH_SCORE - 1)),
        (Quadrant.MONEY_PIT, (HIGH_SCORE - 1, HIGH_SCORE, 1, 5)),
    ):
        first, last = cell_box(top, left), cell_box(bottom, right)
        tint, _ = QUADRANT_STYLE[quadrant]
        parts.append(
            f'<rect x="{first.x:.1f}" y="{first.y:.1f}" '
            f'width="{last.x + last.w - first.x:.1f}" '
            f'height="{last.y + last.h - first.y:.1f}" fill="{tint}"/>'
        )
    grid = "".join(f"M{LEFT + n * CELL_W:.1f} {TOP}v{PLOT_H}" for n in range(1, 5))
    grid += "".join(f"M{LEFT} {TOP + n * CELL_H:.1f}h{PLOT_W}" for n in range(1, 5))
    parts.append(f'<path d="{grid}" stroke="#ffffff" stroke-width="1.5"/>')
    split_x = LEFT + (HIGH_SCORE - 1) * CELL_W
    split_y = TOP + (5 - HIGH_SCORE + 1) * CELL_H
    parts.append(
        f'<line x1="{split_x:.1f}" y1="{TOP}" x2="{split_x:.1f}" '
        f'y2="{TOP + PLOT_H}" stroke="#9aa3b2" stroke-width="1.2" '
        f'stroke-dasharray="4 3"/>'
    )
    parts.append(
        f'<line x1="{LEFT}" y1="{split_y:.1f}" x2="{LEFT + PLOT_W}" '
        f'y2="{split_y:.1f}" stroke="#9aa3b2" stroke-width="1.2" '
        f'stroke-dasharray="4 3"/>'
    )
    for quadrant, (impact, effort) in (
        (Quadrant.QUICK_WIN, (5, 1)),
        (Quadrant.BIG_BET, (5, HIGH_SCORE)),
        (Quadrant.FILL_IN, (HIGH_SCORE - 1, 1)),
        (Quadrant.MONEY_PIT, (HIGH_SCORE - 1, HIGH_SCORE)),
    ):
        box = cell_box(impact, effort)
        _, ink = QUADRANT_STYLE[quadrant]
        parts.append(
            f'<text x="{box.x + PAD:.1f}" y="{box.y + PAD + 9:.1f}" font-size="8.5" '
            f'font-weight="700" letter-spacing="0.8" fill="{ink}" class="quadrant">'
            f"{escape(quadrant.label.upper())}S</text>"
        )
    # Axes: ticks, names and arrows.
    for score in range(1, 6):
        x = LEFT + (score - 0.5) * CELL_W
        y = TOP + (5 - score + 0.5) * CELL_H
        parts.append(
            f'<text x="{x:.1f}" y="{TOP + PLOT_H + 14}" font-size="9" '
            f'text-anchor="middle" fill="#5d6778">{score}</text>'
        )
        parts.append(
            f'<text x="{LEFT - 8}" y="{y + 3:.1f}" font-size="9" text-anchor="end" '
            f'fill="#5d6778">{score}</text>'
        )
    axis_y = TOP + PLOT_H + 32
    parts.append(
        f'<text x="{LEFT + PLOT_W / 2:.1f}" y="{axis_y}" font-size="10" '
        f'font-weight="700" text-anchor="middle" fill="#1d2430">Effort</text>'
    )
    parts.append(
        f'<path d="M{LEFT + PLOT_W / 2 + 26:.1f} {axis_y - 3.5} h60" '
        f'stroke="#1d2430" stroke-width="1.2"/>'
        f'<path d="M{LEFT + PLOT_W / 2 + 86:.1f} {axis_y - 3.5} l-6 -3.5 v7 z" '
        f'fill="#1d2430"/>'
    )
    mid_y = TOP + PLOT_H / 2
    parts.append(
        f'<text transform="translate(16 {mid_y:.1f}) rotate(-90)" font-size="10" '
        f'font-weight="700" text-anchor="middle" fill="#1d2430">Impact</text>'
    )
    parts.append(
        f'<path d="M12.5 {mid_y - 26:.1f} v-60" stroke="#1d2430" '
        f'stroke-width="1.2"/><path d="M12.5 {mid_y - 86:.1f} l-3.5 6 h7 z" '
        f'fill="#1d2430"/>'
    )

    placements: list[Placement] = []
    texts: list[Text] = []
    overflow: dict[tuple[int, int], int] = {}
    for (impact, effort), members in sorted(cells.items()):
        cell = cell_box(impact, effort)
        band = QUADRANT_BAND if _is_label_cell(impact, effort) else 0
        _, ink = QUADRANT_STYLE[quadrant_of(impact, effort)]
        svg, cell_texts, placed, hidden = _layout_cell(members, cell, band, ink)
        parts.extend(svg)
        texts.extend(cell_texts)
        placements.extend(placed)
        if hidden:
            overflow[(impact, effort)] = hidden
    parts.append("</svg>")
    # Every piece of user text above went through escape(): the markup is ours.
    return Chart(mark_safe("".join(parts)), placements, texts, overflow)  # noqa: S308
