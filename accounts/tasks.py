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
