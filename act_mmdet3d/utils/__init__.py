"""Helpers the tools share (one place for each job)."""
