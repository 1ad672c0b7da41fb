from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from accounts.services import stages_create_defaults
        from cs_platform.models import Role
        from cs_platform.navigation import NavItem, register, set_landing
        from cs_platform.services import organization_set_up_register

        # Every new organization starts with the seeds' lifecycle stages.
        organization_set_up_register(lambda organization: stages_create_defaults(organization=organization))
        set_landing(Role.CSM, "accounts:portfolio")  # the portfolio is the CSM's home
        register(
            NavItem("Portfolio", "accounts:portfolio", also_active_for=("accounts:account_detail",)),
            NavItem("My tasks", "accounts:my_tasks"),
            NavItem("Handoffs", "accounts:handoff_list", capability="handoffs.view", also_active_for=("accounts:handoff_create",)),
            NavItem("Log a handoff", "accounts:handoff_create", capability="handoffs.log"),
            NavItem("Cohort migration", "accounts:cohort_migration", capability="reports.view"),
            NavItem("Tiers & stages", "accounts:account_settings", capability="organization.manage", section="settings"),
        )
