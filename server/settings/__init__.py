"""The member's settings page, built from one section per feature."""
