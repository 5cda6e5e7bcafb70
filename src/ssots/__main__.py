"""``python -m ssots`` runs the command line."""

from ssots.cli import main

main()
