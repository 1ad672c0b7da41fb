"""The demo organizations ``make demo`` shows: FlowFuse (seed 001's company) with ~300 accounts
and 18 months of history, and a small second organization. Built through every app's
services, so this app sits above them all (``builders.BUILDERS`` says in which order)."""
