"""Mail: the templates, sealed bodies, the outbox's SMTP channel and development's catcher."""
