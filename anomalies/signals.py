"""Signals of the platform.

`anomaly_changed` is the one seam through which other apps (the ticketing integration, the
ticket rules) learn about anomaly changes, ingestion included (kind "ingested"). It is sent
inside the service's transaction, so whatever a receiver writes commits or rolls back
together with the change itself.
"""

from django.db.models.signals import post_save
from django.dispatch import Signal, receiver

from .models import Team, User

# Sent with `change` (an anomalies.services.AnomalyChange).
anomaly_changed = Signal()


@receiver(post_save, sender=User, dispatch_uid="join_public_team")
def join_public_team(sender, instance: User, created: bool, raw: bool = False, **kwargs) -> None:
    if created and not raw:
        Team.objects.public().members.add(instance)
