"""Every text colour in the stylesheet meets WCAG AA (4.5:1) against the background it sits on.

The stylesheet is parsed, custom properties resolved, and each rule judged:
- a rule that sets `color` and `background` is one pair;
- a rule that sets only one of them takes the other from the nearest rule whose selector is
  an ancestor of its own (`.topbar .role` sits on `.topbar`), else from `body` for the text
  colour, or from every page surface (the body, `.card`, `.muted-card`) for the background.
So a rule for text on a dark bar must be written under that bar's selector, and a rule that
paints a background under coloured text must name the text colour too.
Contrast per WCAG 2.2: https://www.w3.org/TR/WCAG22/#dfn-contrast-ratio
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

STYLESHEET = Path(__file__).resolve().parent.parent / "static" / "css" / "app.css"
AA_NORMAL_TEXT = 4.5
PAGE_SURFACES = ("body", ".card", ".muted-card")
NO_BACKGROUND = {"none", "transparent", "inherit", "initial", "unset"}
HEX = re.compile(r"#(?:[0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b")


@dataclass(frozen=True)
class Rule:
    selector: str
    declarations: dict[str, str]


@dataclass(frozen=True)
class Pair:
    selector: str
    color: str
    background: str

    @property
    def ratio(self) -> float:
        return contrast_ratio(self.color, self.background)


# --- WCAG arithmetic ----------------------------------------------------------------------


def relative_luminance(hex_colour: str) -> float:
    digits = hex_colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(digit * 2 for digit in digits)
    channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(first: str, second: str) -> float:
    lighter, darker = sorted([relative_luminance(first), relative_luminance(second)])[::-1]
    return (lighter + 0.05) / (darker + 0.05)


# --- the stylesheet -----------------------------------------------------------------------


def parse_rules(css: str) -> list[Rule]:
    """Flat list of (selector, declarations), one per selector in a list; @media unwrapped."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    rules: list[Rule] = []
    for prelude, body in re.findall(r"([^{}]+)\{([^{}]*)\}", _unwrap_at_rules(css)):
        declarations = {}
        for declaration in body.split(";"):
            name, colon, value = declaration.partition(":")
            if colon:
                declarations[name.strip().lower()] = value.strip()
        for selector in prelude.split(","):
            rules.append(Rule(" ".join(selector.split()), declarations))
    return rules


def _unwrap_at_rules(css: str) -> str:
    """`@media … { a { } b { } }` becomes `a { } b { }`: the colours apply in either case."""
    return re.sub(r"@media[^{]*\{((?:[^{}]*\{[^{}]*\})*)\s*\}", r"\1", css)


class Stylesheet:
    def __init__(self, css: str) -> None:
        self.rules = parse_rules(css)
        self.variables = {
            name: value
            for rule in self.rules
            if rule.selector == ":root"
            for name, value in rule.declarations.items()
            if name.startswith("--")
        }

    def resolve(self, value: str) -> str:
        for _ in range(10):  # variables may name variables
            value = re.sub(r"var\((--[\w-]+)\)", lambda m: self.variables[m.group(1)], value)
        return value

    def colour(self, rule: Rule, prop: str) -> str | None:
        """The rule's own colour for `color` or `background`, or None when it sets none."""
        names = ("color",) if prop == "color" else ("background-color", "background")
        for name in names:
            if name in rule.declarations:
                value = self.resolve(rule.declarations[name])
                if value.lower() in NO_BACKGROUND:
                    return None
                found = HEX.search(value)
                if found is None:
                    raise AssertionError(f"{rule.selector}: cannot judge {name}: {value}")
                return found.group(0).lower()
        return None

    def rule_colours(self, selector: str, prop: str) -> list[str]:
        return [
            colour
            for rule in self.rules
            if rule.selector == selector and (colour := self.colour(rule, prop))
        ]

    def context(self, selector: str, prop: str) -> list[str]:
        """The colour an ancestor selector gives, nearest first; else the page's."""
        parts = selector.split(" ")
        for end in range(len(parts) - 1, 0, -1):
            found = self.rule_colours(" ".join(parts[:end]), prop)
            if found:
                return found[-1:]
        if prop == "color":
            return self.rule_colours("body", "color")[-1:]
        return [colour for surface in PAGE_SURFACES for colour in self.rule_colours(surface, prop)]

    def pairs(self) -> list[Pair]:
        pairs = []
        for rule in self.rules:
            if rule.selector in (":root", "*"):
                continue
            color, background = self.colour(rule, "color"), self.colour(rule, "background")
            if color is None and background is None:
                continue
            colors = [color] if color else self.context(rule.selector, "color")
            backgrounds = [background] if background else self.context(rule.selector, "background")
            pairs += [Pair(rule.selector, c, b) for c in colors for b in backgrounds]
        return pairs


