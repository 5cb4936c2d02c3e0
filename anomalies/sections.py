"""The seam through which other apps add a section to the anomaly page.

`integrations` registers its "Linked Tickets" renderer here at start-up; the anomaly page
renders whatever is registered without knowing who registered it, so anomalies never
imports a connector and a second connector slots in beside the first.
"""

from collections.abc import Callable

from django.http import HttpRequest
from django.utils.safestring import SafeString

from .permissions import AnomalyAccess

SectionRenderer = Callable[[HttpRequest, AnomalyAccess], SafeString]

_renderers: list[SectionRenderer] = []


def register_detail_section(renderer: SectionRenderer) -> SectionRenderer:
    if renderer not in _renderers:
        _renderers.append(renderer)
    return renderer


def render_detail_sections(request: HttpRequest, access: AnomalyAccess) -> list[SafeString]:
    return [renderer(request, access) for renderer in _renderers]
