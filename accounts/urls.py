"""Accounts pages, under /o/<org_slug>/ (namespace ``accounts``)."""

from django.urls import include, path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("", include("accounts.urls_csv")),
    path("accounts/", views.portfolio, name="portfolio"),
    path("accounts/<str:account>/", views.account_detail, name="account_detail"),
    path("accounts/<str:account>/edit/", views.account_edit, name="account_edit"),
    path("accounts/<str:account>/activities/", views.activity_create, name="activity_create"),
    path("accounts/<str:account>/tier/", views.account_tier, name="account_tier"),
    path("accounts/<str:account>/stage/", views.account_stage, name="account_stage"),
    path("accounts/<str:account>/contacts/new/", views.contact_create, name="contact_create"),
    path("accounts/<str:account>/contacts/<str:contact>/", views.contact_edit, name="contact_edit"),
    path("accounts/<str:account>/contacts/<str:contact>/left/", views.contact_left, name="contact_left"),
    path("accounts/<str:account>/tasks/new/", views.task_create, name="task_create"),
    path("tasks/", views.my_tasks, name="my_tasks"),
    path("tasks/<str:task>/complete/", views.task_complete, name="task_complete"),
    path("handoffs/", views.handoff_list, name="handoff_list"),
    path("reports/cohorts/", views.cohort_migration, name="cohort_migration"),
    path("handoffs/new/", views.handoff_create, name="handoff_create"),
    path("settings/accounts/", views.account_settings, name="account_settings"),
    path("settings/tiers/new/", views.tier_edit, name="tier_create"),
    path("settings/tiers/<str:tier>/", views.tier_edit, name="tier_edit"),
    path("settings/stages/new/", views.stage_edit, name="stage_create"),
    path("settings/stages/<str:stage>/", views.stage_edit, name="stage_edit"),
]
