"""Product-database connectors (seed 001): a read-only query against the product's own
PostgreSQL, run on a schedule, whose ``(account_external_id, day, metric, value)`` rows
become ``UsageDaily`` rows of source ``connector``: ``dsn`` (where it may connect),
``reading`` (the query and its rows), ``services``, ``selectors`` and the admins' pages."""
