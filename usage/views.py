"""Admins' pages for usage data: write keys, the feature list, and unmatched usage."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from cs_platform.access import require
from cs_platform.credentials import credential_page
from cs_platform.csv_files import ImportRejected, RowError
from cs_platform.tenancy import get_for_org_or_404
from usage import csv_upload, selectors, services
from usage.models import EventDefinition, EventRole, WriteKey


class WriteKeyForm(forms.Form):
    label = forms.CharField(max_length=100, help_text="Which product or environment sends with it: “Web app (production)”.")


@require("usage.manage")
def usage_sources(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Write keys (a new one shown once), and how to send usage with Segment's or Mixpanel's libraries."""
    return credential_page(
        request, model=WriteKey, form_class=WriteKeyForm, template="usage/usage_sources.html",
        context={
            "keys": selectors.write_keys(),
            "host": request.build_absolute_uri("/").rstrip("/"),
            "unmatched_count": selectors.unmatched_sources_count(),
            "rate_limit": settings.USAGE_RATE_LIMIT_PER_SECOND,
        },
    )


@require("usage.manage")
@require_POST
def write_key_revoke(request: HttpRequest, org_slug: str, key: str) -> HttpResponse:
    row = get_for_org_or_404(WriteKey.objects.all(), key)
    try:
        services.write_key_revoke(key=row, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Revoked “{row.label}” ({row.prefix}…). Events sent with it are refused from now on.")
    return redirect("usage:sources", org_slug=org_slug)


class MapForm(forms.Form):
    kind = forms.ChoiceField(choices=[("group", "group"), ("user", "user")], widget=forms.HiddenInput)
    identifier = forms.CharField(max_length=200, widget=forms.HiddenInput)
    account = forms.CharField(max_length=200, label="Account", help_text="Its name, its Tend id or an external id.")


@require("usage.manage")
def usage_unmatched(request: HttpRequest, org_slug: str) -> HttpResponse:
    return render(request, "usage/unmatched.html", _unmatched_context(MapForm()))


def _unmatched_context(form: MapForm, failed: dict | None = None) -> dict:
    return {
        "rows": selectors.unmatched(),
        "form": form,
        "failed": failed or {},
        "account_names": selectors.account_names_for_suggestions(),
    }


@require("usage.manage")
@require_POST
def usage_unmatched_map(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Map one unmatched group or user to an account; or, with ``rematch``, retry them all."""
    if "rematch" in request.POST:
        moved = services.unmatched_rematch(organization=request.organization, actor=request.user)
        messages.success(request, f"{moved} events now match an account." if moved else "No unmatched group matches an account yet.")
        return redirect("usage:unmatched", org_slug=org_slug)
    form = MapForm(request.POST)
    if form.is_valid():
        try:
            account = selectors.account_for_mapping(form.cleaned_data["account"])
            moved = services.unmatched_map(
                organization=request.organization, actor=request.user, kind=form.cleaned_data["kind"],
                identifier=form.cleaned_data["identifier"], account=account,
            )
        except ValidationError as error:
            form.add_error("account", error)
        else:
            messages.success(
                request,
                f"{form.cleaned_data['identifier']} is now {account.name}'s: {moved} past events count from the next rollup, "
                "and new ones match by themselves.",
            )
            return redirect("usage:unmatched", org_slug=org_slug)
    return render(request, "usage/unmatched.html", _unmatched_context(form, form.data), status=400)


class EventDefinitionForm(forms.ModelForm):
    class Meta:
        model = EventDefinition
        fields = ["role", "event_name", "label", "description"]


@require("usage.manage")
def event_definitions(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The feature list (adoption is measured against it), and which events are logins or API calls."""
    form = EventDefinitionForm(request.POST or None, initial={"role": EventRole.FEATURE})
    if request.method == "POST" and form.is_valid():
        try:
            definition = services.event_definition_save(
                organization=request.organization, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Added “{definition.shown_name}” ({definition.get_role_display().lower()}).")
            return redirect("usage:event_definitions", org_slug=org_slug)
    definitions = list(selectors.event_definitions())
    groups = [
        (role, [definition for definition in definitions if definition.role == role.value]) for role in EventRole
    ]
    return render(
        request, "usage/event_definitions.html", {"form": form, "groups": groups},
        status=400 if form.is_bound and form.errors else 200,
    )


@require("usage.manage")
@require_POST
def event_definition_delete(request: HttpRequest, org_slug: str, definition: str) -> HttpResponse:
    row = get_for_org_or_404(EventDefinition.objects.all(), definition)
    services.event_definition_delete(definition=row, actor=request.user)
    messages.success(request, f"Removed “{row.shown_name}”; the last 90 days are being recounted without it.")
    return redirect(reverse("usage:event_definitions", kwargs={"org_slug": org_slug}))


class UsageUploadForm(forms.Form):
    # Empty files pass here so the import can say what it expects instead.
    file = forms.FileField(
        label="CSV file", allow_empty_file=True, widget=forms.FileInput(attrs={"accept": ".csv,text/csv"})
    )


@require("usage.manage")
def usage_upload(request: HttpRequest, org_slug: str) -> HttpResponse:
    form = UsageUploadForm(request.POST, request.FILES) if request.method == "POST" else UsageUploadForm()
    errors: list[RowError] = []
    result = None
    if form.is_bound and form.is_valid():
        try:
            result = csv_upload.usage_csv_import(
                organization=request.organization, actor=request.user, file=form.cleaned_data["file"]
            )
        except ImportRejected as rejected:
            errors = rejected.errors
        else:
            # Shown on the page itself: uploading the same file again is harmless (idempotent).
            form = UsageUploadForm()
    shown = errors[: csv_upload.MAX_ERRORS_SHOWN]
    return render(
        request,
        "usage/csv/upload.html",
        {
            "form": form,
            "result": result,
            "errors": shown,
            "error_count": len(errors),
            "more_errors": len(errors) - len(shown),
            "columns": csv_upload.COLUMNS,
            "example": csv_upload.EXAMPLE,
            "known_metrics": csv_upload.KNOWN_METRICS,
            "max_rows": csv_upload.MAX_ROWS,
            "max_megabytes": csv_upload.MAX_BYTES // 1024 // 1024,
            "future_days": csv_upload.FUTURE_DAYS_ALLOWED,
            "max_metric_length": csv_upload.MAX_METRIC_LENGTH,
        },
        status=422 if errors or form.errors else 200,
    )
