"""Data coming in: the product-usage ingestion API, connectors and CSV, and the rollups."""

from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations"

    def ready(self) -> None:
        from cs_platform.navigation import NavItem, register

        register(
            NavItem(
                "Usage data", "usage_sources", capability="integrations.manage", section="settings",
                also_active_for=("usage_unmatched", "usage_upload", "usage_connectors", "usage_connector_detail"),
            ),
            NavItem("Features & events", "event_definitions", capability="integrations.manage", section="settings"),
        )
