"""Tend's URLs. Everything an organization owns lives under ``/o/<org_slug>/``; the
tenancy middleware checks membership there before any view runs."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from api import urls as api_urls
from usage import urls as usage_urls
from cs_platform import views
from cs_platform.forms import LimitedPasswordResetForm

organization_urls = [
    path("", views.org_home, name="org_home"),
    path("settings/", views.organization_settings, name="organization_settings"),
    path("settings/members/", views.members, name="members"),
    path("settings/members/invite/", views.invitation_create, name="invitation_create"),
    path("settings/members/<str:member>/role/", views.member_role, name="member_role"),
    path("settings/members/<str:member>/remove/", views.member_remove, name="member_remove"),
    path("settings/invitations/<str:invitation>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("settings/audit/", views.audit_log, name="audit_log"),
    path("", include("accounts.urls")),
    path("", include(api_urls.organization_urlpatterns)),
    path("", include(usage_urls.organization_urlpatterns)),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz/", views.healthz, name="healthz"),
    path("orgs/", views.organizations, name="organizations"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    # Before Django's own, which it replaces: the same page, with its mails rate-limited.
    path(
        "auth/password_reset/",
        auth_views.PasswordResetView.as_view(form_class=LimitedPasswordResetForm),
        name="password_reset",
    ),
    path("auth/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_urls.api_urlpatterns)),
    path("o/<slug:org_slug>/", include(organization_urls)),
    # Segment's /v1/… and Mixpanel's /import, at the root where their clients post.
    path("", include("usage.ingest.urls")),
]
