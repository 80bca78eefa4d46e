"""rollbridge: connector hub between French schools' planning systems and Edusign."""

__version__ = "0.1.0"
