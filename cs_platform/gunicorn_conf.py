"""gunicorn's settings for Tend's web process: ``gunicorn -c python:cs_platform.gunicorn_conf``.

Used by ``manage.py serve``, the Dockerfile (so docker-compose) and ``bench/``. Its access
log leaves out what may carry a secret: the HTTP Basic user (Segment's clients send the
write key there), the query string and the Referer (links carry tokens).
"""

from cs_platform import logs

wsgi_app = "cs_platform.wsgi:application"
# Address, method, path without its query, status, bytes, duration, user agent.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'
accesslog = "-"
# Before Django loads: redacts gunicorn's own records too (the markers follow with Django).
logs.install()
