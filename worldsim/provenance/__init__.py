"""Provenance: a visible watermark, signed content credentials, a likeness-consent registry and
a prompt filter on the generation path."""
