"""Staff console: the inquiry inbox (E3)."""
