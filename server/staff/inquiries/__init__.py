"""Staff console: the inquiry inbox, where clerks read and answer members' inquiries."""
