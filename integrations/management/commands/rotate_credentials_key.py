"""Re-encrypt the stored ticketing credentials after SECRET_KEY and/or CRYPTOGRAPHY_KEY changed.

    OLD_SECRET_KEY=… OLD_CRYPTOGRAPHY_KEY=… python manage.py rotate_credentials_key

django-cryptography signs each stored value with SECRET_KEY (``FernetSigner``) and encrypts it
with a key derived from CRYPTOGRAPHY_KEY (PBKDF2-HMAC-SHA256, 30,000 iterations, salt
CRYPTOGRAPHY_SALT), after pickling it. A key that did not change may be left out: the current
one stands in for it. The old keys come from the environment, not from arguments, which would
be visible in `ps` and kept in shell history.
"""

import os
import pickle
from dataclasses import dataclass, field

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django_cryptography.core.signing import FernetSigner
from django_cryptography.utils.crypto import FernetBytes, pbkdf2

from integrations.fields import UNREADABLE
from integrations.models import CredentialsUnreadable, TicketingIntegration
from integrations.services import resume_integration

KEY_DERIVATION_ITERATIONS = 30_000  # as in django_cryptography.conf.CryptographyConf


@dataclass
class Rotation:
    re_encrypted: list[TicketingIntegration] = field(default_factory=list)
    already_current: list[TicketingIntegration] = field(default_factory=list)
    unreadable: list[TicketingIntegration] = field(default_factory=list)


class Command(BaseCommand):
    help = (
        "Re-encrypt stored ticketing credentials with the current SECRET_KEY and "
        "CRYPTOGRAPHY_KEY. Put the previous values in OLD_SECRET_KEY and/or "
        "OLD_CRYPTOGRAPHY_KEY (only those that changed)."
    )

    def handle(self, *args, **options) -> None:
        old_keys = _old_keys_cipher()
        rotation = rotate_credentials(old_keys)
        self.stdout.write(
            f"Re-encrypted {len(rotation.re_encrypted)} stored secret(s) (credentials and "
            f"webhook secrets); {len(rotation.already_current)} already used the current keys."
        )
        if rotation.unreadable:
            names = ", ".join(f"#{i.pk} {i}" for i in rotation.unreadable)
            raise CommandError(
                f"Could not read the credentials of {names} with the old keys nor with the "
                "current ones. Check OLD_SECRET_KEY and OLD_CRYPTOGRAPHY_KEY, or re-enter the "
                "credentials in Settings › Integrations."
            )


def _old_keys_cipher() -> FernetBytes:
    old_secret_key = os.environ.get("OLD_SECRET_KEY", "")
    old_cryptography_key = os.environ.get("OLD_CRYPTOGRAPHY_KEY", "")
    if not (old_secret_key or old_cryptography_key):
        raise CommandError(
            "Set OLD_SECRET_KEY and/or OLD_CRYPTOGRAPHY_KEY to the value(s) in use before the "
            "change."
        )
    # django-cryptography replaced settings.CRYPTOGRAPHY_KEY with the key it derived at
    # start-up, so the current key is usable as it is; only an old one needs deriving.
    encryption_key = (
        _derive_encryption_key(old_cryptography_key)
        if old_cryptography_key
        else settings.CRYPTOGRAPHY_KEY
    )
    return FernetBytes(encryption_key, FernetSigner(old_secret_key or settings.SECRET_KEY))


def _derive_encryption_key(raw_key: str) -> bytes:
    return pbkdf2(
        raw_key,
        settings.CRYPTOGRAPHY_SALT,
        KEY_DERIVATION_ITERATIONS,
        digest=settings.CRYPTOGRAPHY_DIGEST,
    )


# Every encrypted column of an integration; the webhook secret is as much a secret.
ENCRYPTED_FIELDS = ("credentials", "webhook_secret")


@transaction.atomic
def rotate_credentials(old_keys: FernetBytes) -> Rotation:
    """Re-encrypt every value readable only with the old keys; leave the others alone."""
    rotation = Rotation()
    integrations = TicketingIntegration.objects.select_for_update().in_bulk()
    for field_name in ENCRYPTED_FIELDS:
        for pk, stored in _stored_ciphertexts(field_name).items():
            integration = integrations[pk]
            if getattr(integration, field_name) is not UNREADABLE:
                rotation.already_current.append(integration)
                continue
            plaintext = _decrypt(stored, old_keys)
            if plaintext is None:
                rotation.unreadable.append(integration)
                continue
            _store_with_current_keys(integration, field_name, plaintext)
            rotation.re_encrypted.append(integration)
    return rotation


def _stored_ciphertexts(field_name: str) -> dict[int, bytes]:
    """One encrypted column as stored, read past the model field (which decrypts)."""
    quote = connection.ops.quote_name
    table = quote(TicketingIntegration._meta.db_table)
    column = quote(TicketingIntegration._meta.get_field(field_name).column)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, {column} FROM {table} ORDER BY id")  # noqa: S608
        return {pk: bytes(value) for pk, value in cursor.fetchall() if value is not None}


def _decrypt(stored: bytes, keys: FernetBytes) -> str | None:
    try:
        # The signature is checked before anything is unpickled.
        value = pickle.loads(keys.decrypt(stored))  # noqa: S301
    except Exception:  # a bad signature, bad padding or bad pickle all mean "wrong keys"
        return None
    return value if isinstance(value, str) else None


def _store_with_current_keys(
    integration: TicketingIntegration, field_name: str, plaintext: str
) -> None:
    setattr(integration, field_name, plaintext)
    # A sync worker that met the unreadable credentials paused the sync: this is the fix.
    lifts_pause = field_name == "credentials" and integration.attention_reason == str(
        CredentialsUnreadable()
    )
    if lifts_pause:
        integration.attention_reason = ""
    integration.save(update_fields=[field_name, "attention_reason"])
    if lifts_pause:
        resume_integration(integration)
