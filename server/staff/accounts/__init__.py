"""Admin-only screen: the co-op's staff accounts."""
