import re
from urllib.parse import urlsplit

from django import forms
from django.conf import settings

from anomalies.validation import CleanInputForm

from .host_policy import HostNotAllowed
from .jira import normalize_host_url
from .services import Credentials, host_policy

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
    reattach_links = forms.BooleanField(
        label="Keep the links of earlier connections to this site",
        required=False,
        initial=True,
        help_text="If this Jira site was connected before, its ticket links are re-attached: "
        "they refresh at once and sync again from now on. Comments owed while it was "
        "disconnected are not sent unless you ask (per anomaly, or all at once in Settings). "
        "Links to another site stay as history.",
    )

    def clean_host_url(self) -> str:
        try:
            url = normalize_host_url(
                self.cleaned_data["host_url"],
                allow_insecure_loopback=settings.JIRA_ALLOW_INSECURE_LOOPBACK,
            )
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None
        check_host_allowed(url)
        return url

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


def check_host_allowed(url: str) -> None:
    """Resolve the host and vet every address now, before anything is sent; the client vets
    them again at every connection, since DNS answers can change."""
    parts = urlsplit(url)
    default_port = 443 if parts.scheme == "https" else 80
    try:
        host_policy().resolve(parts.hostname or "", parts.port or default_port)
    except HostNotAllowed as refused:
        raise forms.ValidationError(str(refused)) from None
    except (OSError, UnicodeError):
        raise forms.ValidationError(f"The host {parts.hostname} could not be resolved.") from None
