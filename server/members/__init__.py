"""Members: the co-op's own records, imported from its core system."""
