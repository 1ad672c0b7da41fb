"""Celery tasks of the tenancy core, and ``TenantTask``, the base every tenant task uses."""

from __future__ import annotations

from celery import shared_task
from celery.contrib.django.task import DjangoTask
from django_scopes import scope


class TenantTask(DjangoTask):
    """A task whose first argument is an organization id, run inside that organization's scope.

    Tasks take ids, never model instances: the row is re-read in the worker, so it
    is current, and the scope is re-entered, so tenant queries work and fail closed.
    Enqueue with ``task.delay_on_commit(organization.id, ...)`` from services, so a
    worker never looks for a row whose transaction has not committed yet.
    """

    abstract = True

    def __call__(self, organization_id: int, *args, **kwargs):
        from cs_platform.models import Organization

        organization = Organization.objects.get(pk=organization_id)
        with scope(organization=organization):
            return super().__call__(organization_id, *args, **kwargs)


@shared_task(base=TenantTask, name="cs_platform.send_invitation_email")
def send_invitation_email(organization_id: int, invitation_id: int, token: str) -> None:
    from cs_platform.services import invitation_send_email

    invitation_send_email(invitation_id=invitation_id, token=token)
