"""Demo data for `manage.py seed_demo`: people, teams, datastores and many anomalies.

Everything is keyed by a stable name or fingerprint, so running it again creates only what
is missing. Anomaly `i` is always generated from its own random stream, so the data is the
same on every machine.
"""

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from .models import (
    Anomaly,
    AnomalyType,
    Container,
    Datastore,
    DatastorePermission,
    FailedCheck,
    HistoryEntry,
    Level,
    Role,
    Status,
    Tag,
    Team,
    User,
)

DEMO_PASSWORD = "demo"
FINGERPRINT_PREFIX = "demo-"
BATCH_SIZE = 2000

DATASTORES = {
    "Sales Warehouse": ("Snowflake", ["orders", "order_items", "customers", "invoices", "refunds"]),
    "Marketing Lake": ("S3 / Parquet", ["campaigns.parquet", "web_events", "leads.csv", "spend"]),
    "HR Postgres": ("PostgreSQL", ["employees", "payroll_runs", "contracts"]),
}
RESTRICTED_DATASTORE = "HR Postgres"

# (team, level on the open datastores, level on the restricted one, demo login)
TEAMS = [
    ("Finance Analysts", Level.REPORTER, None, "reporter"),
    ("Data Stewards", Level.VIEWER, None, "viewer"),
    ("Analytics Engineers", Level.DRAFTER, None, "drafter"),
    ("Data Engineers", Level.AUTHOR, Level.AUTHOR, "author"),
    ("Platform Owners", Level.EDITOR, Level.EDITOR, "editor"),
]
ROLE_USERS = [
    ("admin", Role.ADMIN, None, "Ada Admin"),
    ("manager", Role.MANAGER, "Data Engineers", "Mona Manager"),
    ("outsider", Role.MEMBER, None, "Oscar Outsider"),
]
TAGS = ["pii", "finance", "critical-path", "nightly", "sla", "gdpr"]

RECORD_CHECKS = [
    ("notNull", "customer_id", "{n} records have a null customer_id."),
    ("unique", "order_id", "{n} duplicate values of order_id."),
    ("between", "total_amount", "{n} values of total_amount are outside [0, 25000]."),
    ("matchesPattern", "email", "{n} values of email do not match the e-mail pattern."),
    ("existsIn", "product_sku", "{n} product_sku values are missing from the product catalogue."),
    ("isCreditCard", "notes", "{n} free-text notes look like credit card numbers."),
    ("greaterThan", "shipped_at", "{n} rows were shipped before they were ordered."),
    ("expectedValues", "currency", "{n} rows have a currency outside USD, EUR, GBP."),
]
SHAPE_CHECKS = [
    ("volumetric", "", "Row count dropped {p}% below the 30-day baseline."),
    ("freshness", "updated_at", "No new rows for {h} hours (expected every 1 hour)."),
    ("distribution", "discount_rate", "Mean of discount_rate shifted by {p}% from its profile."),
    ("notNull", "region", "{p}% of region values are null (profile: under 1%)."),
    ("schemaChange", "", "Column legacy_code was dropped from the source table."),
]
STATUS_WEIGHTS = [
    (Status.ACTIVE, 45),
    (Status.ACKNOWLEDGED, 20),
    (Status.RESOLVED, 20),
    (Status.DUPLICATE, 5),
    (Status.INVALID, 5),
    (Status.DISCARDED, 5),
]
# Who acknowledges and archives the demo's anomalies: logins that may on every datastore.
TRIAGERS = ["author", "editor", "manager"]


@dataclass(frozen=True)
class StatusChange:
    """One change that brought a demo anomaly to its seeded status, as history tells it."""

    kind: str  # "acknowledged" or "archived", as anomalies.services names them
    summary: str
    at: datetime
    actor: str  # a demo login


@dataclass
class SeedReport:
    created_anomalies: int
    total_anomalies: int
    logins: list[tuple[str, str]]


