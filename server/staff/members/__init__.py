"""The staff console's members screen: find a member, help them by phone (E4, E5)."""
