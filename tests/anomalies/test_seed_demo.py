from http import HTTPStatus

from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from anomalies.models import Anomaly, FailedCheck, Status, Team, User


def seed(count: int) -> str:
    from io import StringIO

    out = StringIO()
    call_command("seed_demo", anomalies=count, stdout=out)
    return out.getvalue()


def test_it_is_idempotent(db):
    first = seed(120)
    counts = (
        Anomaly.objects.count(),
        FailedCheck.objects.count(),
        User.objects.count(),
        Team.objects.count(),
    )

    second = seed(120)

    assert "120 created, 120 in all" in first
    assert "0 created, 120 in all" in second
    assert counts == (
        Anomaly.objects.count(),
        FailedCheck.objects.count(),
        User.objects.count(),
        Team.objects.count(),
    )


def test_it_scales_up_without_duplicating(db):
    seed(50)
    output = seed(80)

    assert "30 created, 80 in all" in output
    assert Anomaly.objects.count() == 80


def test_it_creates_realistic_variety(db):
    seed(400)

    assert set(Anomaly.objects.values_list("status", flat=True)) == set(Status.values)
    assert set(Anomaly.objects.values_list("anomaly_type", flat=True)) == {"record", "shape"}
    per_anomaly = {
        a.failed_checks.count() for a in Anomaly.objects.prefetch_related("failed_checks")[:200]
    }
    assert min(per_anomaly) >= 1 and max(per_anomaly) <= 5
    assert Anomaly.objects.values("datastore").distinct().count() == 3


def test_it_prints_logins_that_work_and_see_what_their_teams_allow(db):
    output = seed(100)
    for username in (
        "admin",
        "manager",
        "reporter",
        "viewer",
        "drafter",
        "author",
        "editor",
        "outsider",
    ):
        assert f"  {username} " in output

    client = Client()
    assert sign_in(client, "outsider")
    assert client.get(reverse("anomalies:list"), {"status": "all"}).context["page"].total.value == 0
    assert sign_in(client, "admin")
    assert (
        client.get(reverse("anomalies:list"), {"status": "all"}).context["page"].total.value == 100
    )
    assert sign_in(client, "reporter")
    seen = client.get(reverse("anomalies:list"), {"status": "all"}).context["page"].total.value
    assert 0 < seen < 100  # HR Postgres is not theirs


def sign_in(client, username: str) -> bool:
    """Through the sign-in page, as a person would (and as the throttling sees it)."""
    client.logout()
    response = client.post(reverse("login"), {"username": username, "password": "demo"})
    return response.status_code == HTTPStatus.FOUND
