"""exactlink: link an accounting firm's clients to Exact Online through one firm connection."""

__version__ = "0.1.0"
