"""Headless pictures of what the model does (tools/visualize.py, hooks)."""
