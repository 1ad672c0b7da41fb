"""Usage ingestion: Segment's HTTP API and Mixpanel's ``/import``, parsed (``parse``), stored in
bulk (``store``) with the people behind the events (``identities``)."""
