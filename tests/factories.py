"""Factories for the tenancy core; later apps keep theirs in their own test modules."""

from __future__ import annotations

import factory
from django_scopes import scopes_disabled

from cs_platform.models import Membership, Organization, Role, User
from cs_platform.services import organization_set_up

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class OrganizationFactory(factory.django.DjangoModelFactory):
    """An organization as ``organization_create`` leaves it (every app's set-up done), without a creator."""

    class Meta:
        model = Organization
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Organization {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")

    @factory.post_generation
    def set_up(obj, create, extracted, **kwargs):
        if create:
            organization_set_up(organization=obj)


def member(organization: Organization, role: str = Role.CSM, **user_fields) -> User:
    """A new person with ``role`` in ``organization``."""
    user = UserFactory(**user_fields)
    # Test set-up stands outside any request, so it writes without a scope.
    with scopes_disabled():
        Membership.objects.create(organization=organization, user=user, role=role)
    return user
