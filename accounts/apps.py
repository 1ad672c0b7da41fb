from django.apps import AppConfig
from django.db.models.signals import post_save


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from cs_platform.models import Organization, Role
        from cs_platform.navigation import NavItem, register, set_landing

        post_save.connect(_give_new_organization_default_stages, sender=Organization, dispatch_uid="accounts-default-stages")
        set_landing(Role.CSM, "accounts:portfolio")  # the portfolio is the CSM's home
        register(
            NavItem("Portfolio", "accounts:portfolio", also_active_for=("accounts:account_detail",)),
            NavItem("My tasks", "accounts:my_tasks"),
            NavItem("Handoffs", "accounts:handoff_list", capability="handoffs.view", also_active_for=("accounts:handoff_create",)),
            NavItem("Log a handoff", "accounts:handoff_create", capability="handoffs.log"),
            NavItem("Cohort migration", "accounts:cohort_migration", capability="reports.view"),
            NavItem("Tiers & stages", "accounts:account_settings", capability="organization.manage", section="settings"),
        )


def _give_new_organization_default_stages(sender, instance, created: bool, **kwargs) -> None:
    if not created:
        return
    from django_scopes import scope

    from accounts.services import stages_create_defaults

    with scope(organization=instance):
        stages_create_defaults(organization=instance)
