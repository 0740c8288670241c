"""Staff console: profile change requests, reviewed and applied; the member is told."""
