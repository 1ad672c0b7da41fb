"""URLs of the API app: the JSON API itself, and the token pages under an organization."""

from django.urls import path  # noqa: F401

# Mounted at /api/v1/ (authenticated by bearer token, not by session).
api_urlpatterns: list = []

# Mounted under /o/<org_slug>/ (token management for admins).
organization_urlpatterns: list = []
