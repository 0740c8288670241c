"""Staff console: members on paper statements, with the fee per issue."""
