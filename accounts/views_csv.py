"""CSV pages: importing accounts and contacts (upload → map → preview → import) and
exporting the portfolio. The work is in ``accounts.imports`` and ``accounts.exports``."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from accounts import exports, imports
from accounts.imports import jobs as import_jobs
from accounts.filters import portfolio_filters_from_query
from accounts.models import AccountImport, ImportKind, ImportState
from accounts.selectors import portfolio
from cs_platform.access import require
from cs_platform.csv_files import MAX_BYTES, MAX_ROWS, ImportRejected, RowError

MAP_TEMPLATE = "accounts/import_map.html"


class UploadForm(forms.Form):
    kind = forms.ChoiceField(
        label="The file holds",
        choices=ImportKind.choices,
        initial=ImportKind.ACCOUNTS,
        widget=forms.RadioSelect,
    )
    # Empty files pass here so the import can say what it expects instead.
    file = forms.FileField(
        label="CSV file", allow_empty_file=True, widget=forms.FileInput(attrs={"accept": ".csv,text/csv"})
    )


def _upload_or_404(request: HttpRequest, upload_id: str, *, with_rows: bool = True) -> AccountImport:
    upload = imports.upload_get(organization=request.organization, upload_id=upload_id, with_rows=with_rows)
    if upload is None:
        raise Http404("No such upload: it was imported already, or it is more than a day old.")
    return upload


def _render_map(
    request: HttpRequest,
    upload: AccountImport,
    columns: list[str],
    *,
    errors: list[RowError] | None = None,
    plan: imports.Plan | None = None,
) -> HttpResponse:
    errors = list(errors or [])
    fields = imports.fields_of(upload.kind)
    return render(
        request,
        MAP_TEMPLATE,
        {
            "upload": upload,
            "fields": fields,
            "required": [f.label for f in fields if f.required],
            "columns": [
                {"index": index, "header": header, "choice": choice, "samples": imports.samples(upload, index)}
                for index, (header, choice) in enumerate(zip(upload.headers, columns))
            ],
            "errors": errors[: imports.MAX_ERRORS_SHOWN],
            "error_count": len(errors),
            "plan": plan,
        },
    )


@require("accounts.import")
def account_import(request: HttpRequest, org_slug: str) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None)
    errors: list[RowError] = []
    if request.method == "POST" and form.is_valid():
        try:
            upload = imports.upload_stage(
                organization=request.organization, kind=form.cleaned_data["kind"], file=form.cleaned_data["file"]
            )
        except ImportRejected as rejected:
            errors = rejected.errors
        else:
            return redirect("accounts:account_import_map", org_slug=org_slug, upload=upload.public_id)
    return render(
        request,
        "accounts/import_upload.html",
        {
            "form": form,
            "errors": errors[: imports.MAX_ERRORS_SHOWN],
            "error_count": len(errors),
            "kinds": [(kind, label, imports.fields_of(kind)) for kind, label in ImportKind.choices],
            "max_rows": MAX_ROWS,
            "max_megabytes": MAX_BYTES // 1024 // 1024,
        },
    )


@require("accounts.import")
def account_import_map(request: HttpRequest, org_slug: str, upload: str) -> HttpResponse:
    staged = _upload_or_404(request, upload)
    if staged.state != ImportState.STAGED:
        return redirect("accounts:account_import_status", org_slug=org_slug, upload=staged.public_id)
    if request.method != "POST":
        return _render_map(request, staged, staged.columns or imports.guess_columns(staged.kind, staged.headers))
    columns = [request.POST.get(f"column_{index}", "") for index in range(len(staged.headers))]
    plan = imports.plan_import(organization=request.organization, upload=staged, columns=columns)
    if plan.errors:
        return _render_map(request, staged, columns, errors=plan.errors)
    if not imports.upload_confirm_mapping(upload=staged, columns=columns):
        return redirect("accounts:account_import_status", org_slug=org_slug, upload=staged.public_id)  # queued meanwhile
    return _render_map(request, staged, columns, plan=plan)


@require("accounts.import")
@require_POST
def account_import_run(request: HttpRequest, org_slug: str, upload: str) -> HttpResponse:
    """Import a checked upload: here if it is small, else in a worker; also *Try again* for one that failed."""
    job = _upload_or_404(request, upload)
    status = redirect("accounts:account_import_status", org_slug=org_slug, upload=job.public_id)
    if job.columns is None:
        messages.error(request, "Check the column mapping first: the import runs the mapping its preview showed.")
        return redirect("accounts:account_import_map", org_slug=org_slug, upload=job.public_id)
    if job.state == ImportState.STAGED and job.row_count <= settings.ACCOUNT_IMPORT_INLINE_ROWS:
        try:
            result = import_jobs.job_run_inline(organization=request.organization, actor=request.user, job=job)
        except ImportRejected as rejected:
            # Something changed since the preview (a tier renamed, a member removed): nothing was written.
            return _render_map(request, job, job.columns, errors=rejected.errors)
        if result is None:
            return status  # a second submit, while the first was importing
        messages.success(request, result.summary)
        return redirect("accounts:portfolio", org_slug=org_slug)
    # Too long for one request (or tried again): a worker runs it, and the status page
    # follows it. Queued already, running or done: a second submit only shows where it stands.
    import_jobs.job_queue(organization=request.organization, actor=request.user, job=job)
    return status


@vary_on_headers("HX-Request")
@require("accounts.import")
@require_GET
def account_import_status(request: HttpRequest, org_slug: str, upload: str) -> HttpResponse:
    """Where a background import stands; polled by htmx (and by a meta refresh without JavaScript)."""
    job = _upload_or_404(request, upload, with_rows=False)
    context = {
        "upload": job,
        "stalled": import_jobs.job_is_stalled(job),
        "can_retry": import_jobs.job_can_retry(job),
        "errors": job.failure_errors[: imports.MAX_ERRORS_SHOWN],
        "error_count": len(job.failures),
    }
    template = "accounts/import_status.html#import-status" if request.htmx else "accounts/import_status.html"
    return render(request, template, context)


@require("accounts.import")
@require_GET
def account_import_template(request: HttpRequest, org_slug: str, kind: str) -> HttpResponse:
    if kind not in ImportKind.values:
        raise Http404("There are example files for accounts and contacts only.")
    response = HttpResponse(imports.template_csv(kind), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="tend-{kind}-example.csv"'
    return response


@require_GET
def portfolio_export(request: HttpRequest, org_slug: str) -> StreamingHttpResponse:
    """The portfolio as CSV, with the same filters and order as the page's query string."""
    # Checked before the first byte streams: a filter that cannot be one raises InvalidFilters,
    # a 400 page naming it (cs_platform.bad_input), rather than a download cut off midway.
    filters = portfolio_filters_from_query(request.GET, me_id=request.user.pk, default_owner="")
    time_zone = ZoneInfo(request.organization.time_zone)
    lines = exports.portfolio_csv(portfolio(filters), time_zone=time_zone)
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    filename = f"{request.organization.slug}-portfolio-{timezone.localdate(timezone=time_zone).isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
