"""``TenantTask``, the base of every Celery task that works for one organization."""

from __future__ import annotations

from smtplib import SMTPException

from celery.contrib.django.task import DjangoTask
from django_scopes import scope


class TenantTask(DjangoTask):
    """A task whose first argument is an organization id, run inside that organization's scope.

    Tasks take ids, never model instances: the row is re-read in the worker, so it
    is current, and the scope is re-entered, so tenant queries work and fail closed.
    Enqueue with ``outbox.enqueue(task, organization.id, ...)`` from services: the task
    is kept in PostgreSQL with the rows it is for and sent once they commit.
    """

    abstract = True

    def __call__(self, organization_id: int, *args, **kwargs):
        from cs_platform.models import Organization

        organization = Organization.objects.get(pk=organization_id)
        with scope(organization=organization):
            return super().__call__(organization_id, *args, **kwargs)


# Mail servers fail now and then; the mail is claimed only when it went, so a retry is safe.
MAIL_RETRY = {"autoretry_for": (SMTPException, ConnectionError, TimeoutError), "retry_backoff": 30, "max_retries": 5}
