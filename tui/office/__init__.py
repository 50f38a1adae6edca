"""The office application: the pass list, its forms, the stations screen, the card preview (`make_app` in `app.py`)."""
