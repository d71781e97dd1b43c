"""``python -m loopml`` runs the CLI."""

from loopml.cli.main import main

main()
