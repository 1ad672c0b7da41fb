"""Pages of the tenancy core: where to go after sign-in, the switcher, an organization's
overview and its settings (organization, members and invitations, audit log)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from cs_platform import clean, selectors, services
from cs_platform.access import can, require
from cs_platform.forms import AcceptInvitationForm, InvitationForm, OrganizationForm, RoleForm
from cs_platform.navigation import landing_url_name
from cs_platform.models import ROLE_DESCRIPTIONS, Invitation, Membership, Role
from cs_platform.tenancy import get_for_org_or_404


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


def healthz(request: HttpRequest) -> HttpResponse:
    """For load balancers and container health checks: the process answers."""
    return HttpResponse("ok", content_type="text/plain")


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """After sign-in: the organization worked in last, the only one, or the choice."""
    memberships = selectors.memberships_of_user(request.user)
    slugs = {membership.organization.slug: membership for membership in memberships}
    last = request.user.last_organization
    chosen = slugs.get(last.slug) if last is not None else None
    if chosen is None and len(memberships) == 1:
        chosen = memberships[0]
    if chosen is None:
        return redirect("cs_platform:organizations")
    return redirect(landing_url_name(chosen.role), org_slug=chosen.organization.slug)


@login_required
def organizations(request: HttpRequest) -> HttpResponse:
    """The organization switcher as a page: every organization this person belongs to."""
    return render(request, "cs_platform/organizations.html", {"memberships": selectors.memberships_of_user(request.user)})


def org_home(request: HttpRequest, org_slug: str) -> HttpResponse:
    services.user_remember_organization(user=request.user, organization=request.organization)
    context = {
        "role_description": ROLE_DESCRIPTIONS[Role(request.membership.role)],
        "member_count": selectors.members_list().count(),
    }
    if can(request, "members.manage"):
        context["pending_invitations"] = selectors.invitations_pending().count()
    if can(request, "audit.view"):
        context["recent_entries"] = selectors.audit_entries()[:8]
    return render(request, "cs_platform/org_home.html", context)


@require("organization.manage")
def organization_settings(request: HttpRequest, org_slug: str) -> HttpResponse:
    organization = request.organization
    form = OrganizationForm(request.POST or None, instance=organization)
    if request.method == "POST" and form.is_valid():
        services.organization_update(organization=organization, actor=request.user, **form.cleaned_data)
        messages.success(request, "Organization settings saved.")
        return redirect("cs_platform:organization_settings", org_slug=organization.slug)
    return render(request, "cs_platform/organization_settings.html", {"form": form})


@require("members.manage")
def members(request: HttpRequest, org_slug: str) -> HttpResponse:
    return render(
        request,
        "cs_platform/members.html",
        {
            "page": Paginator(selectors.members_list(), 100).get_page(request.GET.get("page")),
            "invitations": selectors.invitations_pending(),
            "invitation_form": InvitationForm(),
            "roles": Role.choices,
        },
    )


@require("members.manage")
def invitation_create(request: HttpRequest, org_slug: str) -> HttpResponse:
    form = InvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = services.invitation_create(
                organization=request.organization, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Invitation sent to {invitation.email}. The link is valid for 14 days.")
            return redirect("cs_platform:members", org_slug=org_slug)
    return render(request, "cs_platform/invitation_form.html", {"form": form})


@require("members.manage")
@require_POST
def invitation_revoke(request: HttpRequest, org_slug: str, invitation: str) -> HttpResponse:
    invitation_row = get_for_org_or_404(Invitation.objects.all(), invitation)
    try:
        services.invitation_revoke(invitation=invitation_row, actor=request.user)
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, f"Invitation for {invitation_row.email} revoked; its link no longer works.")
    return redirect("cs_platform:members", org_slug=org_slug)


@vary_on_headers("HX-Request")
@require("members.manage")
@require_POST
def member_role(request: HttpRequest, org_slug: str, member: str) -> HttpResponse:
    membership = get_for_org_or_404(Membership.objects.select_related("user"), member)
    form = RoleForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            services.membership_change_role(membership=membership, actor=request.user, role=form.cleaned_data["role"])
        except ValidationError as exc:
            error = _error_text(exc)
    else:
        error = "Choose one of the listed roles."
    if request.htmx:
        membership.refresh_from_db()
        return render(
            request,
            "cs_platform/members.html#member-row",
            {"m": membership, "roles": Role.choices, "row_error": error, "row_saved": not error},
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"{membership.user} is now {membership.get_role_display()}.")
    return redirect("cs_platform:members", org_slug=org_slug)


@require("members.manage")
def member_remove(request: HttpRequest, org_slug: str, member: str) -> HttpResponse:
    membership = get_for_org_or_404(Membership.objects.select_related("user"), member)
    if request.method == "POST":
        try:
            services.membership_remove(membership=membership, actor=request.user)
        except ValidationError as error:
            messages.error(request, _error_text(error))
        else:
            messages.success(request, f"{membership.user} was removed from {request.organization.name}.")
            if membership.user_id == request.user.id:
                return redirect("cs_platform:home")
        return redirect("cs_platform:members", org_slug=org_slug)
    return render(request, "cs_platform/member_remove.html", {"m": membership})


MAX_AUDIT_FAMILY_LENGTH = 100


@vary_on_headers("HX-Request")
@require("audit.view")
def audit_log(request: HttpRequest, org_slug: str) -> HttpResponse:
    # Unstorable or overlong: a 400 naming the filter (clean.Invalid, answered by cs_platform.bad_input).
    family = clean.text(request.GET.get("action", ""), field="Show", max_length=MAX_AUDIT_FAMILY_LENGTH)
    page = Paginator(selectors.audit_entries(action_prefix=f"{family}." if family else ""), 50).get_page(
        request.GET.get("page")
    )
    template = "cs_platform/audit_log.html"
    if request.htmx:
        template += "#audit-results"
    return render(
        request,
        template,
        {"page": page, "family": family, "families": selectors.audit_action_families()},
    )


@never_cache
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """The invitee's link: sign in (or set up a login) as the invited address and join."""
    invitation = selectors.invitation_for_token(token)
    if invitation is None:
        return render(request, "cs_platform/invitation_invalid.html", status=404)
    user = request.user if request.user.is_authenticated else None
    # Signed in as someone else: they may not accept, and are offered to sign out.
    wrong_person = user is not None and not selectors.invitation_is_for(invitation, user)
    form = None if user else AcceptInvitationForm(request.POST or None, email=invitation.email)
    has_login = user is None and selectors.login_exists(invitation.email)
    if request.method == "POST" and (form is None or form.is_valid()) and not has_login:
        try:
            membership = services.invitation_accept(
                invitation=invitation,
                user=user,
                full_name=form.cleaned_data["full_name"] if form else "",
                password=form.cleaned_data["password"] if form else "",
            )
        except ValidationError as error:
            messages.error(request, _error_text(error))
        else:
            if user is None:
                login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome to {invitation.organization.name}!")
            return redirect(landing_url_name(membership.role), org_slug=invitation.organization.slug)
    return render(
        request,
        "cs_platform/invitation_accept.html",
        {
            "invitation": invitation,
            "form": form,
            "has_login": has_login,
            "wrong_person": wrong_person,
            "login_url": f"{reverse('login')}?next={request.path}",
        },
    )
