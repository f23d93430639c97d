"""The Textual dashboard: the only package of nba_tui that imports textual."""
