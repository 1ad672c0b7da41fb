"""Resolves ``/o/<org_slug>/...`` to an organization and runs the request inside its scope."""

from __future__ import annotations

from typing import Callable

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils.cache import patch_cache_control
from django_scopes import scope

from cs_platform.selectors import membership_in

ORGANIZATION_KWARG = "org_slug"


class OrganizationMiddleware:
    """Fail closed: every URL that names an organization needs a member of it.

    Its answers are marked ``Cache-Control: private, no-store``.

    An anonymous visitor is sent to sign in; a signed-in person who is not a member
    gets the same 404 as for an organization that does not exist. The view *and*
    the rendering of its response happen inside the organization's scope, so a
    lazy queryset evaluated in a template is scoped too.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.organization = None
        request.membership = None
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        slug = match.kwargs.get(ORGANIZATION_KWARG)
        if slug is None:
            # Pages outside any organization (sign-in, the switcher) run with no scope:
            # a tenant query there raises rather than guessing an organization.
            return self.get_response(request)

        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        membership = membership_in(request.user, slug)
        if membership is None:
            raise Http404("No such organization.")
        request.organization = membership.organization
        request.membership = membership
        with scope(organization=membership.organization):
            response = self.get_response(request)
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()
        # Tenant data: no shared cache may keep it, nor the browser on disk for the next
        # person at the same computer (Back after signing out shows nothing).
        patch_cache_control(response, private=True, no_store=True)
        return response
