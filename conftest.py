"""The fixed cast of every test: an organization with a member of each role, and a
stranger who is an admin of another organization and must see nothing of the first."""

from __future__ import annotations

import pytest
from django.conf import settings
from django_scopes import scope

from cs_platform import celery_app
from cs_platform.models import Organization, Role, User
from tests import processes
from tests.factories import PASSWORD, OrganizationFactory, member


@pytest.fixture
def org(db) -> Organization:
    return OrganizationFactory(name="FlowFuse", slug="flowfuse")


@pytest.fixture
def other_org(db) -> Organization:
    return OrganizationFactory(name="Elsewhere Inc", slug="elsewhere")


@pytest.fixture
def admin(org) -> User:
    return member(org, Role.ADMIN, email="admin@flowfuse.example", full_name="Priya Shah")


@pytest.fixture
def csm(org) -> User:
    return member(org, Role.CSM, email="csm@flowfuse.example", full_name="Sofia Marin")


@pytest.fixture
def viewer(org) -> User:
    return member(org, Role.VIEWER, email="viewer@flowfuse.example")


@pytest.fixture
def stranger(other_org) -> User:
    """An admin, but of another organization."""
    return member(other_org, Role.ADMIN, email="stranger@elsewhere.example")


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def in_org(org):
    """Run a block inside ``org``'s scope, as a request or task would."""
    with scope(organization=org):
        yield org


@pytest.fixture
def as_admin(client, admin):
    client.force_login(admin)
    return client


@pytest.fixture
def real_worker(transactional_db, tmp_path):
    """A ``celery worker`` process on this test run's own queue, mailing into ``tmp_path / "mail"``;
    while it runs, tasks sent here go to it rather than running in the test."""
    mail_dir = tmp_path / "mail"
    env = processes.tend_env(redis_url=settings.REDIS_URL, queue=settings.CELERY_TASK_DEFAULT_QUEUE, mail_dir=mail_dir)
    with processes.celery_worker(env) as output:
        celery_app.conf.task_always_eager = False
        try:
            yield mail_dir, output
        finally:
            celery_app.conf.task_always_eager = True