def low_contrast(css: str) -> list[str]:
    return [
        f"{pair.selector}: {pair.color} on {pair.background} is {pair.ratio:.2f}:1"
        for pair in Stylesheet(css).pairs()
        if pair.ratio < AA_NORMAL_TEXT
    ]


# --- the tests ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stylesheet() -> Stylesheet:
    return Stylesheet(STYLESHEET.read_text())


def test_it_computes_wcag_ratios():
    assert contrast_ratio("#000", "#fff") == pytest.approx(21)
    assert contrast_ratio("#fff", "#fff") == pytest.approx(1)
    # The badge colours of issue 15, before the fix.
    assert contrast_ratio("#b25e09", "#fff3e0") == pytest.approx(4.26, abs=0.01)
    assert contrast_ratio("#1f8f4e", "#e6f6ec") == pytest.approx(3.68, abs=0.01)


def test_it_meets_aa_for_every_colour_pair_in_the_stylesheet():
    assert low_contrast(STYLESHEET.read_text()) == []


def test_it_judges_every_badge_on_its_own_background(stylesheet):
    judged = {pair.selector for pair in stylesheet.pairs()}
    badges = {
        ".badge",
        ".status-active",
        ".status-acknowledged",
        ".status-resolved",
        ".jira-unknown",
        ".jira-done",
        ".sync-pending",
        ".sync-cancelled",
        ".state-connected",
        ".state-attention",
        ".ticket-chip",
        ".count",
    }
    assert badges <= judged


def test_it_judges_top_bar_text_against_the_dark_bar(stylesheet):
    bar = stylesheet.rule_colours(".topbar", "background")
    sign_out = [pair for pair in stylesheet.pairs() if pair.selector == ".topbar .link-button"]

    assert [pair.background for pair in sign_out] == bar


def test_it_flags_a_badge_below_aa():
    css = """
        :root { --ok: #1f8f4e; --ok-soft: #e6f6ec; }
        .status-resolved { background: var(--ok-soft); color: var(--ok); }
    """

    assert low_contrast(css) == [".status-resolved: #1f8f4e on #e6f6ec is 3.68:1"]


def test_it_flags_grey_text_on_the_page_background():
    css = """
        body { background: #f5f6f8; color: #1d2330; }
        .card { background: #fff; }
        .hint { color: #999; }
    """

    flagged = low_contrast(css)

    assert ".hint: #999 on #f5f6f8 is 2.63:1" in flagged
    assert len(flagged) == 2  # on the body and on a card


def test_it_flags_a_background_painted_under_the_default_text():
    css = (
        "body { background: #fff; color: #1d2330; } .button.primary:hover { background: #3049b8; }"
    )

    assert low_contrast(css) == [".button.primary:hover: #1d2330 on #3049b8 is 2.08:1"]


def test_it_refuses_a_colour_it_cannot_judge():
    with pytest.raises(AssertionError, match="cannot judge color"):
        low_contrast(".faint { color: rgb(200, 200, 200); background: #fff; }")
