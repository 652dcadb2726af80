"""Strategy switches outside the stream worker: the view and the switch command."""
