"""Push notices (Web Push) for new statements and other member notices."""
