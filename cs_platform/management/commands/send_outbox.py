"""Send every task waiting in the outbox now, without waiting for beat or backoff
(after a broker outage, or to check that the broker takes tasks again)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from cs_platform import outbox


class Command(BaseCommand):
    help = "Hand every task waiting in the outbox to the broker now."

    def handle(self, *args, **options) -> None:
        result = outbox.send_due(everything=True, limit=10**9)
        self.stdout.write(f"Sent {result.sent} task{'s' if result.sent != 1 else ''}.")
        if result.broker_error:
            raise CommandError(
                f"The broker did not take a task ({result.broker_error}); {outbox.waiting()} wait in the outbox. "
                "Check that Redis is up and REDIS_URL points at it, then run this again."
            )
