"""Django's admin is for platform staff (``is_staff``), not for organization admins.

Staff see every tenant here, so each admin class turns scoping off for its queries.
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django_scopes import scopes_disabled

from cs_platform.models import AuditEntry, Invitation, Membership, Organization, User


class UnscopedAdmin(admin.ModelAdmin):
    # Platform staff work across tenants by definition; scoping would only raise.
    def get_queryset(self, request):
        with scopes_disabled():
            return self.model._base_manager.all()

    def changeform_view(self, *args, **kwargs):
        with scopes_disabled():
            return super().changeform_view(*args, **kwargs)

    def changelist_view(self, *args, **kwargs):
        with scopes_disabled():
            return super().changelist_view(*args, **kwargs)

    def delete_view(self, *args, **kwargs):
        with scopes_disabled():
            return super().delete_view(*args, **kwargs)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active", "date_joined"]
    search_fields = ["email", "full_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["full_name", "last_organization"]}),
        ("Platform access", {"fields": ["is_active", "is_staff", "is_superuser"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "full_name", "password1", "password2"]})]
    list_filter = ["is_staff", "is_active"]
    filter_horizontal: list[str] = []

    def delete_view(self, *args, **kwargs):
        # Deleting a person cascades into their memberships in every organization.
        with scopes_disabled():
            return super().delete_view(*args, **kwargs)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]
    raw_id_fields = ["user"]

    def get_queryset(self, request):
        return Membership._base_manager.select_related("user")


@admin.register(Organization)
class OrganizationAdmin(UnscopedAdmin):
    list_display = ["name", "slug", "time_zone", "currency", "created_at"]
    search_fields = ["name", "slug"]
    inlines = [MembershipInline]


@admin.register(AuditEntry)
class AuditEntryAdmin(UnscopedAdmin):
    list_display = ["created_at", "organization", "actor", "action", "target_repr"]
    list_filter = ["organization"]
    search_fields = ["action", "target_repr"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Invitation)
class InvitationAdmin(UnscopedAdmin):
    list_display = ["email", "organization", "role", "created_at", "accepted_at", "revoked_at"]
    exclude = ["token_hash"]
