"""URLs of product usage.

``ingest_urlpatterns`` are mounted at the site root (``/v1/…`` as Segment's HTTP API,
``/import`` as Mixpanel's), authenticated by write key; ``organization_urlpatterns``
under ``/o/<org_slug>/``, for admins.
"""

from django.urls import include, path

from usage import views, views_ingest

ingest_urlpatterns = [
    path("v1/batch", views_ingest.segment_batch, name="ingest_batch"),
    path("v1/track", views_ingest.segment_single, {"kind": "track"}, name="ingest_track"),
    path("v1/identify", views_ingest.segment_single, {"kind": "identify"}, name="ingest_identify"),
    path("v1/group", views_ingest.segment_single, {"kind": "group"}, name="ingest_group"),
    path("v1/page", views_ingest.segment_single, {"kind": "page"}, name="ingest_page"),
    path("import", views_ingest.mixpanel_import, name="ingest_mixpanel_import"),
]

organization_urlpatterns = [
    path("settings/usage/", views.usage_sources, name="usage_sources"),
    path("settings/usage/write-keys/<str:key>/revoke/", views.write_key_revoke, name="write_key_revoke"),
    path("settings/usage/unmatched/", views.usage_unmatched, name="usage_unmatched"),
    path("settings/usage/unmatched/map/", views.usage_unmatched_map, name="usage_unmatched_map"),
    path("settings/usage/features/", views.event_definitions, name="event_definitions"),
    path("settings/usage/features/<str:definition>/delete/", views.event_definition_delete, name="event_definition_delete"),
    path("settings/usage/", include("usage.urls_connectors")),
    path("settings/usage/", include("usage.urls_csv")),
]
