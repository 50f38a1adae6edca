"""Widgets shared by two or more of the applications (one app's own widgets live in its package)."""
