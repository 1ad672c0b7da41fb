"""Accounts pages: the portfolio, the Account 360, tasks, handoffs, and tiers & stages settings."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from accounts import sections, selectors, services
from accounts.filters import InvalidFilters, portfolio_filters_from_query
from accounts.forms import (
    AccountForm,
    ActivityForm,
    ContactForm,
    HandoffForm,
    StageChangeForm,
    StageForm,
    TaskForm,
    TierChangeForm,
    TierForm,
)
from accounts.models import Account, Contact, LifecycleStage, Priority, Task, Tier
from cs_platform import clean
from cs_platform.access import can, require
from cs_platform.models import Role
from cs_platform.tenancy import get_for_org_or_404

PORTFOLIO_PAGE_SIZE = 50
TIMELINE_PAGE_SIZE = 25

PORTFOLIO_COLUMNS = [
    ("name", "Account"),
    ("tier", "Tier"),
    ("stage", "Stage"),
    (None, "Health"),
    ("arr", "ARR"),
    ("renewal", "Renewal"),
    ("owner", "CSM"),
    ("last_contact", "Last contact"),
    ("last_seen", "Last seen"),
    ("next_action", "Next action"),
    ("priority", "Priority"),
]


def _account(public_id: str) -> Account:
    return get_for_org_or_404(Account.objects.select_related("tier", "stage", "owner", "ae", "parent"), public_id)


def _form_page(
    request: HttpRequest, form, title: str, *, cancel: Account | None = None, cancel_url: str = "", submit: str = "Save", intro: str = ""
) -> HttpResponse:
    if cancel is not None:
        cancel_url = reverse("accounts:account_detail", args=[request.organization.slug, cancel.public_id])
    return render(
        request, "form_page.html",
        {"form": form, "title": title, "cancel_url": cancel_url, "submit_label": submit, "intro": intro},
        status=422 if form.is_bound and form.errors else 200,
    )


@vary_on_headers("HX-Request")
def portfolio(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The CSM's home: their book of accounts, filtered, sorted and paged from the URL."""
    default_owner = "me" if request.membership.role == Role.CSM else ""
    query = request.GET.copy()
    query.pop("page", None)
    errors: dict[str, str] = {}
    try:
        filters = portfolio_filters_from_query(request.GET, me_id=request.user.id, default_owner=default_owner)
    except InvalidFilters as invalid:
        # The page still works: the bar shows what to fix at each bad filter, and links drop them.
        filters, errors = invalid.filters, {name: error.sentence for name, error in invalid.errors.items()}
        for name in errors:
            query.pop(name, None)
    accounts = Account.objects.none() if errors else selectors.portfolio(filters)
    page = Paginator(accounts, PORTFOLIO_PAGE_SIZE).get_page(request.GET.get("page"))
    query["owner"] = filters.owner  # the default made explicit, so shared links mean the same
    headers = []
    for key, label in PORTFOLIO_COLUMNS:
        if key is None:
            headers.append({"label": label})
            continue
        sorted_here = filters.sort == key
        link = query.copy()
        link["sort"] = key
        link["dir"] = "asc" if sorted_here and filters.descending else ("desc" if sorted_here else "asc")
        headers.append({"label": label, "url": "?" + link.urlencode(), "sorted": sorted_here, "descending": filters.descending})
    context = {
        "page": page,
        "filters": filters,
        "headers": headers,
        "query": query.urlencode(),
        "tiers": selectors.tiers(),
        "stages": selectors.stages(),
        "owners": selectors.account_owners(),
        "priorities": Priority.choices,
        "today": timezone.localdate(),
        "errors": errors,
    }
    template = "accounts/portfolio.html#portfolio-results" if request.htmx and not request.htmx.boosted else "accounts/portfolio.html"
    return render(request, template, context, status=400 if errors else 200)


@vary_on_headers("HX-Request")
def account_detail(request: HttpRequest, org_slug: str, account: str) -> HttpResponse:
    """The Account 360: everything about one customer on one page."""
    account_row = _account(account)
    timeline = Paginator(selectors.timeline(account_row), TIMELINE_PAGE_SIZE).get_page(request.GET.get("timeline"))
    if request.htmx and request.GET.get("timeline"):
        return render(request, "accounts/account_detail.html#timeline", {"account": account_row, "timeline": timeline})
    return render(
        request,
        "accounts/account_detail.html",
        {
            "account": account_row,
            "summary": selectors.account_summary(account_row),
            "timeline": timeline,
            "activity_form": ActivityForm(account=account_row),
            "tier_form": TierChangeForm(initial={"tier": account_row.tier}),
            "stage_form": StageChangeForm(initial={"stage": account_row.stage}),
            "contacts": selectors.contacts_of(account_row),
            "tasks": selectors.open_tasks(account_row),
            "handoffs": selectors.handoffs_of(account_row),
            "tier_history": selectors.tier_history(account_row),
            "children": selectors.child_accounts(account_row),
            "rolled_up_arr": selectors.rolled_up_arr(account_row) / 100,
            "can_edit": can(request, "accounts.edit"),
            "cards": sections.cards(request, account_row),
        },
    )


