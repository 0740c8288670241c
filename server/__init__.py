"""Co-op My Page: the member portal of a school consumer co-operative."""
