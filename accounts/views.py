"""Accounts pages (being written)."""

from django.http import Http404


def portfolio(request, **kwargs):
    raise Http404


def account_detail(request, **kwargs):
    raise Http404


def account_edit(request, **kwargs):
    raise Http404


def activity_create(request, **kwargs):
    raise Http404


def account_tier(request, **kwargs):
    raise Http404


def account_stage(request, **kwargs):
    raise Http404


def contact_create(request, **kwargs):
    raise Http404


def contact_left(request, **kwargs):
    raise Http404


def task_create(request, **kwargs):
    raise Http404


def my_tasks(request, **kwargs):
    raise Http404


def task_complete(request, **kwargs):
    raise Http404


def handoff_list(request, **kwargs):
    raise Http404


def handoff_create(request, **kwargs):
    raise Http404


def account_settings(request, **kwargs):
    raise Http404


def tier_edit(request, **kwargs):
    raise Http404


def stage_edit(request, **kwargs):
    raise Http404