@require("accounts.edit")
def account_edit(request: HttpRequest, org_slug: str, account: str) -> HttpResponse:
    account_row = _account(account)
    initial = {
        "name": account_row.name, "domains": ", ".join(account_row.domains), "arr": account_row.arr,
        "currency": account_row.currency, "contract_start": account_row.contract_start,
        "renewal_date": account_row.renewal_date, "priority": account_row.priority,
        "qbr_nominated": account_row.qbr_nominated, "notes": account_row.notes, "owner": account_row.owner,
        "ae": account_row.ae, "parent": account_row.parent,
    }
    form = AccountForm(request.POST or None, initial=initial, account=account_row)
    if request.method == "POST" and form.is_valid():
        try:
            services.account_update(account=account_row, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, f"{account_row.name} saved.")
            return redirect("accounts:account_detail", org_slug=org_slug, account=account_row.public_id)
    return _form_page(request, form, f"Edit {account_row.name}", cancel=account_row)


@vary_on_headers("HX-Request")
@require("accounts.edit")
@require_POST
def activity_create(request: HttpRequest, org_slug: str, account: str) -> HttpResponse:
    """Add a note or log a call inline; htmx gets the new timeline entry and a fresh form."""
    account_row = _account(account)
    form = ActivityForm(request.POST, account=account_row)
    activity = None
    if form.is_valid():
        activity = services.activity_log(account=account_row, actor=request.user, **form.cleaned_data)
        form = ActivityForm(account=account_row)
    if request.htmx:
        return render(
            request, "accounts/account_detail.html#activity-form",
            {"account": account_row, "activity_form": form, "new_activity": activity},
        )
    if activity:
        messages.success(request, f"{activity.get_kind_display()} added to the timeline.")
    else:
        messages.error(request, " ".join(error for errors in form.errors.values() for error in errors))
    return redirect("accounts:account_detail", org_slug=org_slug, account=account_row.public_id)


def _move(request: HttpRequest, account: str, form_class, change, describe) -> HttpResponse:
    """Tier and stage changes alike: validate, call the service that keeps the history, go back."""
    account_row = _account(account)
    form = form_class(request.POST)
    if form.is_valid():
        change(account=account_row, actor=request.user, **form.cleaned_data)
        messages.success(request, describe(account_row))
    else:
        messages.error(request, "Choose one of the listed options.")
    return redirect("accounts:account_detail", org_slug=request.organization.slug, account=account_row.public_id)


@require("accounts.edit")
@require_POST
def account_tier(request: HttpRequest, org_slug: str, account: str) -> HttpResponse:
    return _move(
        request, account, TierChangeForm, services.account_change_tier,
        lambda a: f"{a.name} is now in tier {a.tier or '—'}.",
    )


@require("accounts.edit")
@require_POST
def account_stage(request: HttpRequest, org_slug: str, account: str) -> HttpResponse:
    return _move(
        request, account, StageChangeForm, services.account_change_stage,
        lambda a: f"{a.name} moved to {a.stage or 'no stage'}.",
    )


@require("accounts.edit")
def contact_create(request: HttpRequest, org_slug: str, account: str) -> HttpResponse:
    account_row = _account(account)
    form = ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        contact = services.contact_save(account=account_row, actor=request.user, **form.cleaned_data)
        messages.success(request, f"{contact.name} added to {account_row.name}.")
        return redirect("accounts:account_detail", org_slug=org_slug, account=account_row.public_id)
    return _form_page(request, form, f"Add a contact at {account_row.name}", cancel=account_row, submit="Add contact")


@require("accounts.edit")
def contact_edit(request: HttpRequest, org_slug: str, account: str, contact: str) -> HttpResponse:
    account_row = _account(account)
    contact_row = get_for_org_or_404(Contact.objects.filter(account=account_row), contact)
    form = ContactForm(request.POST or None, instance=contact_row)
    if request.method == "POST" and form.is_valid():
        services.contact_save(account=account_row, actor=request.user, contact=contact_row, **form.cleaned_data)
        messages.success(request, f"{contact_row.name} saved.")
        return redirect("accounts:account_detail", org_slug=org_slug, account=account_row.public_id)
    return _form_page(request, form, f"Edit {contact_row.name}", cancel=account_row)


@require("accounts.edit")
@require_POST
def contact_left(request: HttpRequest, org_slug: str, account: str, contact: str) -> HttpResponse:
    account_row = _account(account)
    contact_row = get_for_org_or_404(Contact.objects.filter(account=account_row), contact)
    services.contact_mark_left(contact=contact_row, actor=request.user)
    messages.success(request, f"{contact_row.name} marked as having left {account_row.name}.")
    return redirect("accounts:account_detail", org_slug=org_slug, account=account_row.public_id)


@require("tasks.work")
def task_create(request: HttpRequest, org_slug: str, account: str) -> HttpResponse:
    account_row = _account(account)
    form = TaskForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        task = services.task_create(account=account_row, actor=request.user, **form.cleaned_data)
        messages.success(request, f"Task “{task.title}” added for {task.owner or 'nobody yet'}.")
        return redirect("accounts:account_detail", org_slug=org_slug, account=account_row.public_id)
    return _form_page(request, form, f"New task for {account_row.name}", cancel=account_row, submit="Add task")


