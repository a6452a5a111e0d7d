"""The customs node service each administration runs (API, listener, risk hooks)."""
