"""Co-op notices: written by staff, shown on members' home pages, optionally pushed."""
