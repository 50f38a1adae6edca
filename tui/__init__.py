"""tui: the Textual applications (station, office, audit)."""
