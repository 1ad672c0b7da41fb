"""The tenancy core's own pages (namespace ``cs_platform``): home and the organization
switcher, invitations, and each organization's overview, settings, members and audit log."""

from django.urls import path

from cs_platform import views

app_name = "cs_platform"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz/", views.healthz, name="healthz"),
    path("orgs/", views.organizations, name="organizations"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("o/<slug:org_slug>/", views.org_home, name="org_home"),
    path("o/<slug:org_slug>/settings/", views.organization_settings, name="organization_settings"),
    path("o/<slug:org_slug>/settings/members/", views.members, name="members"),
    path("o/<slug:org_slug>/settings/members/invite/", views.invitation_create, name="invitation_create"),
    path("o/<slug:org_slug>/settings/members/<str:member>/role/", views.member_role, name="member_role"),
    path("o/<slug:org_slug>/settings/members/<str:member>/remove/", views.member_remove, name="member_remove"),
    path("o/<slug:org_slug>/settings/invitations/<str:invitation>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("o/<slug:org_slug>/settings/audit/", views.audit_log, name="audit_log"),
]
