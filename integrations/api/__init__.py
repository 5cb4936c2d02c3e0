"""The ticketing side of the JSON API (PRODUCT.md §6), mirroring `integrations.views`:
ticket operations on anomalies, and the integration itself."""

from .connection import integration
from .tickets import create_ticket, form_specification, search_tickets, ticket_link, ticket_links

__all__ = [
    "create_ticket",
    "form_specification",
    "integration",
    "search_tickets",
    "ticket_link",
    "ticket_links",
]
