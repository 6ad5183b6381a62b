"""One module per ``promise`` command; each exposes ``register(app)``."""
