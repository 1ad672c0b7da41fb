"""QBRs: eligibility, scheduling, documents and action items."""
