"""checkpoint: the headless core — passes, keys, the decision policy, the traffic log.

Importing this package never loads Textual or OpenCV; the command-line entry (`checkpoint.cli`) is the
one place that reaches for them, inside the subcommand that needs them.
"""

__version__ = "0.1.0"
