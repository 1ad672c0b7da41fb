"""Accounts: the customer companies, their contacts, tiers, stages, handoffs, timeline and tasks."""
