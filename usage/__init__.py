"""Integrations: Stripe, HubSpot and product-usage ingestion, sync runs and webhooks."""
