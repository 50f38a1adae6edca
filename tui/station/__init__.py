"""The station application: the check-in screen, its forms and its widgets (`make_app` in `app.py`)."""
