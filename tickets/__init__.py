"""Tickets: support tickets, messages, SLA policies and escalation."""
