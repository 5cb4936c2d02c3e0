"""An encrypted text field that survives a key change.

django-cryptography signs with SECRET_KEY and encrypts with CRYPTOGRAPHY_KEY. If either
changes without `manage.py rotate_credentials_key`, the stored value cannot be decrypted;
the stock field would then raise on every query that loads the row, taking every page that
shows the integration down with it. This one loads such a value as `UNREADABLE` instead, so
the pages can say "re-enter them".
"""

from django.db import models
from django_cryptography.fields import EncryptedMixin


class _Unreadable:
    def __repr__(self) -> str:
        return "<unreadable credentials>"

    def __bool__(self) -> bool:
        return False


UNREADABLE = _Unreadable()


class EncryptedTextField(EncryptedMixin, models.TextField):
    base_class = models.TextField
    wasinstance = True

    def _load(self, value: bytes):
        try:
            return super()._load(value)
        except Exception:  # any failure to verify or decrypt means the same to the user
            return UNREADABLE

    def get_db_prep_value(self, value, connection, prepared=False):
        if value is UNREADABLE:
            raise ValueError("Unreadable credentials cannot be saved; set new ones first.")
        return super().get_db_prep_value(value, connection, prepared)

    def deconstruct(self):
        name, _path, args, kwargs = models.TextField.deconstruct(self)
        return name, "integrations.fields.EncryptedTextField", args, kwargs
