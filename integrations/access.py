from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied


def manager_required(view):
    """Integration settings are for Managers and Admins only; Members get 403."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.can_manage_integrations:
            raise PermissionDenied("Only Managers and Admins can manage integrations.")
        return view(request, *args, **kwargs)

    return wrapper
