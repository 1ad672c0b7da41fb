"""The Celery application: one for web, worker and beat, configured from Django settings."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cs_platform.settings")

app = Celery("tend")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
