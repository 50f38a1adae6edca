"""The audit application: the log browser, its modals, the hourly chart (`make_app` in `app.py`)."""
