"""Health: versioned health models, measures, nightly snapshots and the at-risk dashboard."""
