from django.apps import AppConfig


class CsPlatformConfig(AppConfig):
    name = "cs_platform"
    verbose_name = "Tend platform"

    def ready(self) -> None:
        from cs_platform.navigation import NavItem, register

        register(
            NavItem("Overview", "org_home"),
            NavItem("Organization", "organization_settings", capability="organization.manage", section="settings"),
            NavItem(
                "Members",
                "members",
                capability="members.manage",
                section="settings",
                also_active_for=("invitation_create", "member_remove"),
            ),
            NavItem("Audit log", "audit_log", capability="audit.view", section="settings"),
        )
