"""Churn: churn cases, the churn procedure, reasons, save plays and retention metrics."""
