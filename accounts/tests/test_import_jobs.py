"""Background CSV imports kept in PostgreSQL: claimed once, all or nothing with their
outcome, and tried again when they failed or their worker died."""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from accounts import imports
from accounts.imports import jobs as import_jobs
from accounts.models import Account, AccountImport, ImportState
from accounts.services import account_create
from accounts.imports.jobs import run_account_import
from accounts.tasks import purge_imports
from cs_platform import celery_app
from cs_platform.models import AuditEntry, OutboxMessage
from tests import processes

IMPORT_URL = "/o/flowfuse/accounts/import/"
# The first row makes a new account, the second renames one imported before.
CSV = "External id,Name\nNEW-1,Fresh Co\nOLD-1,Renamed Co\n"


@pytest.fixture
def existing(org) -> Account:
    with scope(organization=org):
        return account_create(organization=org, actor=None, name="Old Co", external_ids={"csv": "OLD-1"})


def _queued(org, admin, text: str = CSV) -> AccountImport:
    """An upload checked and handed to a worker; its task waits in the outbox, unsent."""
    with scope(organization=org):
        job = imports.upload_stage(
            organization=org, kind="accounts", file=SimpleUploadedFile("big.csv", text.encode(), content_type="text/csv")
        )
        assert imports.upload_confirm_mapping(upload=job, columns=imports.guess_columns("accounts", job.headers))
        assert import_jobs.job_queue(organization=org, actor=admin, job=job)
    return job


def _state(job: AccountImport) -> tuple[str, int]:
    with scopes_disabled():
        job.refresh_from_db()
    return job.state, job.attempt


def _names(org) -> set[str]:
    with scope(organization=org):
        return set(Account.objects.values_list("name", flat=True))


def _imported_entries(org) -> int:
    with scope(organization=org):
        return AuditEntry.objects.filter(action="accounts.imported").count()


def test_a_job_delivered_twice_imports_once(org, admin, existing):
    job = _queued(org, admin)
    [message] = OutboxMessage.objects.all()
    assert message.args == [org.id, job.pk, 1]
    run_account_import.apply(args=message.args)
    run_account_import.apply(args=message.args)  # the broker delivers at least once
    assert _state(job) == (ImportState.DONE, 1)
    assert job.rows == [] and job.summary == "Imported 2 accounts from big.csv: 1 new, 1 updated, 0 unchanged."
    assert _names(org) == {"Fresh Co", "Renamed Co"}
    assert _imported_entries(org) == 1


def test_submitting_again_queues_nothing_more(client, org, admin, existing, settings):
    settings.ACCOUNT_IMPORT_INLINE_ROWS = 1
    job = _queued(org, admin)
    client.force_login(admin)
    response = client.post(f"{IMPORT_URL}{job.public_id}/run/")
    assert response["Location"] == f"{IMPORT_URL}{job.public_id}/status/"
    assert _state(job) == (ImportState.QUEUED, 1) and OutboxMessage.objects.count() == 1


@contextmanager
def _account_locked(account: Account) -> Iterator[None]:
    """Another connection holds the account's row, so an import that updates it waits there."""
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM accounts_account WHERE id = %s FOR UPDATE", [account.pk])
                locked.set()
                release.wait(120)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(30)
    try:
        yield
    finally:
        release.set()
        holder.join(30)


def _backends(condition: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND {condition}"
        )
        return cursor.fetchone()[0]


def _stall(job: AccountImport) -> None:
    """As if the attempt had started longer ago than any worker may run."""
    with scopes_disabled():
        AccountImport.objects.filter(pk=job.pk).update(
            started_at=timezone.now() - import_jobs.STALLED_AFTER - dt.timedelta(minutes=1)
        )