def my_tasks(request: HttpRequest, org_slug: str) -> HttpResponse:
    return render(request, "accounts/my_tasks.html", {"buckets": selectors.tasks_for(request.user)})


@vary_on_headers("HX-Request")
@require("tasks.work")
@require_POST
def task_complete(request: HttpRequest, org_slug: str, task: str) -> HttpResponse:
    task_row = get_for_org_or_404(Task.objects.select_related("account"), task)
    services.task_complete(task=task_row, actor=request.user)
    if request.htmx:
        return render(request, "accounts/partials/task_row.html", {"task": task_row, "done": True})
    messages.success(request, f"Done: {task_row.title}.")
    # Completed from the 360 page or the tasks page: go back where the button was.
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return redirect("accounts:my_tasks", org_slug=org_slug)


@require("handoffs.log")
def handoff_create(request: HttpRequest, org_slug: str) -> HttpResponse:
    form = HandoffForm(request.POST or None, initial={"commit_date": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        handoff = services.handoff_log(
            organization=request.organization, ae=request.user, account=data["account"],
            account_name=data["account_name"] or (data["account"].name if data["account"] else ""),
            csm=data["csm"], tier=data["tier"], arr=data["arr"], commit_date=data["commit_date"],
            expected_close_date=data["expected_close_date"], customer_goals=data["customer_goals"],
            success_criteria=data["success_criteria"], use_case=data["use_case"], risks=data["risks"],
            notes=data["notes"], champion=form.person("champion"), sponsor=form.person("sponsor"), domain=data["domain"],
        )
        who = handoff.csm or "nobody yet: no CSM covers that tier"
        messages.success(request, f"{handoff.account.name} handed off to {who}.")
        return redirect("accounts:handoff_list", org_slug=org_slug)
    return _form_page(
        request, form, "Log a deal-commit handoff", submit="Hand off to CS",
        intro="The CSM engages as soon as you commit to the deal, before it closes: tell them what the customer wants.",
    )


@require("handoffs.view")
def handoff_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    page = Paginator(selectors.handoff_list(), 50).get_page(request.GET.get("page"))
    quality, recent_count = selectors.handoff_quality(since=timezone.localdate() - dt.timedelta(days=90))
    return render(request, "accounts/handoff_list.html", {"page": page, "quality": quality, "recent_count": recent_count})


@require("reports.view")
def cohort_migration(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Moves between tiers in one calendar month (``?month=2026-11``, default this month).

    A month that cannot be one is a 400 naming it (``clean.Invalid``, answered by cs_platform.bad_input).
    """
    today = timezone.localdate()
    month = request.GET.get("month", "").strip()
    start = clean.month(month, field="Month") if month else today.replace(day=1)
    end = (start + dt.timedelta(days=32)).replace(day=1)
    previous = (start - dt.timedelta(days=1)).replace(day=1)
    moves = selectors.cohort_migration(start=start, end=end)
    return render(
        request,
        "accounts/cohort_migration.html",
        {
            "moves": moves,
            "start": start,
            "previous": previous,
            "next": end if end <= today else None,
            "upgrades": sum(m.moves for m in moves if m.direction == "up"),
            "downgrades": sum(m.moves for m in moves if m.direction == "down"),
        },
    )


@require("organization.manage")
def account_settings(request: HttpRequest, org_slug: str) -> HttpResponse:
    return render(
        request,
        "accounts/settings.html",
        {
            "tiers": selectors.tiers_with_coverage(),
            "stages": selectors.stages(),
        },
    )


@require("organization.manage")
def tier_edit(request: HttpRequest, org_slug: str, tier: str | None = None) -> HttpResponse:
    tier_row = get_for_org_or_404(Tier.objects.all(), tier) if tier else None
    form = TierForm(request.POST or None, instance=tier_row or Tier(organization=request.organization))
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        csms = list(data.pop("csms"))
        try:
            saved = services.tier_save(organization=request.organization, actor=request.user, tier=tier_row, csms=csms, **data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Tier {saved.name} saved.")
            return redirect("accounts:account_settings", org_slug=org_slug)
    return _form_page(request, form, f"Tier {tier_row.name}" if tier_row else "New tier", cancel_url=reverse("accounts:account_settings", args=[org_slug]))


@require("organization.manage")
def stage_edit(request: HttpRequest, org_slug: str, stage: str | None = None) -> HttpResponse:
    stage_row = get_for_org_or_404(LifecycleStage.objects.all(), stage) if stage else None
    form = StageForm(request.POST or None, instance=stage_row or LifecycleStage(organization=request.organization))
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.stage_save(organization=request.organization, actor=request.user, stage=stage_row, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Stage {saved.name} saved.")
            return redirect("accounts:account_settings", org_slug=org_slug)
    return _form_page(request, form, f"Stage {stage_row.name}" if stage_row else "New stage", cancel_url=reverse("accounts:account_settings", args=[org_slug]))

