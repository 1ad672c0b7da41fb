"""Other systems Tend syncs with: Stripe and HubSpot connections, sync runs, webhooks and
write-back (their issue fills this app).

Its migrations 0001–0004 made the product-usage tables, which ``usage`` now owns under
their old names; 0005 hands their models over (state only, no table touched).
"""

from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations"
