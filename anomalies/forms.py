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

SORTS = {
    "-detected": ("-detected_at", "-id"),
    "detected": ("detected_at", "id"),
    "-weight": ("-weight", "-id"),
    "weight": ("weight", "id"),
}
SORT_LABELS = [
    ("-detected", "Newest first"),
    ("detected", "Oldest first"),
    ("-weight", "Highest weight"),
    ("weight", "Lowest weight"),
]


class AnomalyFilterForm(CleanInputForm):
    status = forms.ChoiceField(choices=STATUS_FILTERS, required=False)
    datastore = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    type = forms.ChoiceField(choices=[("", "Any type"), *AnomalyType.choices], required=False)
    q = forms.CharField(required=False, max_length=200, strip=True)
    sort = forms.ChoiceField(choices=SORT_LABELS, required=False)
    assignee = forms.ChoiceField(choices=ASSIGNEE_FILTERS, required=False)

    def __init__(self, *args, datastores=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["datastore"].choices = [("", "All datastores")] + [
            (datastore.pk, datastore.name) for datastore in datastores
        ]
        # Filters other apps registered (integrations: ticket and sync state).
        for list_filter in registered_filters():
            self.fields[list_filter.name] = forms.ChoiceField(
                label=list_filter.label, choices=[("", "Any"), *list_filter.choices], required=False
            )

    @property
    def extra_filters(self) -> list:
        """The registered filters' bound fields, for the template."""
        return [self[list_filter.name] for list_filter in registered_filters()]

    def cleaned_or_default(self, name: str, default):
        if self.is_valid():
            return self.cleaned_data.get(name) or default
        return default


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
