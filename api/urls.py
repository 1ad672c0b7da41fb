"""The admins' API token pages, under ``/o/<org_slug>/`` (namespace ``api``); the API itself is ``api.urls_v1``."""

from django.urls import path

from api import views

app_name = "api"

urlpatterns = [
    path("settings/api-tokens/", views.api_tokens, name="tokens"),
    path("settings/api-tokens/<str:token>/revoke/", views.api_token_revoke, name="token_revoke"),
]
