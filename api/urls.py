"""URLs of the API app: the JSON API itself, and the token pages under an organization."""

from django.urls import path, re_path

from api import views

# Mounted at /api/v1/ (authenticated by bearer token, not by session).
api_urlpatterns = [
    path("accounts", views.account_list, name="api_accounts"),
    path("accounts/<str:account>", views.account_detail, name="api_account_detail"),
    # Last: anything else under /api/v1/ is a JSON 404, as a program expects.
    re_path(r"^(?P<path>.*)$", views.api_not_found, name="api_not_found"),
]

# Mounted under /o/<org_slug>/ (token management for admins).
organization_urlpatterns = [
    path("settings/api-tokens/", views.api_tokens, name="api_tokens"),
    path("settings/api-tokens/<str:token>/revoke/", views.api_token_revoke, name="api_token_revoke"),
]
