"""The policy store outside the stream app: the reader (Redis first, own view as fallback)
and the client that submits policy commands."""
