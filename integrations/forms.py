"""The connect and edit forms. What a field accepts (site address, credentials, default
scope) is the chosen connector's to say (``integrations/connectors.py``)."""

from urllib.parse import urlsplit

from django import forms
from django.conf import settings

from anomalies.validation import CleanInputForm

from .connectors import CONNECTORS, DEFAULT_CONNECTOR, Connector, connector_choices, get_connector
from .host_policy import HostNotAllowed
from .services import host_policy


class SecretField(forms.CharField):
    """Credentials, never rendered back into the page."""

    widget = forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"})


def chosen_connector(value: object) -> type[Connector]:
    """The registered connector named ``value``, else the default one."""
    return get_connector(value if value in CONNECTORS else DEFAULT_CONNECTOR)


class ConnectorFieldsMixin:
    """Labels, help and parsing of the credentials and the default scope, per connector."""

    connector_class: type[Connector]

    def _describe_for(self, connector: type[Connector]) -> None:
        self.connector_class = connector
        scope = self.fields["default_project_key"]
        scope.label = connector.scope_label
        scope.required = connector.scope_required
        scope.widget.attrs["placeholder"] = connector.scope_example

    def clean_credentials(self):
        value = self.cleaned_data["credentials"]
        if not value:
            return None
        try:
            return self.connector_class.parse_credentials(value)
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None

    def clean_default_project_key(self) -> str:
        value = self.cleaned_data["default_project_key"]
        if not value and not self.connector_class.scope_required:
            return ""
        try:
            return self.connector_class.normalize_scope(value)
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None


class ConnectForm(ConnectorFieldsMixin, CleanInputForm):
    # Chosen on the page above the form (or by the URL), carried in a hidden input.
    connector = forms.ChoiceField(label="Connector", required=False, widget=forms.HiddenInput)
    host_url = forms.CharField(label="Host URL", max_length=255)
    credentials = SecretField(label="Credentials")
    default_project_key = forms.CharField(label="Default project key", max_length=50)
    reattach_links = forms.BooleanField(
        label="Keep the links of earlier connections to this site",
        required=False,
        initial=True,
        help_text="If this site was connected before, its ticket links are re-attached: "
        "they refresh at once and sync again from now on. Notes owed while it was "
        "disconnected are not sent unless you ask (per anomaly, or all at once in Settings). "
        "Links to another site, or of another connector, stay as history.",
    )

    def __init__(self, *args, connector: str | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["connector"].choices = connector_choices()
        asked = self.data.get("connector") if self.is_bound else connector
        chosen = chosen_connector(asked or connector)
        self.fields["connector"].initial = chosen.kind
        self.fields["host_url"].widget.attrs["placeholder"] = chosen.host_example
        self.fields["credentials"].help_text = chosen.credentials_help
        self._describe_for(chosen)

    def clean_connector(self) -> str:
        return self.connector_class.kind

    def clean_host_url(self) -> str:
        try:
            url = self.connector_class.normalize_host_url(
                self.cleaned_data["host_url"],
                allow_insecure_loopback=settings.JIRA_ALLOW_INSECURE_LOOPBACK,
            )
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None
        check_host_allowed(url)
        return url


class EditForm(ConnectorFieldsMixin, CleanInputForm):
    credentials = SecretField(
        label="Credentials",
        required=False,
        help_text="Leave blank to keep the stored credentials; they are never shown.",
    )
    default_project_key = forms.CharField(label="Default project key", max_length=50)

    def __init__(self, *args, connector: type[Connector], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._describe_for(connector)


def check_host_allowed(url: str) -> None:
    """Resolve the host and vet every address now, before anything is sent; the connector
    vets them again at every connection, since DNS answers can change."""
    parts = urlsplit(url)
    default_port = 443 if parts.scheme == "https" else 80
    try:
        host_policy().resolve(parts.hostname or "", parts.port or default_port)
    except HostNotAllowed as refused:
        raise forms.ValidationError(str(refused)) from None
    except (OSError, UnicodeError):
        raise forms.ValidationError(f"The host {parts.hostname} could not be resolved.") from None
