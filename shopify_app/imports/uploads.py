"""Storing an upload: copied in chunks into the shop's import folder, hashed and size-checked.

Kept apart from validation because it is plain file handling: the preview, the command line
and the duplicate-file check all start from the path and sha256 it returns.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import IO

from flask import current_app

from shopify_app.imports.reading import MAX_FILE_BYTES
from shopify_app.platform.errors import ImportFileError
from shopify_app.platform.models import Shop

CHUNK_BYTES = 1024 * 1024


def import_dir(shop: Shop) -> Path:
    path = Path(current_app.config["IMPORT_DIR"]) / str(shop.id)
    path.mkdir(parents=True, exist_ok=True)
    return path


def store_upload(shop: Shop, stream: IO[bytes]) -> tuple[Path, str, int]:
    """Copy the upload to the shop's import folder in chunks; returns (path, sha256, size)."""
    path = import_dir(shop) / f"{uuid.uuid4().hex}.csv"
    digest, size = hashlib.sha256(), 0
    # The same limit the request guard applies from Content-Length (also for CLI files).
    limit = min(int(current_app.config["MAX_UPLOAD_BYTES"]), MAX_FILE_BYTES)
    try:
        with open(path, "wb") as out:
            while chunk := stream.read(CHUNK_BYTES):
                size += len(chunk)
                if size > limit:
                    raise ImportFileError(
                        f"The file is over the limit of {limit / 1024 / 1024:g} MB. "
                        "Split it into smaller files."
                    )
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, digest.hexdigest(), size
