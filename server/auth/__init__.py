"""Signing in: accounts, passwords, sessions and blocking."""
