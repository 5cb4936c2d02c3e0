"""Which anomalies a rule matches, how recurring anomalies are grouped, and the sandboxed
templates of a rule's summary, description and comment."""

from __future__ import annotations

import fnmatch
import hashlib

from django.conf import settings
from django.template import Context, Engine, TemplateSyntaxError
from django.template.base import Lexer, TokenType
from django.urls import reverse

from anomalies.models import Anomaly

from .models import TicketRule

# Tags that reach outside the given context (files, other templates, the process): refused.
REFUSED_TAGS = {"load", "include", "extends", "debug", "ssi", "block", "csrf_token", "url"}
# Autoescape off: the text goes to a ticketing system, not a page. No loaders: no files.
ENGINE = Engine(autoescape=False, loaders=[], libraries={}, debug=False)


class TemplateRefused(ValueError):
    """A template that does not compile or uses a refused tag; the message is for the user."""


def matches(rule: TicketRule, anomaly: Anomaly, rule_types: list[str]) -> bool:
    """Empty criteria match anything. ``rule_types``: the anomaly's failed checks' types."""
    datastore_ids = {datastore.pk for datastore in rule.datastores.all()}
    wanted_types = rule.check_rule_type_list
    return (
        (not datastore_ids or anomaly.datastore_id in datastore_ids)
        and (
            not rule.container_pattern
            or fnmatch.fnmatchcase(anomaly.container.name, rule.container_pattern)
        )
        and (not rule.anomaly_type or anomaly.anomaly_type == rule.anomaly_type)
        and (not wanted_types or bool(set(wanted_types) & set(rule_types)))
        and anomaly.weight >= rule.min_weight
        and (not rule.status_list or anomaly.status in rule.status_list)
    )


def group_key(anomaly: Anomaly, checks: list[tuple[str, str]]) -> str:
    """Anomalies recur when they are the same failure: same datastore, container, type and
    the same failed checks (rule type and field). Fingerprints are unique per anomaly, so they
    cannot group by themselves (docs/rules.md, "Grouping")."""
    parts = [str(anomaly.datastore_id), anomaly.container.name, anomaly.anomaly_type]
    parts += [f"{rule_type}:{field}" for rule_type, field in sorted(set(checks))]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def group_description(anomaly: Anomaly, checks: list[tuple[str, str]]) -> str:
    names = ", ".join(sorted({f"{t} on {f}" if f else t for t, f in checks})) or "no checks"
    return f"{anomaly.datastore.name} › {anomaly.container.name}: {names}"[:500]


def checked(anomaly: Anomaly) -> list[tuple[str, str]]:
    return [(check.rule_type, check.field_name) for check in anomaly.failed_checks.all()]


# --- templates -------------------------------------------------------------------------------


def compile_template(text: str):
    for token in Lexer(text).tokenize():
        if token.token_type == TokenType.BLOCK and token.split_contents()[0] in REFUSED_TAGS:
            raise TemplateRefused(f"The tag {{% {token.split_contents()[0]} %}} is not allowed.")
    try:
        return ENGINE.from_string(text)
    except TemplateSyntaxError as error:
        raise TemplateRefused(f"The template does not compile: {error}") from None


def render(text: str, anomaly: Anomaly, rule: TicketRule) -> str:
    """Only plain values reach the template: never a model, so no method can be called."""
    return compile_template(text).render(Context(template_context(anomaly, rule))).strip()


def template_context(anomaly: Anomaly, rule: TicketRule) -> dict:
    checks = list(anomaly.failed_checks.all())
    check_lines = [
        f"{check.rule_type}" + (f" on {check.field_name}" if check.field_name else "")
        for check in checks
    ]
    return {
        "anomaly": {
            "id": anomaly.pk,
            "type": anomaly.anomaly_type,
            "status": anomaly.status,
            "weight": anomaly.weight,
            "description": anomaly.description,
            "fingerprint": anomaly.fingerprint,
            "detected_at": anomaly.detected_at,
            "record_count": anomaly.anomalous_record_count,
            "url": settings.SITE_URL + reverse("anomalies:detail", args=[anomaly.pk]),
        },
        "datastore": anomaly.datastore.name,
        "container": anomaly.container.name,
        "checks": ", ".join(check_lines),
        "check_list": [
            {"rule_type": c.rule_type, "field": c.field_name, "message": c.message} for c in checks
        ],
        "rule": {"name": rule.name},
    }
