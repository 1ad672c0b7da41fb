from __future__ import annotations

import logging

from axes.helpers import get_client_ip_address
from django import forms
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.password_validation import password_validators_help_text_html, validate_password

from cs_platform.models import ROLE_DESCRIPTIONS, Organization, Role
from cs_platform.sign_in import password_reset_allowed

logger = logging.getLogger(__name__)


class NoColonMixin:
    """Labels read as headings above fields, so no trailing colon."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class OrganizationForm(NoColonMixin, forms.ModelForm):
    class Meta:
        model = Organization
        fields = ["name", "time_zone", "currency"]
        help_texts = {
            "time_zone": "Due dates, reports and nightly jobs follow this time zone.",
            "currency": "ARR and other money is shown in this currency unless an account says otherwise.",
        }

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].strip().upper()


def _role_choices_with_descriptions() -> list[tuple[str, str]]:
    return [(role.value, f"{role.label} — {ROLE_DESCRIPTIONS[role]}") for role in Role]


class InvitationForm(NoColonMixin, forms.Form):
    email = forms.EmailField(label="E-mail address", widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    role = forms.ChoiceField(choices=_role_choices_with_descriptions, initial=Role.CSM, widget=forms.RadioSelect)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class AcceptInvitationForm(NoColonMixin, forms.Form):
    """Sets up a new login for an invitee who has none yet."""

    full_name = forms.CharField(max_length=150, label="Your name")
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validators_help_text_html(),
    )
    password_again = forms.CharField(
        label="Password (again)", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def __init__(self, *args, email: str, **kwargs):
        self.email = email
        super().__init__(*args, **kwargs)

    def clean(self) -> dict:
        cleaned = super().clean()
        password, again = cleaned.get("password"), cleaned.get("password_again")
        if password and again and password != again:
            self.add_error("password_again", "The two passwords differ. Type the same one twice.")
        elif password:
            from cs_platform.models import User

            try:
                validate_password(password, User(email=self.email, full_name=cleaned.get("full_name", "")))
            except forms.ValidationError as error:
                self.add_error("password", error)
        return cleaned


class LimitedPasswordResetForm(PasswordResetForm):
    """Django's reset form, sending its mail only within the hourly limits (``sign_in``).

    Over a limit the page says what it always says ("check your e-mail"): a different
    answer would tell a stranger which addresses have a login.
    """

    def save(self, request=None, **kwargs) -> None:
        ip_address = get_client_ip_address(request) if request is not None else None
        if password_reset_allowed(email=self.cleaned_data["email"], ip_address=ip_address):
            super().save(request=request, **kwargs)
        else:
            logger.info("Password reset mail not sent: the hourly limit for its address or IP is reached.")
