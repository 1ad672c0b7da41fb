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
            NavItem("Overview", "cs_platform:org_home"),
            NavItem("Organization", "cs_platform:organization_settings", capability="organization.manage", section="settings"),
            NavItem(
                "Members",
                "cs_platform:members",
                capability="members.manage",
                section="settings",
                also_active_for=("cs_platform:invitation_create", "cs_platform:member_remove"),
            ),
            NavItem("Audit log", "cs_platform:audit_log", capability="audit.view", section="settings"),
        )
