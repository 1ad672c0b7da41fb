"""Product usage's pages for admins, mounted under ``/o/<org_slug>/`` (ingestion's own
addresses are in ``usage.ingest.urls``)."""

from django.urls import include, path

from usage import views

organization_urlpatterns = [
    path("settings/usage/", views.usage_sources, name="usage_sources"),
    path("settings/usage/write-keys/<str:key>/revoke/", views.write_key_revoke, name="write_key_revoke"),
    path("settings/usage/unmatched/", views.usage_unmatched, name="usage_unmatched"),
    path("settings/usage/unmatched/map/", views.usage_unmatched_map, name="usage_unmatched_map"),
    path("settings/usage/features/", views.event_definitions, name="event_definitions"),
    path("settings/usage/features/<str:definition>/delete/", views.event_definition_delete, name="event_definition_delete"),
    path("settings/usage/", include("usage.connectors.urls")),
    path("settings/usage/upload/", views.usage_upload, name="usage_upload"),
]
