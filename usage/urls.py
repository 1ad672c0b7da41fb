"""Product usage's pages for admins, under ``/o/<org_slug>/`` (namespace ``usage``);
ingestion's own addresses are in ``usage.ingest.urls``."""

from django.urls import include, path

from usage import views

app_name = "usage"

urlpatterns = [
    path("settings/usage/", views.usage_sources, name="sources"),
    path("settings/usage/write-keys/<str:key>/revoke/", views.write_key_revoke, name="write_key_revoke"),
    path("settings/usage/unmatched/", views.usage_unmatched, name="unmatched"),
    path("settings/usage/unmatched/map/", views.usage_unmatched_map, name="unmatched_map"),
    path("settings/usage/features/", views.event_definitions, name="event_definitions"),
    path("settings/usage/features/<str:definition>/delete/", views.event_definition_delete, name="event_definition_delete"),
    path("settings/usage/", include("usage.connectors.urls")),
    path("settings/usage/upload/", views.usage_upload, name="upload"),
]
