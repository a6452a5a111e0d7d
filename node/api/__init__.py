"""The node's REST API (FastAPI "bigger applications" layout: routes/, deps, schemas)."""
