from django import forms

from .filters import ASSIGNEE_FILTERS, registered_filters
from .models import ARCHIVE_REASONS, AnomalyType, FailedCheck, Status, User
from .validation import CleanInputForm, StorableDateTimeField, db_integer_field

STATUS_FILTERS = [
    ("open", "Open"),
    ("archived", "Archived"),
    ("all", "All"),
    *[(status.value, status.label) for status in Status],
]

# Each sort: its key, then the id in the same direction (the keyset pages' tie-breaker).
SORTS = {
    "-detected": ("-detected_at", "-id"),
    "detected": ("detected_at", "id"),
    "-weight": ("-weight", "-id"),
    "weight": ("weight", "id"),
    "-id": ("-id",),
    "id": ("id",),
    "status": ("status", "id"),
    "-status": ("-status", "-id"),
}
SORT_LABELS = [
    ("-detected", "Newest first"),
    ("detected", "Oldest first"),
    ("-weight", "Highest weight"),
    ("weight", "Lowest weight"),
    ("-id", "Highest ID"),
    ("id", "Lowest ID"),
    ("status", "Status A–Z"),
    ("-status", "Status Z–A"),
]
PAGE_SIZES = [25, 50, 100]
DEFAULT_PAGE_SIZE = 50


def _canonical_choices(data, fields: dict) -> dict:
    """The submitted values with each choice spelled as the field spells it, whatever the
    case (`?status=active` means Active); anything else stays as given (and is refused)."""
    data = data.copy()
    for name, field in fields.items():
        choices = getattr(field, "choices", None)
        value = data.get(name)
        if not choices or not isinstance(value, str):
            continue
        by_folded = {str(key).casefold(): str(key) for key, _ in choices}
        if value.casefold() in by_folded:
            data[name] = by_folded[value.casefold()]
    return data


class AnomalyFilterForm(CleanInputForm):
    status = forms.ChoiceField(choices=STATUS_FILTERS, required=False)
    datastore = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    type = forms.ChoiceField(choices=[("", "Any type"), *AnomalyType.choices], required=False)
    q = forms.CharField(required=False, max_length=200, strip=True)
    sort = forms.ChoiceField(choices=SORT_LABELS, required=False)
    assignee = forms.ChoiceField(choices=ASSIGNEE_FILTERS, required=False)
    size = forms.TypedChoiceField(
        label="Per page",
        choices=[(n, str(n)) for n in PAGE_SIZES],
        coerce=int,
        required=False,
        empty_value=None,
    )

    # What a user narrows the list by (Reset is offered when one is set); the status tab
    # counts too when it is not the default one. Sort and page size only arrange the list.
    NARROWING = ("q", "datastore", "type", "assignee")

    def __init__(self, data=None, *args, datastores=(), **kwargs) -> None:
        super().__init__(data, *args, **kwargs)
        self.fields["datastore"].choices = [("", "All datastores")] + [
            (datastore.pk, datastore.name) for datastore in datastores
        ]
        # Filters other apps registered (integrations: ticket and sync state).
        for list_filter in registered_filters():
            self.fields[list_filter.name] = forms.ChoiceField(
                label=list_filter.label, choices=[("", "Any"), *list_filter.choices], required=False
            )
        if self.is_bound:
            self.data = _canonical_choices(self.data, self.fields)

    def narrows(self, default_status: str) -> bool:
        """Whether any filter is set (a status tab other than the default one counts)."""
        names = [*self.NARROWING, *(f.name for f in registered_filters())]
        if any(self.cleaned_or_default(name, None) for name in names):
            return True
        return self.cleaned_or_default("status", default_status) != default_status

    @property
    def extra_filters(self) -> list:
        """The registered filters' bound fields, for the template."""
        return [self[list_filter.name] for list_filter in registered_filters()]

    def cleaned_or_default(self, name: str, default):
        """The field's value when it is valid, else the default: one bad value (a stale
        datastore, a mistyped status) drops only itself, never the other filters."""
        if not self.is_bound:
            return default
        self.is_valid()  # cleans once; the valid fields are in cleaned_data either way
        return self.cleaned_data.get(name) or default

    @property
    def ignored_values(self) -> list[str]:
        """What the list ignored, for the page to say so ("Unknown status: bogus")."""
        if not self.is_bound or self.is_valid():
            return []
        ignored = []
        for name in self.errors:
            if name in self.fields:
                label = self.fields[name].label or name.capitalize()
                ignored.append(f"{label}: “{str(self.data.get(name, ''))[:60]}” ignored")
        return ignored


