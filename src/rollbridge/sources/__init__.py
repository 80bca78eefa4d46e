"""Planning-system connectors: one module per system, `base.py` for the port."""