def _in_thread(work) -> threading.Thread:
    def run() -> None:
        try:
            work()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_a_worker_superseded_by_try_again_writes_nothing(org, admin, existing):
    with _account_locked(existing):
        # Queued, sent once committed and run at once (eagerly, as a worker would), up to the locked account.
        first = _in_thread(lambda: _queued(org, admin))
        processes.wait_until(lambda: _backends("wait_event_type = 'Lock'") == 1, "The import never reached the locked account.")
        with scopes_disabled():
            job = AccountImport.objects.get()

        # Mid-import, the job looks abandoned, and someone tries again (run here as it is sent).
        def try_again() -> None:
            _stall(job)
            with scope(organization=org):
                assert import_jobs.job_queue(organization=org, actor=admin, job=job)

        second = _in_thread(try_again)
        processes.wait_until(lambda: _backends("wait_event_type = 'Lock'") == 2, "The second attempt never started.")
    first.join(60)
    second.join(60)
    assert _state(job) == (ImportState.DONE, 2)
    # Only the second attempt's rows: the first, superseded, rolled back whole.
    with scope(organization=org):
        assert sorted(Account.objects.values_list("name", flat=True)) == ["Fresh Co", "Renamed Co"]
    assert _imported_entries(org) == 1


def test_a_failed_job_can_be_tried_again_from_its_status_page(client, org, admin, existing, django_capture_on_commit_callbacks):
    job = _queued(org, admin, CSV + "NEW-1,Fresh Co again\n")  # a duplicate id: fails
    with django_capture_on_commit_callbacks():
        run_account_import.apply(args=[org.id, job.pk, 1])
    assert _state(job) == (ImportState.FAILED, 1)
    client.force_login(admin)
    page = client.get(f"{IMPORT_URL}{job.public_id}/status/").content.decode()
    assert "Nothing was imported" in page and "is also the external id of row 2" in page
    assert "Try again" in page and "hx-trigger" not in page
    assert _names(org) == {"Old Co"}

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"{IMPORT_URL}{job.public_id}/run/")
    assert _state(job) == (ImportState.FAILED, 2)  # tried again, and the file is still wrong


def test_only_a_stalled_job_offers_to_try_again(client, org, admin, existing):
    job = _queued(org, admin)
    client.force_login(admin)
    status = f"{IMPORT_URL}{job.public_id}/status/"
    page = client.get(status).content.decode()
    assert "Waiting for a worker to start the import of 2 rows" in page and "Try again" not in page
    with scopes_disabled():
        AccountImport.objects.filter(pk=job.pk).update(queued_at=timezone.now() - import_jobs.STALLED_AFTER * 2)
    page = client.get(status).content.decode()
    assert "its worker has stopped. Nothing was imported." in page and "Try again" in page


@pytest.mark.worker
def test_a_worker_killed_mid_import_leaves_nothing_written_and_a_job_to_try_again(real_worker, client, org, admin, existing):
    _, worker = real_worker
    with _account_locked(existing):
        job = _queued(org, admin)  # committed: the outbox sends it to the worker
        processes.wait_until(
            lambda: _backends("wait_event_type = 'Lock'"), lambda: "The worker never got to the import:\n" + worker.output
        )
        os.kill(worker.popen.pid, signal.SIGKILL)
    # Its database session ends with it, rolling back everything the import wrote.
    processes.wait_until(lambda: not _backends("xact_start IS NOT NULL"), "The killed worker's transaction lingers.")
    assert _state(job) == (ImportState.RUNNING, 1)
    assert _names(org) == {"Old Co"} and _imported_entries(org) == 0

    _stall(job)
    celery_app.conf.task_always_eager = True  # the worker is gone: the retry runs here, as it is sent
    client.force_login(admin)
    assert "Try again" in client.get(f"{IMPORT_URL}{job.public_id}/status/").content.decode()
    client.post(f"{IMPORT_URL}{job.public_id}/run/")
    assert _state(job) == (ImportState.DONE, 2) and _names(org) == {"Fresh Co", "Renamed Co"}


def test_old_uploads_and_imports_are_purged(org, admin):
    fresh = _queued(org, admin)
    abandoned, finished = _queued(org, admin), _queued(org, admin)
    with scopes_disabled():
        AccountImport.objects.filter(pk=abandoned.pk).update(
            state=ImportState.STAGED, created_at=timezone.now() - import_jobs.KEEP_STAGED - dt.timedelta(hours=1)
        )
        AccountImport.objects.filter(pk=finished.pk).update(
            state=ImportState.DONE, created_at=timezone.now() - import_jobs.KEEP_FINISHED - dt.timedelta(hours=1)
        )
    assert purge_imports.apply().get() == 2
    with scopes_disabled():
        assert list(AccountImport.objects.values_list("pk", flat=True)) == [fresh.pk]