class ArchiveForm(CleanInputForm):
    reason = forms.ChoiceField(choices=[(reason.value, reason.label) for reason in ARCHIVE_REASONS])
    note = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class CommentForm(CleanInputForm):
    text = forms.CharField(
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Add a comment…"}),
        error_messages={"required": "Write something before adding a comment."},
    )


class AssigneeForm(CleanInputForm):
    assignee = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True),
        error_messages={"required": "Choose whom to assign.", "invalid_choice": "No such user."},
    )


class BulkSelectionForm(CleanInputForm):
    """Which anomalies a bulk action is for: the ticked ids, or every anomaly matching the
    list's filters (`filters`, the list's query string)."""

    action = forms.CharField(max_length=40)
    scope = forms.ChoiceField(choices=[("selected", "Selected"), ("all", "All matching")])
    filters = forms.CharField(required=False, max_length=2000)


class JsonListField(forms.Field):
    """A JSON array, checked item by item in the form's clean_<name>()."""

    def to_python(self, value):
        if value in self.empty_values:
            return []
        if not isinstance(value, list):
            raise forms.ValidationError("Give a list.", code="invalid")
        return value


class IngestForm(CleanInputForm):
    """An anomaly as a detector reports it. The datastore and container are names or ids."""

    fingerprint = forms.CharField(max_length=128)
    datastore = forms.Field()
    container = forms.Field()
    type = forms.ChoiceField(choices=AnomalyType.choices)
    weight = db_integer_field(required=False)
    anomalous_record_count = db_integer_field(required=False)
    description = forms.CharField(max_length=20000)
    detected_at = StorableDateTimeField(
        required=False, help_text="ISO 8601; without an offset it is UTC."
    )
    failed_checks = JsonListField(required=False)
    tags = JsonListField(required=False)

    def clean_failed_checks(self) -> list[FailedCheck]:
        items = self.cleaned_data["failed_checks"]
        return [self._failed_check(number, item) for number, item in enumerate(items, 1)]

    @staticmethod
    def _failed_check(number: int, item) -> FailedCheck:
        if not isinstance(item, dict):
            raise forms.ValidationError(f"Check {number} must be an object.")
        unknown = sorted(set(item) - {"rule_type", "field", "message"})
        if unknown:
            raise forms.ValidationError(f"Check {number}: unknown key {unknown[0]!r}.")
        rule_type, message = item.get("rule_type"), item.get("message")
        field_name = item.get("field") or ""
        for name, value, limit in (("rule_type", rule_type, 50), ("message", message, 20000)):
            if not isinstance(value, str) or not value.strip():
                raise forms.ValidationError(f"Check {number}: {name} is required text.")
            if len(value) > limit:
                raise forms.ValidationError(f"Check {number}: {name} is over {limit} characters.")
        if not isinstance(field_name, str) or len(field_name) > 200:
            raise forms.ValidationError(f"Check {number}: field is text of at most 200 characters.")
        return FailedCheck(
            rule_type=rule_type.strip(), field_name=field_name.strip(), message=message
        )

    def clean_tags(self) -> list[str]:
        tags = self.cleaned_data["tags"]
        if not all(isinstance(tag, str) and 0 < len(tag.strip()) <= 50 for tag in tags):
            raise forms.ValidationError("Tags are texts of 1 to 50 characters.")
        return list(dict.fromkeys(tag.strip() for tag in tags))
