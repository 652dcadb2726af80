"""The emergency stop outside the stream app: reading its state, sending commands."""
