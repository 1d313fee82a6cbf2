"""Unattended jobs built on the tools (later: label and audit)."""
