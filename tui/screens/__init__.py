"""The screens of the station, office and audit applications."""
