"""Imports of members, statements and capital from the core system's CSV files."""
