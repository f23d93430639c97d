"""`python -m nba_tui`: the same entry point as the `nba-tui` script."""

from nba_tui.cli import main

raise SystemExit(main())
