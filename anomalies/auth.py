"""Model permissions derived from the global role, for the Django admin site.

Admins are superusers and may do anything there. Managers may *read* every model of the
platform and the integration (each admin list narrows the rows to what their teams can see,
the same rule as the app's pages), and change only what is theirs to run: they retry failed
sync events and revoke API tokens. Granting access (teams, members, datastore levels),
editing anomalies and managing users are for Admins; comments and history are never edited.
"""

from django.contrib.auth.backends import ModelBackend

from .models import Role

MANAGER_APPS = {"anomalies", "integrations"}
# Besides viewing: the only admin permissions a Manager has.
MANAGER_CHANGES = {"integrations.change_syncevent", "anomalies.change_apitoken"}


class RoleBackend(ModelBackend):
    def has_perm(self, user_obj, perm: str, obj=None) -> bool:
        if not user_obj.is_active:
            return False
        if getattr(user_obj, "role", None) == Role.MANAGER:
            return self._manager_may(perm)
        return super().has_perm(user_obj, perm, obj)

    def has_module_perms(self, user_obj, app_label: str) -> bool:
        if user_obj.is_active and getattr(user_obj, "role", None) == Role.MANAGER:
            return app_label in MANAGER_APPS
        return super().has_module_perms(user_obj, app_label)

    @staticmethod
    def _manager_may(perm: str) -> bool:
        app_label, _, codename = perm.partition(".")
        if app_label not in MANAGER_APPS:
            return False
        return codename.startswith("view_") or perm in MANAGER_CHANGES
