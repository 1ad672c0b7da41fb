"""The fixed cast of every test: an organization with a member of each role, and a
stranger who is an admin of another organization and must see nothing of the first."""

from __future__ import annotations

import os

import pytest
from django_scopes import scope
from hypothesis import settings as hypothesis_settings

from cs_platform import celery_app
from cs_platform.models import Organization, Role, User
from tests import processes
from tests.factories import PASSWORD, OrganizationFactory, member

# A private PostgreSQL server standing for a customer's product database (connector tests).
pytest_plugins = ["tests.product_db"]

# Test modules whose tests run in one test process, because they share a costly module
# fixture (the seeded demo): seeded once a run, not once per process that picks a test.
SHARED_PROCESS_MODULES = frozenset({"demo/tests/test_demo.py"})


def pytest_xdist_make_scheduler(config, log):
    """pytest-xdist's load scheduling, but for ``SHARED_PROCESS_MODULES``, each sent whole to one
    process. (xdist's own ``loadgroup`` groups by a node id suffix that pytest 9.2 no longer keeps.)"""
    from xdist.scheduler import LoadScopeScheduling

    class Scheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module in SHARED_PROCESS_MODULES else nodeid

    return Scheduling(config, log)

# Property tests: "ci" is bounded and repeatable (the same examples every run, no timing);
# HYPOTHESIS_PROFILE=thorough looks much harder, for a run by hand.
hypothesis_settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True, database=None)
hypothesis_settings.register_profile("thorough", max_examples=1000, deadline=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


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
    with processes.celery_worker(**processes.mail_to(mail_dir)) as worker:
        celery_app.conf.task_always_eager = False
        try:
            yield mail_dir, worker
        finally:
            celery_app.conf.task_always_eager = True
