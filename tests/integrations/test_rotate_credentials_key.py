"""`manage.py rotate_credentials_key`: stored credentials survive a change of SECRET_KEY and/or
CRYPTOGRAPHY_KEY (README, "Rotating keys")."""

import hashlib
import io
import os
import pickle

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_cryptography.core.signing import FernetSigner
from django_cryptography.utils.crypto import FernetBytes

from integrations.models import (
    Connector,
    CredentialsUnreadable,
    IntegrationState,
    TicketingIntegration,
)
from tests.integrations.connection_support import read_raw_credentials, write_raw_credentials

PAIR = "bot@example.com:ROTATED-TOKEN-77c2"
OLD_SECRET_KEY = "the-secret-key-before-the-change"
OLD_CRYPTOGRAPHY_KEY = "the-cryptography-key-before-the-change"
# The raw value test_settings put in the environment; django-cryptography keeps only the key
# it derived from it.
CURRENT_CRYPTOGRAPHY_KEY = os.environ["CRYPTOGRAPHY_KEY"]


def stored_with(value: str, *, secret_key: str, cryptography_key: str) -> bytes:
    """What django-cryptography stored for ``value`` when these were the keys, worked out
    from its documented recipe rather than from the command under test."""
    key = hashlib.pbkdf2_hmac("sha256", cryptography_key.encode(), b"django-cryptography", 30_000)
    return FernetBytes(key, FernetSigner(secret_key)).encrypt(pickle.dumps(value))


def make_integration(host_url: str, state: str = IntegrationState.CONNECTED):
    return TicketingIntegration.objects.create(
        connector=Connector.JIRA,
        host_url=host_url,
        credentials=PAIR,
        default_project_key="DQ",
        state=state,
        connected_at=timezone.now(),
    )


def stored_with_old_keys(integration, *, secret_key=OLD_SECRET_KEY, cryptography_key=None):
    old = stored_with(
        PAIR,
        secret_key=secret_key,
        cryptography_key=cryptography_key or OLD_CRYPTOGRAPHY_KEY,
    )
    write_raw_credentials(integration.pk, old)
    return old


