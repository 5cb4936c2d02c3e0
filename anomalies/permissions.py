"""Who may do what to an anomaly. Every page and action asks these helpers.

A user's level on a datastore is the highest level any of their teams has there; Admins
bypass teams. Without even Reporter the anomaly does not exist for the user (404); with too
low a level the action is forbidden (403).
"""

import enum

from django.core.exceptions import PermissionDenied
from django.db.models import Max
from django.http import Http404

from .models import Anomaly, Datastore, DatastorePermission, Level, User


class Action(enum.Enum):
    """Actions on an anomaly. Values are names, not levels, so that two actions needing the
    same level stay two members instead of becoming aliases of one."""

    VIEW = "view"
    CREATE_TICKET = "create_ticket"
    COMMENT = "comment"
    CHANGE_STATUS = "change_status"
    LINK_TICKET = "link_ticket"

    @property
    def level(self) -> Level:
        return REQUIRED_LEVEL[self]


# The team level each action needs (PRODUCT.md §1).
REQUIRED_LEVEL = {
    Action.VIEW: Level.REPORTER,
    Action.CREATE_TICKET: Level.REPORTER,
    Action.COMMENT: Level.VIEWER,
    Action.CHANGE_STATUS: Level.AUTHOR,
    Action.LINK_TICKET: Level.AUTHOR,
}


def effective_level(user: User, datastore: Datastore | int) -> Level | None:
    """The user's level on the datastore, or None when they have no access at all."""
    if not user.is_authenticated or not user.is_active:
        return None
    if user.is_admin:
        return Level.EDITOR
    datastore_id = datastore.pk if isinstance(datastore, Datastore) else datastore
    best = DatastorePermission.objects.filter(
        datastore_id=datastore_id, team__members=user
    ).aggregate(best=Max("level"))["best"]
    return Level(best) if best is not None else None


def visible_datastores(user: User):
    if user.is_admin:
        return Datastore.objects.all()
    return Datastore.objects.filter(permissions__team__members=user).distinct()


def datastores_at_level(user: User, level: Level):
    """Datastores where one of the user's teams has at least this level (Admins: all)."""
    if user.is_admin:
        return Datastore.objects.all()
    return Datastore.objects.filter(
        permissions__team__members=user, permissions__level__gte=level
    ).distinct()


class AnomalyAccess:
    """The user's standing on one anomaly, computed once per request."""

    def __init__(self, user: User, anomaly: Anomaly, level: Level) -> None:
        self.user = user
        self.anomaly = anomaly
        self.level = level

    def can(self, action: Action) -> bool:
        return self.level >= action.level

    def require(self, action: Action) -> None:
        if not self.can(action):
            raise PermissionDenied(
                f"This needs {action.level.label} permission on {self.anomaly.datastore}."
            )

    @property
    def can_comment(self) -> bool:
        return self.can(Action.COMMENT)

    @property
    def can_change_status(self) -> bool:
        return self.can(Action.CHANGE_STATUS)

    @property
    def can_create_ticket(self) -> bool:
        return self.can(Action.CREATE_TICKET)

    @property
    def can_link_ticket(self) -> bool:
        return self.can(Action.LINK_TICKET)


def get_anomaly_access(user: User, anomaly_id: int, action: Action = Action.VIEW) -> AnomalyAccess:
    """Load the anomaly for this user: 404 without access, 403 when the level is too low."""
    anomaly = Anomaly.objects.select_related("datastore", "container").filter(pk=anomaly_id).first()
    level = effective_level(user, anomaly.datastore_id) if anomaly else None
    if anomaly is None or level is None:
        raise Http404("No anomaly found.")
    access = AnomalyAccess(user, anomaly, level)
    access.require(action)
    return access


# --- Filters for rows that hang off an anomaly or a datastore (the Django admin uses them) --


def rows_on_visible_anomalies(rows, user: User, *, via: str = "anomaly"):
    """The rows whose anomaly (reached through `via`) the user can see; Admins: all."""
    if user.is_admin:
        return rows
    return rows.filter(**{f"{via}__in": Anomaly.objects.visible_to(user)})


def rows_on_visible_datastores(rows, user: User, *, via: str = "datastore"):
    """The rows whose datastore (reached through `via`) the user can see; Admins: all."""
    if user.is_admin:
        return rows
    return rows.filter(**{f"{via}__in": visible_datastores(user)})
