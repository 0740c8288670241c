"""Pure helpers with no web imports."""
