"""``python -m framefarm`` runs the command line."""

from framefarm.cli import main

raise SystemExit(main())
