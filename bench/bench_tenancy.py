"""What the tenancy layer costs per request: organization pages against an empty view.

Figures are server time through Django's full middleware stack (test client, no network),
so the ratio to ``/healthz/`` is the price of sessions, membership lookup, scoping,
navigation and templates.
"""

from __future__ import annotations

from django.test import Client
from django_scopes import scope

from bench.timing import measure
from cs_platform.audit import audit_log
from cs_platform.models import Membership, Organization, Role, User

REPEAT = 300


def run():
    organization = Organization.objects.create(name="Bench Org", slug="bench-org")
    admin = User.objects.create_user("bench-admin@example.com", "bench-password-1", full_name="Bench Admin")
    with scope(organization=organization):
        Membership.objects.create(organization=organization, user=admin, role=Role.ADMIN)
        for n in range(200):
            user = User.objects.create_user(f"bench-{n}@example.com", None)
            Membership.objects.create(organization=organization, user=user, role=Role.CSM)
        for n in range(5000):
            audit_log(organization=organization, actor=admin, action="bench.recorded", changes={"n": n})

    client = Client()
    client.force_login(admin)

    def get(path: str):
        def request():
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)

        return request

    floor = measure(get("/healthz/"), repeat=REPEAT)
    yield {"name": "tenancy.empty_view", **floor, "ratio": 1.0}
    for name, path in [
        ("tenancy.org_overview", "/o/bench-org/"),
        ("tenancy.members_page_201", "/o/bench-org/settings/members/"),
        ("tenancy.audit_log_5000", "/o/bench-org/settings/audit/"),
    ]:
        figures = measure(get(path), repeat=REPEAT)
        yield {"name": name, **figures, "ratio": round(figures["p50_ms"] / floor["p50_ms"], 2), "floor": "empty_view"}
