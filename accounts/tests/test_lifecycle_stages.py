"""A new organization starts with the seeds' lifecycle stages, made by ``organization_create``."""

from __future__ import annotations

from django_scopes import scope

from accounts.models import LifecycleStage
from accounts.services import DEFAULT_STAGES
from cs_platform.models import Organization
from cs_platform.services import organization_create


def test_organization_create_gives_the_default_stages_in_order_with_churned_marked(db, admin):
    organization = organization_create(name="Acme", slug="acme", creator=admin)
    with scope(organization=organization):
        stages = list(LifecycleStage.objects.order_by("position"))
    assert [stage.name for stage in stages] == list(DEFAULT_STAGES)
    assert [stage.name for stage in stages if stage.is_churned] == ["Churned"]


def test_a_row_saved_directly_gets_no_stages_behind_the_services_back(db):
    # Set-up is the service's job, not a signal's: a bare save (a migration, a fixture) makes nothing.
    organization = Organization.objects.create(name="Bare", slug="bare")
    with scope(organization=organization):
        assert not LifecycleStage.objects.exists()
