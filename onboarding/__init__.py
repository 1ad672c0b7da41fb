"""Onboarding: checklist templates per tier, plans, milestones and time-to-value."""
