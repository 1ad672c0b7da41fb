"""The form admins fill in for a product-database connector."""

from __future__ import annotations

from django import forms

from usage.connectors.reading import EXAMPLE_QUERY
from usage.models import ConnectorSchedule, UsageConnector


class ConnectorForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="How you will recognise it, e.g. “Product DB: daily activity”.")
    dsn = forms.CharField(
        label="Connection string",
        max_length=2000,
        required=False,
        # Never rendered back: the stored password stays where it is.
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="postgresql://user:password@host:5432/database — preferably a user that can only read, "
        "or a read replica. Stored encrypted. A private or local address works only if Tend's operator "
        "allows its network.",
    )
    query = forms.CharField(
        label="SQL query",
        widget=forms.Textarea(attrs={"rows": 9, "spellcheck": "false", "class": "code", "placeholder": EXAMPLE_QUERY}),
    )
    schedule_minutes = forms.TypedChoiceField(
        label="Schedule", coerce=int, choices=ConnectorSchedule.choices, initial=ConnectorSchedule.DAILY
    )
    enabled = forms.BooleanField(
        required=False, initial=True, label="Enabled", help_text="Run on the schedule (Run now works either way)."
    )

    def __init__(self, *args, connector: UsageConnector | None = None, **kwargs):
        self.connector = connector
        if connector is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": connector.name,
                "query": connector.query,
                "schedule_minutes": connector.schedule_minutes,
                "enabled": connector.enabled,
            }
        super().__init__(*args, **kwargs)
        if connector is not None:
            self.fields["dsn"].help_text = (
                f"Now: {connector.dsn_hint}. Leave empty to keep it; enter a new one to replace it."
            )
        else:
            self.fields["dsn"].required = True
            self.fields["dsn"].error_messages["required"] = "Enter the product database's connection string."
