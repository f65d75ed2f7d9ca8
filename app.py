"""The one entry point for `flask --app app …` and gunicorn (`gunicorn app:app`).

The worker's commands and the demo's command and pages are added here: the runtime package
does not import its own bootstrap, and never imports the demo.
"""

import demo
from shopify_app import create_app, worker

app = create_app()
app.cli.add_command(worker.worker)
app.cli.add_command(worker.sweep)
demo.init_app(app)
