"""The machine interface: per-organization API tokens and the read-only JSON API under /api/v1/."""
from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "API"

    def ready(self) -> None:
        from cs_platform.navigation import NavItem, register

        register(NavItem("API tokens", "api:tokens", capability="api_tokens.manage", section="settings"))
