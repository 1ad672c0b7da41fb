"""Connector pages (product-database connectors), mounted under /o/<org_slug>/settings/usage/."""

urlpatterns: list = []