def rotate(monkeypatch, **old_keys: str) -> str:
    """Run the command with ``old_keys`` (OLD_* variables) in the environment; its output."""
    for name in ("OLD_SECRET_KEY", "OLD_CRYPTOGRAPHY_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in old_keys.items():
        monkeypatch.setenv(name, value)
    output = io.StringIO()
    call_command("rotate_credentials_key", stdout=output, stderr=output)
    return output.getvalue()


def credentials_of(integration) -> object:
    return TicketingIntegration.objects.get(pk=integration.pk).credentials


def test_the_recipe_matches_what_the_model_stores(db):
    integration = make_integration("https://example.atlassian.net")
    current = stored_with(
        PAIR, secret_key=settings.SECRET_KEY, cryptography_key=CURRENT_CRYPTOGRAPHY_KEY
    )

    write_raw_credentials(integration.pk, current)

    assert credentials_of(integration) == PAIR


def test_it_makes_credentials_from_both_old_keys_readable_again(db, monkeypatch):
    integration = make_integration("https://example.atlassian.net")
    stored_with_old_keys(integration)
    assert not TicketingIntegration.objects.get().credentials_readable

    output = rotate(
        monkeypatch, OLD_SECRET_KEY=OLD_SECRET_KEY, OLD_CRYPTOGRAPHY_KEY=OLD_CRYPTOGRAPHY_KEY
    )

    assert (
        "Re-encrypted 1 stored secret(s) (credentials and webhook secrets); 0 already used"
        in output
    )
    assert credentials_of(integration) == PAIR
    assert b"ROTATED-TOKEN-77c2" not in read_raw_credentials(integration.pk)


def test_it_needs_only_the_secret_key_that_changed(db, monkeypatch):
    integration = make_integration("https://example.atlassian.net")
    stored_with_old_keys(integration, cryptography_key=CURRENT_CRYPTOGRAPHY_KEY)

    rotate(monkeypatch, OLD_SECRET_KEY=OLD_SECRET_KEY)

    assert credentials_of(integration) == PAIR


def test_it_needs_only_the_cryptography_key_that_changed(db, monkeypatch):
    integration = make_integration("https://example.atlassian.net")
    stored_with_old_keys(integration, secret_key=settings.SECRET_KEY)

    rotate(monkeypatch, OLD_CRYPTOGRAPHY_KEY=OLD_CRYPTOGRAPHY_KEY)

    assert credentials_of(integration) == PAIR


def test_it_leaves_credentials_already_on_the_current_keys_alone(db, monkeypatch):
    integration = make_integration("https://example.atlassian.net")
    stored_with_old_keys(integration)
    old_keys = {"OLD_SECRET_KEY": OLD_SECRET_KEY, "OLD_CRYPTOGRAPHY_KEY": OLD_CRYPTOGRAPHY_KEY}
    rotate(monkeypatch, **old_keys)
    after_first_run = read_raw_credentials(integration.pk)

    output = rotate(monkeypatch, **old_keys)

    assert (
        "Re-encrypted 0 stored secret(s) (credentials and webhook secrets); 1 already used"
        in output
    )
    assert read_raw_credentials(integration.pk) == after_first_run
    assert credentials_of(integration) == PAIR


def test_it_fails_clearly_and_changes_nothing_with_a_wrong_old_key(db, monkeypatch):
    integration = make_integration("https://example.atlassian.net")
    before = stored_with_old_keys(integration)

    with pytest.raises(CommandError) as failure:
        rotate(monkeypatch, OLD_SECRET_KEY="not-the-old-key", OLD_CRYPTOGRAPHY_KEY="nor-this")

    assert str(failure.value).startswith(
        f"Could not read the credentials of #{integration.pk} Jira (https://example.atlassian.net)"
        " with the old keys nor with the current ones."
    )
    assert failure.value.returncode != 0
    assert read_raw_credentials(integration.pk) == before
    assert not TicketingIntegration.objects.get().credentials_readable


def test_it_asks_for_the_old_keys_when_none_is_given(db, monkeypatch):
    with pytest.raises(CommandError, match="Set OLD_SECRET_KEY and/or OLD_CRYPTOGRAPHY_KEY"):
        rotate(monkeypatch)


def test_it_rotates_what_it_can_and_names_what_it_cannot(db, monkeypatch):
    up_to_date = make_integration("https://up-to-date.atlassian.net", IntegrationState.DISCONNECTED)
    rotatable = make_integration("https://rotatable.atlassian.net")
    stored_with_old_keys(rotatable)
    lost = make_integration("https://lost.atlassian.net", IntegrationState.DISCONNECTED)
    write_raw_credentials(lost.pk, b"written with keys nobody has any more")

    with pytest.raises(CommandError) as failure:
        rotate(
            monkeypatch, OLD_SECRET_KEY=OLD_SECRET_KEY, OLD_CRYPTOGRAPHY_KEY=OLD_CRYPTOGRAPHY_KEY
        )

    named = str(failure.value)
    assert "lost.atlassian.net" in named
    assert "rotatable" not in named and "up-to-date" not in named
    assert credentials_of(rotatable) == PAIR
    assert credentials_of(up_to_date) == PAIR


def test_it_resumes_a_sync_paused_by_the_unreadable_credentials(db, monkeypatch):
    integration = make_integration("https://example.atlassian.net")
    stored_with_old_keys(integration)
    TicketingIntegration.objects.update(attention_reason=str(CredentialsUnreadable()))

    rotate(monkeypatch, OLD_SECRET_KEY=OLD_SECRET_KEY, OLD_CRYPTOGRAPHY_KEY=OLD_CRYPTOGRAPHY_KEY)

    assert not TicketingIntegration.objects.get().needs_attention


def test_it_keeps_a_pause_that_has_another_cause(db, monkeypatch):
    integration = make_integration("https://example.atlassian.net")
    stored_with_old_keys(integration)
    TicketingIntegration.objects.update(attention_reason="Jira rejected the credentials.")

    rotate(monkeypatch, OLD_SECRET_KEY=OLD_SECRET_KEY, OLD_CRYPTOGRAPHY_KEY=OLD_CRYPTOGRAPHY_KEY)

    assert TicketingIntegration.objects.get().attention_reason == "Jira rejected the credentials."


def test_it_prints_no_secret(db, monkeypatch):
    integration = make_integration("https://example.atlassian.net")
    stored_with_old_keys(integration)
    other = make_integration("https://other.atlassian.net", IntegrationState.DISCONNECTED)
    write_raw_credentials(other.pk, b"garbage")
    output = io.StringIO()
    monkeypatch.setenv("OLD_SECRET_KEY", OLD_SECRET_KEY)
    monkeypatch.setenv("OLD_CRYPTOGRAPHY_KEY", OLD_CRYPTOGRAPHY_KEY)

    with pytest.raises(CommandError) as failure:
        call_command("rotate_credentials_key", stdout=output, stderr=output)

    printed = output.getvalue() + str(failure.value)
    for secret in ("ROTATED-TOKEN-77c2", PAIR, OLD_SECRET_KEY, OLD_CRYPTOGRAPHY_KEY):
        assert secret not in printed


def test_it_re_encrypts_the_webhook_secret_too(db, monkeypatch):
    from django.db import connection

    integration = make_integration("https://example.atlassian.net")
    old_secret = stored_with(
        "whsec-ROTATE-3f1a", secret_key=OLD_SECRET_KEY, cryptography_key=OLD_CRYPTOGRAPHY_KEY
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE integrations_ticketingintegration SET webhook_secret = %s WHERE id = %s",
            [old_secret, integration.pk],
        )
    assert not TicketingIntegration.objects.get().webhook_secret_readable

    rotate(monkeypatch, OLD_SECRET_KEY=OLD_SECRET_KEY, OLD_CRYPTOGRAPHY_KEY=OLD_CRYPTOGRAPHY_KEY)

    assert TicketingIntegration.objects.get().webhook_secret == "whsec-ROTATE-3f1a"
    assert credentials_of(integration) == PAIR  # the current credentials were left alone
