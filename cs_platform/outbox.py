"""The outbox: Celery tasks written to PostgreSQL in the transaction that needs them, so a
committed row is never left without its task, whatever Redis is doing.

``enqueue`` writes a row in the caller's transaction; once that commits, the task is
handed to the broker once, briefly (``REDIS_TIMEOUT_SECONDS``), and a failure only leaves
the row waiting. The ``outbox-send`` beat job (and ``manage.py send_outbox``) sends rows
again: those whose send failed, with backoff, and those sent long ago whose task never
finished (a Redis restart lost it). A row is deleted once its task has run. Delivery is
therefore at least once: each task claims its work (``claim``, or a conditional UPDATE
of its own) so that a second delivery does nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from celery import Task, states
from celery.exceptions import NotRegistered
from celery.signals import task_postrun
from django.conf import settings
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

from cs_platform.models import OutboxMessage

logger = logging.getLogger(__name__)

# The after-commit send of the process that wrote a row has this long before the beat
# may take the row instead.
FIRST_SEND_GRACE = dt.timedelta(minutes=1)
# A sent task that has not finished by then is sent again: longer than any task may run.
RESEND_AFTER = dt.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT) + dt.timedelta(minutes=30)
BACKOFF_FIRST = dt.timedelta(minutes=1)
BACKOFF_MAX = dt.timedelta(minutes=10)
BATCH = 100
# What sending raises when the broker cannot take a task (kombu wraps most in
# OperationalError; the rest are the socket's own).
BROKER_ERRORS = (OperationalError, RedisError, ConnectionError, TimeoutError)
# Outbox tasks are sent with ids "outbox-<row id>-<attempt>", so the worker finds the row.
TASK_ID_PREFIX = "outbox-"

Row = TypeVar("Row", bound=models.Model)


def enqueue(task: Task, *args: object) -> OutboxMessage:
    """Run ``task(*args)`` once the caller's transaction commits (ids only, JSON)."""
    message = OutboxMessage.objects.create(
        task=task.name, args=list(args), next_attempt_at=timezone.now() + FIRST_SEND_GRACE
    )
    transaction.on_commit(partial(_send_committed, message.pk))
    return message


def claim(queryset: models.QuerySet[Row], *, pk: int, mark: str) -> Row | None:
    """The row ``pk`` of ``queryset`` with its timestamp field ``mark`` set now, or None when
    it was set already: how a task makes a second delivery of itself do nothing.

    Call it inside ``transaction.atomic()`` with the work the mark stands for: the UPDATE
    holds the row until commit, so a concurrent delivery waits and then finds the mark
    set, and a failure rolls the mark back with the work, for the retry to do it.
    """
    claimed = queryset.filter(pk=pk, **{f"{mark}__isnull": True}).update(**{mark: timezone.now()})
    return queryset.get(pk=pk) if claimed else None


@dataclass(frozen=True)
class SendResult:
    sent: int
    broker_error: str = ""  # why the broker took no more, when it stopped the sending


def send_due(*, everything: bool = False, limit: int = 1000) -> SendResult:
    """Send the rows that are due, oldest first, in batches of ``BATCH`` up to ``limit``.

    ``everything`` also sends rows still inside their backoff or grace. Stops at the first
    row the broker does not take: while it is away, one try a run is enough.
    """
    now = timezone.now()
    due = Q(next_attempt_at__lte=now) | Q(sent_at=None) if everything else Q(next_attempt_at__lte=now)
    sent, last_id = 0, 0
    while sent < limit:
        batch = _take(OutboxMessage.objects.filter(due, pk__gt=last_id).order_by("pk")[: min(BATCH, limit - sent)])
        for position, message in enumerate(batch):
            error = _publish(message)
            if error:
                _release(batch[position + 1 :])
                return SendResult(sent, error)
            sent += 1
        if len(batch) < BATCH:
            break
        last_id = batch[-1].pk
    return SendResult(sent)


def waiting() -> int:
    """Rows not yet taken by the broker."""
    return OutboxMessage.objects.filter(sent_at=None).count()


def _send_committed(message_id: int) -> None:
    for message in _take(OutboxMessage.objects.filter(pk=message_id, sent_at=None)):
        _publish(message)


def _take(candidates: models.QuerySet[OutboxMessage]) -> list[OutboxMessage]:
    """Claim rows to send, as sent; a failed send gives its row back (``_publish``).

    Rows another sender holds are skipped, not waited for: it is sending them. Sending
    happens after the claim commits, so a task run at once (eagerly, or by a fast worker)
    finds its row as a worker would. A sender that dies between claim and send leaves
    rows that look sent; they go again after ``RESEND_AFTER``.
    """
    now = timezone.now()
    with transaction.atomic():
        batch = list(candidates.select_for_update(skip_locked=True))
        OutboxMessage.objects.filter(pk__in=[message.pk for message in batch]).update(
            attempts=F("attempts") + 1, sent_at=now, next_attempt_at=now + RESEND_AFTER, last_error=""
        )
    for message in batch:
        message.attempts += 1
    return batch


def _publish(message: OutboxMessage) -> str:
    """Hand one claimed row's task to the broker; the broker's error if it did not take it."""
    now = timezone.now()
    unsent = OutboxMessage.objects.filter(pk=message.pk)
    try:
        task = _task(message.task)
    except NotRegistered:
        # Not the broker's fault: keep the row (an operator may deploy the missing code) and go on.
        logger.error("The outbox holds a task no installed app defines: %s; it is kept and tried again.", message.task)
        unsent.update(sent_at=None, next_attempt_at=now + BACKOFF_MAX, last_error=f"No task named {message.task}.")
        return ""
    try:
        task.apply_async(args=message.args, task_id=f"{TASK_ID_PREFIX}{message.pk}-{message.attempts}")
    except BROKER_ERRORS as error:
        retry_at = now + min(BACKOFF_FIRST * 2 ** (message.attempts - 1), BACKOFF_MAX)
        described = f"{type(error).__name__}: {error}"[:300]
        unsent.update(sent_at=None, next_attempt_at=retry_at, last_error=described)
        logger.warning("The broker did not take %s (%s); it waits in the outbox until %s.", message.task, described, retry_at)
        return described
    return ""


def _release(batch: list[OutboxMessage]) -> None:
    """Rows claimed but not tried (the broker stopped taking tasks): due again, no attempt counted."""
    OutboxMessage.objects.filter(pk__in=[message.pk for message in batch]).update(
        attempts=F("attempts") - 1, sent_at=None, next_attempt_at=timezone.now(), last_error=""
    )


def _task(name: str) -> Task:
    from cs_platform.celery import app

    if name not in app.tasks:
        # A process that sends without having imported the task (send_outbox, beat's
        # worker) registers every app's tasks module, as a worker does on start.
        app.loader.import_default_modules()
    return app.tasks[name]


@task_postrun.connect(weak=False, dispatch_uid="tend-outbox-finished")
def _forget_finished(task_id: str | None = None, state: str | None = None, **kwargs: object) -> None:
    """A task from the outbox has run (or failed for good): its row goes. A task that will
    retry keeps it, so the row is sent again if the retry is lost."""
    if not task_id or not task_id.startswith(TASK_ID_PREFIX) or state == states.RETRY:
        return
    message_id = task_id.removeprefix(TASK_ID_PREFIX).partition("-")[0]
    if message_id.isdigit():
        OutboxMessage.objects.filter(pk=int(message_id)).delete()
