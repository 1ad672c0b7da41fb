"""CSV import and export pages, mounted under /o/<org_slug>/ before "accounts/<str:account>/"
so that "export.csv" and "import" are not taken for account ids."""

from django.urls import path

from accounts import views_csv

urlpatterns = [
    path("accounts/export.csv", views_csv.portfolio_export, name="portfolio_export"),
    path("accounts/import/", views_csv.account_import, name="account_import"),
    # Ahead of the upload routes, so "template" is never looked up as an upload id.
    path("accounts/import/template/<str:kind>.csv", views_csv.account_import_template, name="account_import_template"),
    path("accounts/import/<str:upload>/", views_csv.account_import_map, name="account_import_map"),
    path("accounts/import/<str:upload>/run/", views_csv.account_import_run, name="account_import_run"),
    path("accounts/import/<str:upload>/status/", views_csv.account_import_status, name="account_import_status"),
]
