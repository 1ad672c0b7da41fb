"""Fail-closed scoping: no tenant query without an organization, and tasks re-enter theirs."""

from __future__ import annotations

import pytest
from django.core import mail
from django_scopes import ScopeError, scope

from cs_platform import services
from cs_platform.models import AuditEntry, Invitation, Membership, Role
from cs_platform.services import send_invitation_email
from cs_platform.tenancy import TenantModel


def test_a_tenant_query_without_a_scope_raises(org, admin):
    with pytest.raises(ScopeError):
        list(Membership.objects.all())
    with pytest.raises(ScopeError):
        Membership.objects.filter(role=Role.ADMIN).count()


def test_a_scope_shows_only_its_organization(org, other_org, admin, stranger):
    with scope(organization=org):
        assert [m.user for m in Membership.objects.all()] == [admin]
    with scope(organization=other_org):
        assert [m.user for m in Membership.objects.all()] == [stranger]


# Indexes that serve a cross-tenant maintenance job, not tenant reads (each says why in its model).
MAINTENANCE_INDEXES = {"seen_message_seen_on"}


def test_every_tenant_model_is_scoped_and_indexed_by_organization():
    from django.apps import apps

    # TenantModel subclasses, and the lighter high-volume tables that carry the same FK.
    tenant_models = [
        model
        for model in apps.get_models()
        if issubclass(model, TenantModel)
        or any(field.name == "organization" for field in model._meta.get_fields() if field.concrete)
    ]
    assert Membership in tenant_models and AuditEntry in tenant_models
    assert {"UsageEvent", "UsageDaily", "AccountUsage", "SeenMessage"} <= {model.__name__ for model in tenant_models}
    for model in tenant_models:
        field = model._meta.get_field("organization")
        assert not field.null, f"{model.__name__}.organization must be NOT NULL"
        for index in model._meta.indexes:
            if index.name in MAINTENANCE_INDEXES:
                continue
            assert index.fields[0] == "organization", f"{model.__name__}: index {index.name} must lead with organization"
        for constraint in model._meta.constraints:
            fields = getattr(constraint, "fields", ())
            assert fields and fields[0] == "organization", f"{model.__name__}: {constraint.name} must lead with organization"
        with pytest.raises(ScopeError):
            model.objects.count()


def test_tenant_task_runs_inside_its_organizations_scope(org, admin):
    with scope(organization=org):
        invitation = services.invitation_create(
            organization=org, actor=admin, email="new@flowfuse.example", role=Role.CSM
        )
    # Applied here, outside any scope: the task enters the organization's scope itself.
    result = send_invitation_email.apply(args=[org.id, invitation.id])
    assert result.successful(), result.traceback
    assert mail.outbox[-1].to == ["new@flowfuse.example"]
    assert "/invitations/" in mail.outbox[-1].body


def test_tenant_task_cannot_reach_another_organizations_rows(org, other_org, admin, stranger):
    with scope(organization=org):
        invitation = Invitation.objects.create(
            organization=org, email="x@example.com", role=Role.CSM, token_hash="h1", invited_by=admin
        )
    # In the other organization's scope the row is not there to claim: nothing is mailed.
    send_invitation_email.apply(args=[other_org.id, invitation.id])
    assert mail.outbox == []
    with scope(organization=org):
        invitation.refresh_from_db()
    assert invitation.emailed_at is None and invitation.token_hash == "h1"


def test_unscoped_service_call_raises(org, admin):
    with scope(organization=org):
        invitation = Invitation.objects.create(organization=org, email="x@example.com", role=Role.CSM, token_hash="h2")
    with pytest.raises(ScopeError):
        services.invitation_send_email(invitation_id=invitation.id)
