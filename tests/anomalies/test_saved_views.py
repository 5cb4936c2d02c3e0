"""Saved views: named filters in the list's sidebar, shared with a team."""

from django.urls import reverse

from anomalies.models import SavedView, Team
from tests.conftest import make_user

LIST_URL = reverse("anomalies:list")


def save(client, name: str, query: str):
    return client.post(reverse("anomalies:save_view"), {"name": name, "query": query}, follow=True)


def test_it_saves_the_filters_without_the_page_and_lists_them(client, member_author, orders):
    client.force_login(member_author)

    response = save(
        client,
        "Failing syncs",
        "ticket=sync_failed&after=2026-01-01T00:00:00%2B00:00~9&p=3&type=shape&page=last",
    )

    view = SavedView.objects.get()
    assert (view.owner, view.query) == (member_author, "ticket=sync_failed&type=shape")
    assert response.request["QUERY_STRING"] == "ticket=sync_failed&type=shape"
    assert 'href="?ticket=sync_failed&amp;type=shape">Failing syncs</a>' in (
        response.content.decode()
    )


def test_it_overwrites_a_view_saved_again_under_the_same_name(client, member_author, orders):
    client.force_login(member_author)

    save(client, "Mine", "assignee=me")
    save(client, "Mine", "assignee=me&type=shape")

    assert list(SavedView.objects.values_list("name", "query")) == [
        ("Mine", "assignee=me&type=shape")
    ]


def test_it_shares_a_view_with_a_team_whose_members_then_see_it(client, member_author, orders):
    team = Team.objects.create(name="Data team")
    teammate, stranger = make_user("teammate"), make_user("stranger")
    team.members.add(member_author, teammate)
    view = SavedView.objects.create(
        owner=member_author, name="Done but open", query="ticket=done_open"
    )
    client.force_login(member_author)

    client.post(reverse("anomalies:share_view", args=[view.pk]), {"team": team.pk})

    assert list(SavedView.objects.for_user(teammate)) == [view]
    assert list(SavedView.objects.for_user(stranger)) == []
    client.force_login(teammate)
    page = client.get(LIST_URL).content.decode()
    assert "Done but open" in page
    assert f"from {member_author}" in page


def test_it_lets_only_the_owner_share_or_delete(client, member_author, orders):
    team = Team.objects.create(name="Data team")
    teammate = make_user("teammate")
    team.members.add(member_author, teammate)
    view = SavedView.objects.create(owner=member_author, name="Mine", team=team)
    client.force_login(teammate)

    client.post(reverse("anomalies:share_view", args=[view.pk]), {"team": ""})
    client.post(reverse("anomalies:delete_view", args=[view.pk]))

    view.refresh_from_db()
    assert view.team == team


def test_it_refuses_sharing_with_a_team_the_owner_is_not_in(client, member_author, orders):
    other_team = Team.objects.create(name="Elsewhere")
    view = SavedView.objects.create(owner=member_author, name="Mine")
    client.force_login(member_author)

    response = client.post(
        reverse("anomalies:share_view", args=[view.pk]), {"team": other_team.pk}, follow=True
    )

    assert [str(m) for m in response.context["messages"]] == ["Share with a team you belong to."]
    view.refresh_from_db()
    assert view.team is None


def test_it_hides_other_peoples_unshared_views(client, member_author, orders):
    view = SavedView.objects.create(owner=make_user("someone"), name="Private")
    client.force_login(member_author)

    assert client.post(reverse("anomalies:delete_view", args=[view.pk])).status_code == 404
    assert "Private" not in client.get(LIST_URL).content.decode()