def seed_demo(*, anomalies: int = 2000) -> SeedReport:
    with transaction.atomic():
        datastores = _seed_datastores()
        teams = _seed_teams(datastores)
        logins = _seed_users(teams)
    created = _seed_anomalies(anomalies, datastores)
    _seed_status_history()
    total = Anomaly.objects.filter(fingerprint__startswith=FINGERPRINT_PREFIX).count()
    return SeedReport(created_anomalies=created, total_anomalies=total, logins=logins)


def _seed_datastores() -> dict[str, Datastore]:
    datastores = {}
    for name, (kind, containers) in DATASTORES.items():
        datastore, _ = Datastore.objects.get_or_create(
            name=name, defaults={"connection_type": kind}
        )
        for container in containers:
            container_type = "file" if "." in container else "table"
            Container.objects.get_or_create(
                datastore=datastore, name=container, defaults={"container_type": container_type}
            )
        datastores[name] = datastore
    return datastores


def _seed_teams(datastores: dict[str, Datastore]) -> dict[str, Team]:
    teams = {}
    for name, level, restricted_level, _login in TEAMS:
        team, _ = Team.objects.get_or_create(name=name)
        for datastore in datastores.values():
            grant = restricted_level if datastore.name == RESTRICTED_DATASTORE else level
            if grant is not None:
                DatastorePermission.objects.update_or_create(
                    team=team, datastore=datastore, defaults={"level": grant}
                )
        teams[name] = team
    return teams


