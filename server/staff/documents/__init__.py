"""Staff console: the joining and leaving forms (PDF) members download from /help/forms."""
