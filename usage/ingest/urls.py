"""Ingestion's addresses, mounted at the site root where the clients post: ``/v1/…`` as
Segment's HTTP API, ``/import`` as Mixpanel's. Authenticated by write key, not session."""

from django.urls import path

from usage.ingest import views

urlpatterns = [
    path("v1/batch", views.segment_batch, name="ingest_batch"),
    path("v1/track", views.segment_single, {"kind": "track"}, name="ingest_track"),
    path("v1/identify", views.segment_single, {"kind": "identify"}, name="ingest_identify"),
    path("v1/group", views.segment_single, {"kind": "group"}, name="ingest_group"),
    path("v1/page", views.segment_single, {"kind": "page"}, name="ingest_page"),
    path("import", views.mixpanel_import, name="ingest_mixpanel_import"),
]
