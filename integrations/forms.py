import re

from django import forms
from django.conf import settings

from anomalies.validation import CleanInputForm

from .jira import normalize_host_url
from .services import Credentials

PROJECT_KEY = re.compile(r"[A-Z][A-Z0-9_]{0,49}")


def clean_project_key(value: str) -> str:
    key = value.strip().upper()
    if not PROJECT_KEY.fullmatch(key):
        raise forms.ValidationError(
            "A Jira project key is letters, digits and underscores, starting with a letter "
            "(for example DQ)."
        )
    return key


class CredentialsField(forms.CharField):
    """`email:api_token`, never rendered back into the page."""

    widget = forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"})

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        try:
            return Credentials.parse(value)
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None


class ConnectForm(CleanInputForm):
    host_url = forms.CharField(
        label="Host URL",
        max_length=255,
        widget=forms.TextInput(attrs={"placeholder": "https://your-domain.atlassian.net"}),
    )
    credentials = CredentialsField(
        label="Credentials",
        help_text="email:api_token — the API token of a Jira account.",
    )
    default_project_key = forms.CharField(
        label="Default project key",
        max_length=50,
        widget=forms.TextInput(attrs={"placeholder": "DQ"}),
    )

    def clean_host_url(self) -> str:
        try:
            return normalize_host_url(
                self.cleaned_data["host_url"],
                allow_insecure_loopback=settings.JIRA_ALLOW_INSECURE_LOOPBACK,
            )
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None

    def clean_default_project_key(self) -> str:
        return clean_project_key(self.cleaned_data["default_project_key"])


class EditForm(CleanInputForm):
    credentials = CredentialsField(
        label="Credentials",
        required=False,
        help_text="Leave blank to keep the stored credentials; they are never shown.",
    )
    default_project_key = forms.CharField(label="Default project key", max_length=50)

    def clean_default_project_key(self) -> str:
        return clean_project_key(self.cleaned_data["default_project_key"])
