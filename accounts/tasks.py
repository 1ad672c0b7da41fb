"""Celery tasks of the accounts app: thin, ids in, a service or a mail out."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from cs_platform.tasks import TenantTask


@shared_task(base=TenantTask, name="accounts.notify_csm_of_handoff")
def notify_csm_of_handoff(organization_id: int, handoff_id: int) -> None:
    from accounts.models import Handoff

    handoff = Handoff.objects.select_related("account", "csm", "ae", "organization", "champion").get(pk=handoff_id)
    if handoff.csm is None:
        return
    url = settings.SITE_URL + reverse(
        "account_detail", kwargs={"org_slug": handoff.organization.slug, "account": handoff.account.public_id}
    )
    send_mail(
        subject=f"New account handed off to you: {handoff.account.name}",
        message=render_to_string("accounts/email/handoff.txt", {"handoff": handoff, "url": url}),
        from_email=None,
        recipient_list=[handoff.csm.email],
    )


@shared_task(base=TenantTask, name="accounts.run_account_import")
def run_account_import(organization_id: int, upload_id: str, actor_id: int | None) -> None:
    """A large CSV import, in a worker: all rows or none, its outcome kept for the status page."""
    from accounts import imports
    from cs_platform.models import User
    from cs_platform.tenancy import active_organization

    organization = active_organization()
    upload = imports.upload_get(organization=organization, upload_id=upload_id)
    if upload is None or upload.state != "queued":
        return  # expired, or already taken by another delivery of this task
    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    imports.upload_set_state(organization=organization, upload=upload, state="running")
    try:
        result = imports.run_import(organization=organization, actor=actor, upload=upload)
    except imports.ImportRejected as rejected:
        imports.upload_set_state(organization=organization, upload=upload, state="failed", failures=rejected.errors)
    else:
        imports.upload_set_state(organization=organization, upload=upload, state="done", summary=result.summary)
