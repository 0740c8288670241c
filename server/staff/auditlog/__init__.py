"""The staff console's access log screen (E6): filter, page through, export CSV."""
