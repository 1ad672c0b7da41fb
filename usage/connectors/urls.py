"""Connector pages (product-database connectors), mounted under /o/<org_slug>/settings/usage/."""

from django.urls import path

from usage.connectors import views

urlpatterns: list = [
    path("connectors/", views.usage_connectors, name="connectors"),
    path("connectors/new/", views.usage_connector_create, name="connector_create"),
    path("connectors/<str:connector>/", views.usage_connector_detail, name="connector_detail"),
    path("connectors/<str:connector>/edit/", views.usage_connector_edit, name="connector_edit"),
    path("connectors/<str:connector>/run/", views.usage_connector_run, name="connector_run"),
    path("connectors/<str:connector>/delete/", views.usage_connector_delete, name="connector_delete"),
]
