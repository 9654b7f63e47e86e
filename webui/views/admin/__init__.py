"""Admin pages, one module per page family: users, settings, status, templates, emergency.

Nothing here shows PHI.
"""
