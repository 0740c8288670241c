"""Outgoing mail (and later push) through one outbox table and one sender."""
