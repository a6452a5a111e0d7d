"""The officers' dashboard served by each node (`/dashboard/`); see `routes.py`."""

from node.dashboard.routes import install_dashboard

__all__ = ["install_dashboard"]
