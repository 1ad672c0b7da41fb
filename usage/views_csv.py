"""The usage CSV upload page; the work is in ``usage.usage_csv``."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from cs_platform.csv_files import ImportRejected, RowError
from cs_platform.access import require
from usage import usage_csv


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
            result = usage_csv.usage_csv_import(
                organization=request.organization, actor=request.user, file=form.cleaned_data["file"]
            )
        except ImportRejected as rejected:
            errors = rejected.errors
        else:
            # Shown on the page itself: uploading the same file again is harmless (idempotent).
            form = UsageUploadForm()
    shown = errors[: usage_csv.MAX_ERRORS_SHOWN]
    return render(
        request,
        "usage/csv/upload.html",
        {
            "form": form,
            "result": result,
            "errors": shown,
            "error_count": len(errors),
            "more_errors": len(errors) - len(shown),
            "columns": usage_csv.COLUMNS,
            "example": usage_csv.EXAMPLE,
            "known_metrics": usage_csv.KNOWN_METRICS,
            "max_rows": usage_csv.MAX_ROWS,
            "max_megabytes": usage_csv.MAX_BYTES // 1024 // 1024,
            "future_days": usage_csv.FUTURE_DAYS_ALLOWED,
            "max_metric_length": usage_csv.MAX_METRIC_LENGTH,
        },
        status=422 if errors or form.errors else 200,
    )
