"""Long-running services and operator tools outside Faust, including the ``hfos`` CLI."""
