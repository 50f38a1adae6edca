"""scanner: frame sources, QR decoders and the decode pipeline. Imports nothing of ours, never Textual."""
