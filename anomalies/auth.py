"""Model permissions derived from the global role, for the Django admin site."""

from django.contrib.auth.backends import ModelBackend

from .models import Role

# Managers administer the platform's and the integration's data; only Admins manage users.
MANAGER_APPS = {"anomalies", "integrations"}
ADMIN_ONLY_MODELS = {"user"}


class RoleBackend(ModelBackend):
    def has_perm(self, user_obj, perm: str, obj=None) -> bool:
        if not user_obj.is_active:
            return False
        if getattr(user_obj, "role", None) == Role.MANAGER and self._manager_may(perm):
            return True
        return super().has_perm(user_obj, perm, obj)

    def has_module_perms(self, user_obj, app_label: str) -> bool:
        if user_obj.is_active and getattr(user_obj, "role", None) == Role.MANAGER:
            return app_label in MANAGER_APPS or super().has_module_perms(user_obj, app_label)
        return super().has_module_perms(user_obj, app_label)

    @staticmethod
    def _manager_may(perm: str) -> bool:
        app_label, _, codename = perm.partition(".")
        action, _, model = codename.partition("_")
        if app_label not in MANAGER_APPS:
            return False
        return model not in ADMIN_ONLY_MODELS or action == "view"
