"""The ``loopml`` command line: a lazy root group and one module per command group."""
