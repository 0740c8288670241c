"""Capital contribution (出資金) figures, published each July."""
