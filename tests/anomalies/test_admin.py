from http import HTTPStatus

import pytest
from django.contrib import admin
from django.db.models import ProtectedError
from django.urls import reverse

from anomalies import services
from anomalies.models import HistoryEntry, Team


@pytest.mark.parametrize("persona", ["admin", "manager"])
def test_it_lists_every_platform_model_for_admins_and_managers(client, request, anomaly, persona):
    client.force_login(request.getfixturevalue(persona))

    for model in admin.site._registry:
        if model._meta.app_label != "anomalies":
            continue
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert client.get(url).status_code == HTTPStatus.OK, url


def test_it_keeps_history_read_only_even_for_admins(client, admin, anomaly, member_author):
    services.acknowledge_anomaly(anomaly, by=member_author)
    entry = HistoryEntry.objects.get()
    client.force_login(admin)

    change_url = reverse("admin:anomalies_historyentry_change", args=[entry.pk])
    response = client.post(change_url, {"summary": "rewritten", "action": "x"})

    assert HistoryEntry.objects.get().summary == "Acknowledged"
    assert response.status_code in (HTTPStatus.OK, HTTPStatus.FORBIDDEN)
    assert (
        client.post(
            reverse("admin:anomalies_historyentry_delete", args=[entry.pk]), {"post": "yes"}
        ).status_code
        == HTTPStatus.FORBIDDEN
    )


def test_it_never_deletes_the_public_team(db):
    public = Team.objects.public()

    with pytest.raises(ProtectedError):
        public.delete()
    assert Team.objects.filter(is_public=True).exists()


def test_it_puts_every_new_user_in_the_public_team(db):
    from tests.conftest import make_user

    user = make_user("newcomer")

    assert list(user.teams.all()) == [Team.objects.public()]


def test_it_lets_only_admins_manage_users(client, manager):
    client.force_login(manager)

    assert client.get(reverse("admin:anomalies_user_changelist")).status_code == HTTPStatus.OK
    assert client.get(reverse("admin:anomalies_user_add")).status_code == HTTPStatus.FORBIDDEN