def _demo_user(username: str, role: str, full_name: str) -> User:
    first, _, last = full_name.partition(" ")
    user, created = User.objects.get_or_create(
        username=username,
        defaults={
            "role": role,
            "first_name": first,
            "last_name": last,
            "email": f"{username}@example.com",
        },
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    return user


def _seed_users(teams: dict[str, Team]) -> list[tuple[str, str]]:
    logins = []
    for username, role, team_name, full_name in ROLE_USERS:
        user = _demo_user(username, role, full_name)
        if team_name:
            teams[team_name].members.add(user)
        logins.append((username, f"{Role(role).label}" + (f", {team_name}" if team_name else "")))
    for team_name, level, _restricted, username in TEAMS:
        user = _demo_user(username, Role.MEMBER, f"{username.title()} Member")
        teams[team_name].members.add(user)
        logins.append((username, f"Member, {team_name} ({level.label})"))
    return logins


def _seed_anomalies(count: int, datastores: dict[str, Datastore]) -> int:
    existing = set(
        Anomaly.objects.filter(fingerprint__startswith=FINGERPRINT_PREFIX).values_list(
            "fingerprint", flat=True
        )
    )
    containers = list(Container.objects.filter(datastore__in=datastores.values()))
    tags = [Tag.objects.get_or_create(name=name)[0] for name in TAGS]
    missing = (i for i in range(count) if _fingerprint(i) not in existing)
    created = 0
    for batch in _batches(missing, BATCH_SIZE):
        with transaction.atomic():
            created += _create_batch(batch, containers, tags)
    return created


def _batches(indexes: Iterator[int], size: int) -> Iterator[list[int]]:
    batch: list[int] = []
    for index in indexes:
        batch.append(index)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _fingerprint(index: int) -> str:
    return f"{FINGERPRINT_PREFIX}{index:07d}"


def _create_batch(indexes: list[int], containers: list[Container], tags: list[Tag]) -> int:
    now = timezone.now()
    generated = [_generate(index, containers, now) for index in indexes]
    anomalies = Anomaly.objects.bulk_create([anomaly for anomaly, _checks, _tags in generated])
    checks, tag_links = [], []
    TagLink = Anomaly.tags.through
    for anomaly, (_unsaved, check_specs, tag_indexes) in zip(anomalies, generated, strict=True):
        checks += [FailedCheck(anomaly=anomaly, **spec) for spec in check_specs]
        tag_links += [TagLink(anomaly_id=anomaly.pk, tag_id=tags[i].pk) for i in tag_indexes]
    FailedCheck.objects.bulk_create(checks)
    TagLink.objects.bulk_create(tag_links)
    return len(anomalies)


def _generate(index: int, containers: list[Container], now):
    rng = random.Random(index)
    container = rng.choice(containers)
    anomaly_type = AnomalyType.RECORD if rng.random() < 0.7 else AnomalyType.SHAPE
    pool = RECORD_CHECKS if anomaly_type == AnomalyType.RECORD else SHAPE_CHECKS
    specs = rng.sample(pool, k=rng.randint(1, min(5, len(pool))))
    records = rng.choice([2, 3, 12, 48, 150, 920, 4800, 21000])
    values = {"n": f"{records:,}", "p": rng.randint(5, 60), "h": rng.randint(2, 30)}
    checks = [
        {"rule_type": rule, "field_name": field, "message": message.format(**values)}
        for rule, field, message in specs
    ]
    status = rng.choices([s for s, _ in STATUS_WEIGHTS], [w for _, w in STATUS_WEIGHTS])[0]
    detected_at = now - timedelta(days=rng.uniform(0, 270), minutes=rng.randint(0, 1440))
    anomaly = Anomaly(
        uuid=_uuid(rng),
        datastore_id=container.datastore_id,
        container=container,
        anomaly_type=anomaly_type,
        status=status,
        weight=rng.choice([1, 2, 3, 5, 8, 13, 21, 34, 55]),
        anomalous_record_count=records if anomaly_type == AnomalyType.RECORD else None,
        description=_describe(anomaly_type, container, checks),
        detected_at=detected_at,
        status_changed_at=None if status == Status.ACTIVE else detected_at + timedelta(hours=6),
        fingerprint=_fingerprint(index),
    )
    tag_indexes = rng.sample(range(len(TAGS)), k=rng.choice([0, 0, 0, 1, 1, 2]))
    return anomaly, checks, tag_indexes


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _describe(anomaly_type: str, container: Container, checks: list[dict]) -> str:
    count = len(checks)
    noun = "check" if count == 1 else "checks"
    if anomaly_type == AnomalyType.RECORD:
        return f"{count} {noun} failed on records of {container.name}: {checks[0]['message']}"
    return f"Shape of {container.name} changed ({count} {noun}): {checks[0]['message']}"


def status_changes(anomaly: Anomaly) -> list[StatusChange]:
    """How a seeded anomaly reached its status: Acknowledged, or (often acknowledged first)
    archived when its status last changed. The same on every run, from its fingerprint."""
    if anomaly.status == Status.ACTIVE or anomaly.status_changed_at is None:
        return []
    rng = random.Random(f"history-{anomaly.fingerprint}")
    actor = rng.choice(TRIAGERS)
    changed_at = min(anomaly.status_changed_at, timezone.now())  # detected hours ago
    if anomaly.status == Status.ACKNOWLEDGED:
        return [StatusChange("acknowledged", "Acknowledged", changed_at, actor)]
    archived = StatusChange("archived", f"Archived as {anomaly.status}", changed_at, actor)
    if rng.random() < 0.3:  # archived straight away, without being acknowledged first
        return [archived]
    acknowledged_at = changed_at - timedelta(hours=rng.uniform(1, 5))
    return [StatusChange("acknowledged", "Acknowledged", acknowledged_at, actor), archived]


def _seed_status_history() -> int:
    """History for every seeded anomaly that is past Active and has none yet, so its page
    says who acknowledged or archived it and when (also fills in data seeded before)."""
    users = {user.username: user for user in User.objects.filter(username__in=TRIAGERS)}
    without_history = list(
        Anomaly.objects.filter(fingerprint__startswith=FINGERPRINT_PREFIX)
        .exclude(status=Status.ACTIVE)
        .filter(~Exists(HistoryEntry.objects.filter(anomaly=OuterRef("pk"))))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    written = 0
    # In batches, each read before it is written: bounded memory however big the demo (bench/).
    for start in range(0, len(without_history), BATCH_SIZE):
        batch = Anomaly.objects.filter(pk__in=without_history[start : start + BATCH_SIZE])
        entries = [
            HistoryEntry(
                anomaly=anomaly,
                actor=users.get(change.actor),
                action=change.kind,
                summary=change.summary,
                created_at=change.at,
            )
            for anomaly in batch.only("pk", "status", "status_changed_at", "fingerprint")
            for change in status_changes(anomaly)
        ]
        written += len(HistoryEntry.objects.bulk_create(entries))
    return written
