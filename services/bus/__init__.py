"""The event bus edges outside Faust: an idempotent producer and a committing consumer."""
