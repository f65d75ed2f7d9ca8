"""gunicorn settings (the Procfile's `web`): its logs never hold a session token.

Loaded explicitly by the Procfile, and by gunicorn itself whenever it starts in this folder.
"""

logger_class = "shopify_app.platform.log_redaction.RedactingLogger"
