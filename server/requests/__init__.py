"""Member requests and the account's life: profile changes, email change, stopping the service."""
