from nba_tui.cli import main

raise SystemExit(main())
