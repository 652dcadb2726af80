"""The executor service: trade signals in, orders or typed rejections out (SPEC §5)."""
