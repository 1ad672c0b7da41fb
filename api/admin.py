"""API tokens in the platform admin: for staff to see which exist, never to make one
(a token made here would skip hashing, auditing and showing it once)."""

from django.contrib import admin

from api.models import ApiToken
from cs_platform.admin import UnscopedAdmin


@admin.register(ApiToken)
class ApiTokenAdmin(UnscopedAdmin):
    list_display = ["label", "prefix", "organization", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["organization"]
    search_fields = ["label", "prefix", "public_id"]
    fields = ["organization", "label", "prefix", "public_id", "created_by", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False
