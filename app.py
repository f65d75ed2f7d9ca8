"""The one entry point for `flask --app app …` and gunicorn (`gunicorn app:app`)."""

from shopify_app import create_app

app = create_app()
