"""The JSON API at ``/api/v1/`` (namespace ``api_v1``), authenticated by bearer token, not session."""

from django.urls import path, re_path

from api import views

app_name = "api_v1"

urlpatterns = [
    path("accounts", views.account_list, name="accounts"),
    path("accounts/<str:account>", views.account_detail, name="account_detail"),
    # Last: anything else under /api/v1/ is a JSON 404, as a program expects.
    re_path(r"^(?P<path>.*)$", views.api_not_found, name="not_found"),
]
