"""The drawdown breaker seen from outside the stream app (``hfos breaker status``)."""
