"""Ingestion's addresses, mounted at the site root where the clients post: ``/v1/…`` as
Segment's HTTP API, ``/import`` as Mixpanel's. Authenticated by write key, not session. Namespace ``ingest``."""

from django.urls import path

from usage.ingest import views

app_name = "ingest"

urlpatterns = [
    path("v1/batch", views.segment_batch, name="batch"),
    path("v1/track", views.segment_single, {"kind": "track"}, name="track"),
    path("v1/identify", views.segment_single, {"kind": "identify"}, name="identify"),
    path("v1/group", views.segment_single, {"kind": "group"}, name="group"),
    path("v1/page", views.segment_single, {"kind": "page"}, name="page"),
    path("import", views.mixpanel_import, name="mixpanel_import"),
]
