"""Reading rendered pages the way a user sees them: controls, their choices, texts, links.

Built on Django's own HTML parser (the one behind assertHTMLEqual), so whitespace and
attribute order never matter.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.test.html import Element, parse_html


def parse(response) -> Element:
    return parse_html(response.content.decode())


def elements(root: Element, tag: str, **attributes: str) -> list[Element]:
    """Every `tag` under `root` whose attributes match; `class_` matches one class name."""
    wanted_class = attributes.pop("class_", None)
    return [
        element
        for element in _walk(root)
        if element.name == tag
        and all(attribute(element, name) == value for name, value in attributes.items())
        and (wanted_class is None or wanted_class in classes(element))
    ]


def element(root: Element, tag: str, **attributes: str) -> Element | None:
    found = elements(root, tag, **attributes)
    return found[0] if found else None


def attribute(element: Element, name: str) -> str | None:
    return dict(element.attributes).get(name)


def classes(element: Element) -> set[str]:
    return set((attribute(element, "class") or "").split())


def text(element: Element | None) -> str:
    """The visible text of an element, words separated by single spaces."""
    if element is None:
        return ""
    parts = [child if isinstance(child, str) else text(child) for child in element.children]
    return " ".join(" ".join(parts).split())


def options(root: Element, select_name: str) -> list[tuple[str, str]]:
    """(value, label) of each choice of the select named `select_name`."""
    select = element(root, "select", name=select_name)
    assert select is not None, f"no <select name={select_name}> on the page"
    return [(attribute(option, "value") or "", text(option)) for option in _options(select)]


def option_labels(root: Element, select_name: str) -> list[str]:
    return [label for _value, label in options(root, select_name)]


def selected(root: Element, select_name: str) -> str | None:
    select = element(root, "select", name=select_name)
    assert select is not None, f"no <select name={select_name}> on the page"
    chosen = [option for option in _options(select) if "selected" in dict(option.attributes)]
    return attribute(chosen[0], "value") if chosen else None


def value(root: Element, name: str) -> str | None:
    """What an input or a textarea named `name` shows."""
    field = element(root, "input", name=name)
    if field is not None:
        return attribute(field, "value")
    area = element(root, "textarea", name=name)
    return text(area) if area is not None else None


def has_control(root: Element, name: str) -> bool:
    return any(element(root, tag, name=name) for tag in ("input", "select", "textarea"))


def errors_beside(root: Element, field_name: str) -> list[str]:
    """Error texts shown in the label of form field `field_name` (see _field.html)."""
    label = element(root, "label", class_=f"field-{field_name}")
    assert label is not None, f"no field {field_name} on the page"
    return [text(error) for error in elements(label, "span", class_="field-error")]


def messages(root: Element) -> list[str]:
    """Flash messages and form-wide errors, as shown at the top of the page."""
    return [text(box) for box in _walk(root) if "message" in classes(box)]


def _options(select: Element) -> list[Element]:
    return [child for child in _walk(select) if child.name == "option"]


def _walk(root: Element) -> Iterator[Element]:
    for child in root.children:
        if isinstance(child, Element):
            yield child
            yield from _walk(child)
