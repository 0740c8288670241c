"""The staff console's notices screen: write, list and withdraw co-op notices."""
