"""The web UI: Starlette routes, Jinja2 templates, static assets; calls `appliance` services."""
