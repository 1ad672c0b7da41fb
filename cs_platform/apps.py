from django.apps import AppConfig


class CsPlatformConfig(AppConfig):
    name = "cs_platform"
    verbose_name = "Tend platform"

    def ready(self) -> None:
        from cs_platform import logs
        from cs_platform.credentials import credential_kinds
        from cs_platform.navigation import NavItem, register

        # Every Django process (web, worker, beat, management commands) passes here once
        # its models are loaded, so each knows every credential's marker before it logs.
        logs.install(markers=[kind.MARKER for kind in credential_kinds()])

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
