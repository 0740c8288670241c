"""Passkeys (WebAuthn) alongside passwords: register, sign in, list, rename, remove."""
