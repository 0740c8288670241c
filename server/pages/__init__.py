"""Home and the root-scoped PWA files."""
