"""The seams through which other apps add to the anomaly pages.

`integrations` registers its "Linked Tickets" section (detail page), its Tickets column
and the column's live poller (list rows), and what each change did on the linked tickets
(folded into the activity timeline) here at start-up; the pages render whatever is
registered without knowing who registered it, so anomalies never imports a connector and
a second one slots in beside it.
"""

from collections.abc import Callable

from django.http import HttpRequest
from django.utils.safestring import SafeString

from .permissions import AnomalyAccess
from .timeline import FoldedOutcome, TimelineEntry, build_timeline

SectionRenderer = Callable[[HttpRequest, AnomalyAccess], SafeString]
# Given the ids of one page of rows, an HTML snippet for each row that has something to show.
RowAnnotator = Callable[[list[int]], dict[int, SafeString]]

# Given the page's request and access, what the app did for each of the anomaly's changes.
TimelineFolder = Callable[[HttpRequest, AnomalyAccess], list[FoldedOutcome]]

# Given the ids of one page of rows, HTML placed once after the list (integrations: the
# poller that refreshes the ticket chips of rows still syncing).
ListFooter = Callable[[list[int]], SafeString]

_renderers: list[SectionRenderer] = []
_row_annotators: list[RowAnnotator] = []
_timeline_folders: list[TimelineFolder] = []
_hidden_history_actions: set[str] = set()
_list_footers: list[ListFooter] = []


def register_detail_section(renderer: SectionRenderer) -> SectionRenderer:
    if renderer not in _renderers:
        _renderers.append(renderer)
    return renderer


def render_detail_sections(request: HttpRequest, access: AnomalyAccess) -> list[SafeString]:
    return [renderer(request, access) for renderer in _renderers]


def register_row_annotator(annotator: RowAnnotator) -> RowAnnotator:
    if annotator not in _row_annotators:
        _row_annotators.append(annotator)
    return annotator


def annotate_rows(anomalies: list) -> None:
    """Give each listed anomaly `row_notes`: the snippets registered apps have for it."""
    ids = [anomaly.pk for anomaly in anomalies]
    found = [annotator(ids) for annotator in _row_annotators] if ids else []
    for anomaly in anomalies:
        anomaly.row_notes = [notes[anomaly.pk] for notes in found if anomaly.pk in notes]


def register_timeline_folder(folder: TimelineFolder, *, replaces_actions=()) -> TimelineFolder:
    """``replaces_actions``: history actions the folded outcomes tell instead (the timeline
    leaves them out; they stay in the history the API and the admin show)."""
    if folder not in _timeline_folders:
        _timeline_folders.append(folder)
    _hidden_history_actions.update(replaces_actions)
    return folder


def activity_timeline(request: HttpRequest, access: AnomalyAccess) -> list[TimelineEntry]:
    return build_timeline(
        request,
        access,
        folders=list(_timeline_folders),
        hidden_actions=tuple(sorted(_hidden_history_actions)),
    )


def register_list_footer(footer: ListFooter) -> ListFooter:
    if footer not in _list_footers:
        _list_footers.append(footer)
    return footer


def render_list_footers(anomalies: list) -> list[SafeString]:
    ids = [anomaly.pk for anomaly in anomalies]
    return [footer(ids) for footer in _list_footers] if ids else []
