"""The sync worker keeps one connector (one pool of connections) per process and integration."""

import os

import pytest

from integrations.services import clients


@pytest.fixture(autouse=True)
def no_pooled_clients():
    clients.forget_pooled_connectors()
    yield
    clients.forget_pooled_connectors()


def pooled(integration):
    with clients.pooled_connector_for(integration) as connector:
        return connector


def test_it_reuses_the_connector_and_its_connection(jira_sim, jira_integration):
    first = pooled(jira_integration)
    first.client.get_myself()
    second = pooled(jira_integration)

    assert second is first
    adapter = second.client._http.session.get_adapter(jira_integration.host_url)
    assert sum(pool.num_connections for pool in adapter.poolmanager.pools._container.values()) == 1
    second.client.get_myself()  # over the kept-alive connection, still answering
    assert sum(pool.num_connections for pool in adapter.poolmanager.pools._container.values()) == 1


def test_it_builds_a_new_connector_when_the_credentials_change(jira_sim, jira_integration):
    before = pooled(jira_integration)
    jira_integration.credentials = "other@example.com:another-token"
    jira_integration.save()

    after = pooled(jira_integration)

    assert after is not before
    assert "another-token" not in repr(after)


def test_it_builds_a_new_connector_when_loopback_is_closed(jira_sim, jira_integration, settings):
    before = pooled(jira_integration)
    settings.JIRA_ALLOW_INSECURE_LOOPBACK = False

    assert pooled(jira_integration) is not before


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_worker_starts_without_its_parents_connectors(jira_sim, jira_integration):
    pooled(jira_integration)
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.write(write, str(len(clients._pooled)).encode())
        os._exit(0)
    os.waitpid(child, 0)

    assert os.read(read, 10) == b"0"
    assert len(clients._pooled) == 1
