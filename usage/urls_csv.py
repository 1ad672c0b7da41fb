"""The usage CSV upload, mounted under /o/<org_slug>/settings/usage/."""

from django.urls import path

from usage import views_csv

urlpatterns = [
    path("upload/", views_csv.usage_upload, name="usage_upload"),
]
