"""``hfos demo``: the seven scenarios of SPEC §9, run end to end on real servers and judged
from the events on their topics.

Layout: :mod:`.model`, :mod:`.events`, :mod:`.checks`, :mod:`.timeline` and the scenarios
(:mod:`.scenarios`, a script and a judge each) are pure; :mod:`.reader`, :mod:`.feed`,
:mod:`.desk`, :mod:`.driver` and :mod:`.chaos` are the edges to Kafka, the simulator,
the services and the local stack; :mod:`.runner` runs a scenario; :mod:`.console`,
:mod:`.plots` and :mod:`.report` show the results.
"""
