"""stlora-plugin."""
