"""Tend's URLs: each app's, under its own namespace. Everything an organization owns lives
under ``/o/<org_slug>/``; the tenancy middleware checks membership there before any view runs."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from cs_platform.forms import LimitedPasswordResetForm

ORGANIZATION = "o/<slug:org_slug>/"

urlpatterns = [
    path("", include("cs_platform.app_urls")),
    # Before Django's own, which it replaces: the same page, with its mails rate-limited.
    path(
        "auth/password_reset/",
        auth_views.PasswordResetView.as_view(form_class=LimitedPasswordResetForm),
        name="password_reset",
    ),
    path("auth/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("api.urls_v1")),
    path(ORGANIZATION, include("accounts.urls")),
    path(ORGANIZATION, include("api.urls")),
    path(ORGANIZATION, include("usage.urls")),
    # Segment's /v1/… and Mixpanel's /import, at the root where their clients post.
    path("", include("usage.ingest.urls")),
]
