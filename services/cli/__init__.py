"""The ``hfos`` command line: a module per command group."""
