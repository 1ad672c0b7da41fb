"""The machine interface: per-organization API tokens and the read-only JSON API under /api/v1/."""
