"""A choice field's <select>, written here instead of through Django's widget templates.

The list page shows eight of them (its filters, the bulk bar's archive reason and the anomaly
page's), and rendering each through the form renderer's templates (an include per option)
cost more than the rest of the page's chrome (bench/pages.py). The markup is what Django's
Select widget writes, attributes included (`required`, `aria-invalid`, `aria-describedby`).
"""

from django import template
from django.forms.utils import flatatt
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.simple_tag
def select(field) -> SafeString:
    """``{% select form.datastore %}``: the bound field as Django's Select renders it."""
    attrs = dict(field.field.widget.attrs)
    if field.auto_id:
        attrs["id"] = field.auto_id
    attrs = field.build_widget_attrs(attrs)
    current = field.value()
    current = "" if current is None else str(current)
    options, chosen = [], False
    for value, label in field.field.choices:
        value = str(value)
        selected = not chosen and value == current
        chosen = chosen or selected
        mark = " selected" if selected else ""
        options.append(f'<option value="{escape(value)}"{mark}>{escape(label)}</option>')
    name = escape(field.html_name)
    return mark_safe(f'<select name="{name}"{flatatt(attrs)}>{"".join(options)}</select>')  # noqa: S308
