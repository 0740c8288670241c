"""Staff console: profile change requests (E2)."""
