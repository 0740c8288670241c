"""The staff console's access log screen: filter, page through, export CSV."""
