from __future__ import annotations

from django.http import HttpRequest

from cs_platform.access import CAPABILITIES, can
from cs_platform.navigation import navigation_for
from cs_platform.selectors import memberships_of_user


def tenancy(request: HttpRequest) -> dict:
    """The current organization, this member's role and navigation, and the switcher's list."""
    organization = getattr(request, "organization", None)
    user = getattr(request, "user", None)
    context: dict = {"organization": organization, "membership": getattr(request, "membership", None)}
    if user is not None and user.is_authenticated:
        # Lazy: only pages that draw the switcher pay for the query.
        context["switcher_memberships"] = lambda: memberships_of_user(user)
    if organization is not None:
        context["navigation"] = navigation_for(request)
        # Templates cannot read dotted keys: "members.manage" is perms_org.members_manage.
        context["perms_org"] = {name.replace(".", "_"): can(request, name) for name in CAPABILITIES}
    return context
