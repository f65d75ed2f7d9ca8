"""A small Chrome DevTools Protocol client over `--remote-debugging-pipe`, for headless Chromium.

tests/browser.py only loads pages; the import flow needs a file chosen in a form, clicks, keys
and a download, so this drives Debian's chromium through the protocol's pipe (no extra packages).
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from tests.browser import CHROMIUM_FLAGS, chromium_path


class Browser:
    def __init__(self, download_dir: Path, size: str = "1280,1000") -> None:
        self.profile = tempfile.TemporaryDirectory()
        low_read, self._commands = os.pipe()
        self._replies, low_write = os.pipe()
        # Far from 3 and 4, so wiring one end into 3 cannot clobber the other.
        child_read = fcntl.fcntl(low_read, fcntl.F_DUPFD, 100)
        child_write = fcntl.fcntl(low_write, fcntl.F_DUPFD, 100)
        os.close(low_read)
        os.close(low_write)
        # Chromium reads commands on fd 3 and writes replies on fd 4; bash wires them
        # (dash takes no fd above 9).
        wiring = f'exec "$0" "$@" 3<&{child_read} 4>&{child_write}'
        self.process = subprocess.Popen(
            [
                "/bin/bash",
                "-c",
                wiring,
                chromium_path(),
                *CHROMIUM_FLAGS,
                f"--user-data-dir={self.profile.name}",
                f"--window-size={size}",
                "--remote-debugging-pipe",
                "about:blank",
            ],
            pass_fds=(child_read, child_write),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(child_read)
        os.close(child_write)
        self._next_id = 0
        self._pending: dict[int, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        self.call(
            "Browser.setDownloadBehavior",
            behavior="allow",
            downloadPath=str(download_dir),
            eventsEnabled=True,
        )
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        for domain in ("Page", "Runtime"):
            self.call(f"{domain}.enable", session=True)

    def _read(self) -> None:
        buffer = b""
        with os.fdopen(self._replies, "rb", buffering=0) as stream:
            while chunk := stream.read(65536):
                buffer += chunk
                while b"\0" in buffer:
                    raw, buffer = buffer.split(b"\0", 1)
                    message = json.loads(raw)
                    with self._lock:
                        if "id" in message:
                            self._pending[message["id"]] = message
                        else:
                            self.events.append(message)
                        self._lock.notify_all()

    def call(self, method: str, *, session: bool = False, timeout: float = 30, **params) -> dict:
        with self._lock:
            self._next_id += 1
            message_id = self._next_id
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        with self._lock:
            while message_id not in self._pending:
                if not self._lock.wait(timeout=max(deadline - time.monotonic(), 0)):
                    raise TimeoutError(method)
            reply = self._pending.pop(message_id)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def evaluate(self, expression: str) -> Any:
        result = self.call(
            "Runtime.evaluate", session=True, expression=expression, returnByValue=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")

    def navigate(self, url: str) -> None:
        self.call("Page.navigate", session=True, url=url)
        self.wait_for("document.readyState === 'complete'")

    def wait_for(self, expression: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.evaluate(f"!!({expression})"):
                    return
            except RuntimeError:
                pass  # the page is navigating: ask again
            time.sleep(0.1)
        raise AssertionError(f"not true within {timeout}s: {expression}")

    def set_file(self, selector: str, path: Path) -> None:
        node = self.call(
            "Runtime.evaluate", session=True, expression=f"document.querySelector({selector!r})"
        )["result"]
        self.call(
            "DOM.setFileInputFiles", session=True, files=[str(path)], objectId=node["objectId"]
        )

    def click(self, selector: str) -> None:
        """A real left click (trusted mouse events) in the middle of the element."""
        x, y = self.evaluate(
            f"(() => {{ const el = document.querySelector({selector!r});"
            " el.scrollIntoView({block: 'center'}); const r = el.getBoundingClientRect();"
            " return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call(
                "Input.dispatchMouseEvent",
                session=True,
                type=kind,
                x=x,
                y=y,
                button="left" if kind != "mouseMoved" else "none",
                clickCount=1,
            )

    KEYS = {"Tab": 9, "Escape": 27, "Enter": 13}

    def press(self, key: str, *, shift: bool = False) -> None:
        """A real key press (Tab, Escape, Enter), as the keyboard sends it."""
        for kind in ("rawKeyDown", "keyUp"):
            self.call(
                "Input.dispatchKeyEvent",
                session=True,
                type=kind,
                key=key,
                code=key,
                windowsVirtualKeyCode=self.KEYS[key],
                modifiers=8 if shift else 0,
            )

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", session=True, format="png")["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def console_errors(self) -> list[str]:
        with self._lock:
            events = list(self.events)
        errors = []
        for event in events:
            if event.get("method") == "Runtime.exceptionThrown":
                errors.append(json.dumps(event["params"]["exceptionDetails"])[:500])
            if (
                event.get("method") == "Runtime.consoleAPICalled"
                and event["params"]["type"] == "error"
            ):
                errors.append(json.dumps(event["params"]["args"])[:500])
        return errors

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout=5)
        except (TimeoutError, RuntimeError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._commands)
        self.profile.cleanup()
