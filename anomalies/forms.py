from django import forms

from .models import ARCHIVE_REASONS, AnomalyType, Status

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


class AnomalyFilterForm(forms.Form):
    status = forms.ChoiceField(choices=STATUS_FILTERS, required=False)
    datastore = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    type = forms.ChoiceField(choices=[("", "Any type"), *AnomalyType.choices], required=False)
    q = forms.CharField(required=False, max_length=200, strip=True)
    sort = forms.ChoiceField(choices=SORT_LABELS, required=False)

    def __init__(self, *args, datastores=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["datastore"].choices = [("", "All datastores")] + [
            (datastore.pk, datastore.name) for datastore in datastores
        ]

    def cleaned_or_default(self, name: str, default):
        if self.is_valid():
            return self.cleaned_data.get(name) or default
        return default


class ArchiveForm(forms.Form):
    reason = forms.ChoiceField(choices=[(reason.value, reason.label) for reason in ARCHIVE_REASONS])
    note = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class CommentForm(forms.Form):
    text = forms.CharField(
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Add a comment…"}),
        error_messages={"required": "Write something before adding a comment."},
    )
