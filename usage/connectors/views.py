"""Admins' pages for product-database connectors: list, form (with a connection test), runs."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from cs_platform import secrets
from cs_platform.access import require
from cs_platform.tenancy import get_for_org_or_404
from usage.connectors import reading, selectors, services
from usage.connectors.forms import ConnectorForm
from usage.models import RunStatus, UsageConnector

CONNECTORS_PER_PAGE = 50
RUNS_PER_PAGE = 20


def _connector(public_id: str) -> UsageConnector:
    return get_for_org_or_404(UsageConnector.objects.all(), public_id)


def _duration(started: dt.datetime | None, finished: dt.datetime | None) -> str:
    if started is None or finished is None:
        return ""
    seconds = max(0, round((finished - started).total_seconds()))
    return f"{seconds} s" if seconds < 60 else f"{seconds // 60} min {seconds % 60} s"


@require("usage.manage")
def usage_connectors(request: HttpRequest, org_slug: str) -> HttpResponse:
    page = Paginator(selectors.connectors_with_last_run(), CONNECTORS_PER_PAGE).get_page(request.GET.get("page"))
    last_runs = selectors.runs_by_id([connector.last_run_id for connector in page])
    rows = [{"connector": connector, "last_run": last_runs.get(connector.last_run_id)} for connector in page]
    return render(request, "usage/connectors/list.html", {"page": page, "rows": rows})


def _test(request: HttpRequest, connector: UsageConnector | None) -> services.TestResult:
    """Test what the form holds; an empty connection string on edit means the stored one."""
    dsn = request.POST.get("dsn", "").strip()
    if not dsn and connector is not None:
        try:
            dsn = secrets.decrypt(connector.dsn_encrypted)
        except secrets.SecretError as error:
            return services.TestResult(error=str(error))
    if not dsn:
        return services.TestResult(error="Enter the connection string to test it.")
    return services.connector_test(dsn, request.POST.get("query", ""))


def _form_page(request: HttpRequest, org_slug: str, connector: UsageConnector | None) -> HttpResponse:
    form = ConnectorForm(request.POST or None, connector=connector)
    test = None
    if request.method == "POST" and request.POST.get("action") == "test":
        test = _test(request, connector)
        if request.htmx:
            response = render(request, "usage/connectors/form.html#test-result", {"test": test})
            add_never_cache_headers(response)
            return response
        # Without JavaScript: the page again, as typed but not yet validated (nor saved).
        typed = {name: request.POST.get(name, "") for name in ("name", "query", "schedule_minutes")}
        form = ConnectorForm(initial={**typed, "enabled": bool(request.POST.get("enabled"))}, connector=connector)
    elif request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            saved = services.connector_save(
                organization=request.organization, actor=request.user, connector=connector,
                name=data["name"], dsn=data["dsn"], query=data["query"],
                schedule_minutes=data["schedule_minutes"], enabled=data["enabled"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            verb = "Saved" if connector else "Created"
            messages.success(request, f"{verb} “{saved.name}”. Use Run now to import straight away.")
            return redirect("usage:connector_detail", org_slug=org_slug, connector=saved.public_id)
    response = render(
        request,
        "usage/connectors/form.html",
        {
            "form": form, "connector": connector, "test": test, "example_query": reading.EXAMPLE_QUERY,
            "timeout_minutes": f"{reading.statement_timeout_ms() / 60000:g}",
        },
    )
    add_never_cache_headers(response)
    return response


@vary_on_headers("HX-Request")
@require("usage.manage")
def usage_connector_create(request: HttpRequest, org_slug: str) -> HttpResponse:
    return _form_page(request, org_slug, None)


@vary_on_headers("HX-Request")
@require("usage.manage")
def usage_connector_edit(request: HttpRequest, org_slug: str, connector: str) -> HttpResponse:
    return _form_page(request, org_slug, _connector(connector))


@vary_on_headers("HX-Request")
@require("usage.manage")
def usage_connector_detail(request: HttpRequest, org_slug: str, connector: str) -> HttpResponse:
    row = _connector(connector)
    page = Paginator(selectors.connector_runs(row), RUNS_PER_PAGE).get_page(request.GET.get("page"))
    runs = [{"run": run, "duration": _duration(run.started_at, run.finished_at)} for run in page]
    context = {
        "connector": row,
        "page": page,
        "runs": runs,
        # Poll while a run is under way, so its outcome appears without a reload.
        "in_progress": any(run.status in (RunStatus.QUEUED, RunStatus.RUNNING) for run in page),
    }
    if request.htmx and request.GET.get("runs"):
        return render(request, "usage/connectors/detail.html#runs", context)
    return render(request, "usage/connectors/detail.html", context)


@require("usage.manage")
@require_POST
def usage_connector_run(request: HttpRequest, org_slug: str, connector: str) -> HttpResponse:
    row = _connector(connector)
    try:
        services.connector_run_now(connector=row, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Run of “{row.name}” queued. Its outcome appears below.")
    return redirect("usage:connector_detail", org_slug=org_slug, connector=row.public_id)


@require("usage.manage")
@require_POST
def usage_connector_delete(request: HttpRequest, org_slug: str, connector: str) -> HttpResponse:
    row = _connector(connector)
    removed = services.connector_delete(connector=row, actor=request.user)
    messages.success(request, f"Deleted “{row.name}” and the {removed} usage rows it had imported.")
    return redirect("usage:connectors", org_slug=org_slug)
