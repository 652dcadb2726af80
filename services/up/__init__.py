"""``hfos up``: the whole desk as one supervised session (plan, children, readiness,
the live line, the model promotion)."""
