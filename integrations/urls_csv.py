"""The usage CSV upload, mounted under /o/<org_slug>/settings/usage/."""

urlpatterns: list = []
