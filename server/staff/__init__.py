"""The co-op's staff console under /staff: staff accounts, passkey sign-in and its screens."""
