"""Forms of the accounts pages. Money is typed in major units (12,500.00) and stored in minor units;
money and dates are bounded by ``cs_platform.clean``."""

from __future__ import annotations

from django import forms

from accounts.models import Account, ActivityKind, Contact, LifecycleStage, Priority, Tier, Touch
from cs_platform.clean import DateField, MoneyField
from cs_platform.forms import NoColonMixin
from cs_platform.models import Membership, Role, User

DATE = forms.DateInput(attrs={"type": "date"})


def member_choices(*roles: str) -> forms.ModelChoiceField:
    people = User.objects.filter(
        id__in=Membership.objects.filter(role__in=roles).values("user_id")
    ).order_by("full_name", "email")
    return forms.ModelChoiceField(queryset=people, required=False)


class ActivityForm(NoColonMixin, forms.Form):
    kind = forms.ChoiceField(
        choices=[(k.value, k.label) for k in ActivityKind if k != ActivityKind.SYSTEM], initial=ActivityKind.NOTE
    )
    subject = forms.CharField(max_length=200, required=False)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, label="Notes")
    contact = forms.ModelChoiceField(
        queryset=Contact.objects.none(), required=False, label="With", empty_label="Nobody in particular"
    )

    def __init__(self, *args, account: Account, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = Contact.objects.filter(account=account, left_at=None)

    def clean(self):
        cleaned = super().clean()
        if not (cleaned.get("subject", "").strip() or cleaned.get("body", "").strip()):
            raise forms.ValidationError("Write what happened: a subject or some notes.")
        return cleaned


class TierChangeForm(NoColonMixin, forms.Form):
    tier = forms.ModelChoiceField(queryset=Tier.objects.none(), required=False, empty_label="No tier")
    reason = forms.CharField(max_length=300, required=False, help_text="Why it moved, for cohort reports.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tier"].queryset = Tier.objects.order_by("position", "name")


class StageChangeForm(NoColonMixin, forms.Form):
    stage = forms.ModelChoiceField(queryset=LifecycleStage.objects.none(), required=False, empty_label="No stage")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].queryset = LifecycleStage.objects.order_by("position", "name")


class AccountForm(NoColonMixin, forms.Form):
    name = forms.CharField(max_length=200)
    domains = forms.CharField(required=False, help_text="Separate several with commas.")
    arr = MoneyField(label="ARR")
    currency = forms.RegexField(regex=r"^[A-Za-z]{3}$", max_length=3, error_messages={"invalid": "Use a three-letter code such as USD."})
    contract_start = DateField(required=False, widget=DATE)
    renewal_date = DateField(required=False, widget=DATE)
    priority = forms.ChoiceField(choices=Priority.choices)
    qbr_nominated = forms.BooleanField(required=False, label="Nominated for QBRs whatever its ARR")
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args, account: Account, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"] = member_choices(Role.CSM, Role.MANAGER, Role.ADMIN)
        self.fields["owner"].label = "CSM"
        self.fields["ae"] = member_choices(Role.AE, Role.MANAGER, Role.ADMIN)
        self.fields["ae"].label = "AE"
        self.fields["parent"] = forms.ModelChoiceField(
            queryset=Account.objects.exclude(pk=account.pk).order_by("name"), required=False, label="Parent account"
        )

    def clean_domains(self) -> list[str]:
        return [part.strip().lower() for part in self.cleaned_data["domains"].replace(" ", ",").split(",") if part.strip()]

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].upper()


class ContactForm(NoColonMixin, forms.ModelForm):
    class Meta:
        model = Contact
        fields = ["name", "email", "phone", "title", "role"]


class TaskForm(NoColonMixin, forms.Form):
    title = forms.CharField(max_length=200)
    due_date = DateField(required=False, widget=DATE)
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.MEDIUM)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"] = member_choices(Role.CSM, Role.MANAGER, Role.ADMIN, Role.AE)
        self.fields["owner"].help_text = "Empty: the account's CSM."


class HandoffForm(NoColonMixin, forms.Form):
    account = forms.ModelChoiceField(
        queryset=Account.objects.none(), required=False, label="Existing account",
        help_text="Leave empty to create the account from the name below.",
    )
    account_name = forms.CharField(max_length=200, required=False, label="New account's name")
    domain = forms.CharField(max_length=253, required=False, help_text="e.g. greenfield-farms.com")
    tier = forms.ModelChoiceField(queryset=Tier.objects.none(), required=False)
    arr = MoneyField(label="ARR")
    commit_date = DateField(widget=DATE)
    expected_close_date = DateField(required=False, widget=DATE)
    customer_goals = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, help_text="What the customer wants to achieve with us.")
    success_criteria = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, help_text="How they will know it worked.")
    use_case = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    champion_name = forms.CharField(max_length=200, required=False)
    champion_email = forms.EmailField(required=False)
    champion_title = forms.CharField(max_length=120, required=False)
    sponsor_name = forms.CharField(max_length=200, required=False, label="Executive sponsor's name")
    sponsor_email = forms.EmailField(required=False, label="Executive sponsor's e-mail")
    sponsor_title = forms.CharField(max_length=120, required=False, label="Executive sponsor's title")
    risks = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = Account.objects.filter(status="active").order_by("name")
        self.fields["tier"].queryset = Tier.objects.order_by("position", "name")
        self.fields["csm"] = member_choices(Role.CSM)
        self.fields["csm"].label = "CSM"
        self.fields["csm"].help_text = "Leave empty to assign round-robin among the CSMs covering the tier."
        self.order_fields(["account", "account_name", "domain", "tier", "arr", "csm"])

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("account") and not cleaned.get("account_name", "").strip():
            self.add_error("account_name", "Name the new account, or choose an existing one above.")
        return cleaned

    def person(self, prefix: str) -> dict[str, str]:
        return {field: self.cleaned_data.get(f"{prefix}_{field}", "") for field in ("name", "email", "title")}


class TierForm(NoColonMixin, forms.ModelForm):
    qbr_arr_threshold = MoneyField(label="QBR eligibility: ARR at least", help_text="Empty for none; accounts can also be nominated.")

    class Meta:
        model = Tier
        fields = ["name", "position", "description", "touch", "check_in_cadence_days", "qbr_arr_threshold"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["csms"] = forms.ModelMultipleChoiceField(
            queryset=User.objects.filter(id__in=Membership.objects.filter(role=Role.CSM).values("user_id")).order_by("full_name"),
            required=False,
            widget=forms.CheckboxSelectMultiple,
            label="CSMs covering this tier",
            help_text="Handoffs in this tier are assigned round-robin among them.",
        )
        if self.instance.pk:
            self.fields["csms"].initial = list(self.instance.csms.values_list("pk", flat=True))
        self.fields["touch"].choices = Touch.choices

    def clean_qbr_arr_threshold(self):
        value = self.cleaned_data["qbr_arr_threshold"]
        return value or None


class StageForm(NoColonMixin, forms.ModelForm):
    class Meta:
        model = LifecycleStage
        fields = ["name", "position", "is_churned"]
        labels = {"is_churned": "Accounts in this stage have churned"}

