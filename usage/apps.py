"""Product usage: the Segment- and Mixpanel-compatible ingestion API, product-database
connectors, CSV upload, daily rollups and per-account usage metrics."""

from django.apps import AppConfig


class UsageConfig(AppConfig):
    name = "usage"
    verbose_name = "Product usage"

    def ready(self) -> None:
        from accounts import sections
        from cs_platform.navigation import NavItem, register
        from usage.card import account_card

        sections.register(account_card, order=10)

        register(
            NavItem(
                "Usage data", "usage:sources", capability="usage.manage", section="settings",
                also_active_for=("usage:unmatched", "usage:upload", "usage:connectors", "usage:connector_detail"),
            ),
            NavItem("Features & events", "usage:event_definitions", capability="usage.manage", section="settings"),
        )
