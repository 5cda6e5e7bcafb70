"""The web service: the FastAPI app factory, the REST API routers (``web/api``) and, with a
later issue, the dashboard's pages."""

from ssots.web.app import create_app

__all__ = ["create_app"]
