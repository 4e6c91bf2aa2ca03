"""A small W3C WebDriver client over urllib, enough to drive headless Chromium in tests.

It talks to Debian's chromedriver on a loopback port; nothing else is contacted.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C element key
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
)


class WebDriverError(RuntimeError):
    pass


def ensure_chromium() -> tuple[str, str] | str:
    """(chromium, chromedriver) paths, installing Debian's packages if needed; else why not."""

    def found() -> tuple[str, str] | None:
        browser = shutil.which("chromium") or shutil.which("chromium-browser")
        driver = shutil.which("chromedriver")
        return (browser, driver) if browser and driver else None

    have = found()
    if have:
        return have
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return "chromium/chromedriver missing and apt-get cannot install them (not root)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for args in (
        ["apt-get", "update", "-q"],
        [
            "apt-get",
            "install",
            "-y",
            "-q",
            "--no-install-recommends",
            "chromium",
            "chromium-driver",
        ],
    ):
        done = subprocess.run(
            args, capture_output=True, text=True, env=env, timeout=900, check=False
        )
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:]
            return f"{' '.join(args[:2])} failed: {tail[0] if tail else done.returncode}"
    return found() or "chromium/chromedriver still missing after apt-get install"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Browser:
    def __init__(self, chromium: str, chromedriver: str, profile: Path) -> None:
        self.port = _free_port()
        self.log = open(profile.parent / "chromedriver.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [chromedriver, f"--port={self.port}"], stdout=self.log, stderr=subprocess.STDOUT
        )
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                if self._call("GET", "/status").get("ready"):
                    break
            except (OSError, WebDriverError):
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                raise WebDriverError("chromedriver did not start")
            time.sleep(0.1)
        options = {
            "binary": chromium,
            "args": [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"],
        }
        caps = {
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": options,
                    "goog:loggingPrefs": {"browser": "ALL"},
                }
            }
        }
        try:
            self.session = self._call("POST", "/session", caps)["sessionId"]
        except Exception:
            self.close()
            raise

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                payload = json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            payload = json.loads(exc.read() or b"{}")
            raise WebDriverError(f"{method} {path}: {payload.get('value', payload)}") from None
        return payload.get("value", payload)

    def s(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return self._call(method, f"/session/{self.session}{path}", body)

    def get(self, url: str) -> None:
        self.s("POST", "/url", {"url": url})

    def find_all(self, css: str) -> list[str]:
        found = self.s("POST", "/elements", {"using": "css selector", "value": css})
        return [e[ELEMENT] for e in found]

    def find(self, css: str) -> str:
        found = self.find_all(css)
        if not found:
            raise WebDriverError(f"no element matches {css!r}")
        return found[0]

    def text(self, element: str) -> str:
        value: str = self.s("GET", f"/element/{element}/text")
        return value

    def displayed(self, element: str) -> bool:
        return bool(self.s("GET", f"/element/{element}/displayed"))

    def css(self, element: str, prop: str) -> str:
        value: str = self.s("GET", f"/element/{element}/css/{prop}")
        return value

    def attribute(self, element: str, name: str) -> str | None:
        value: str | None = self.s("GET", f"/element/{element}/attribute/{name}")
        return value

    def click(self, element: str) -> None:
        self.s("POST", f"/element/{element}/click", {})

    def url(self) -> str:
        value: str = self.s("GET", "/url")
        return value

    def title(self) -> str:
        value: str = self.s("GET", "/title")
        return value

    def browser_log(self) -> list[dict[str, Any]]:
        """Console messages (CSP violations show here); [] if this chromedriver has no log."""
        try:
            entries: list[dict[str, Any]] = self.s("POST", "/se/log", {"type": "browser"})
            return entries
        except WebDriverError:
            return []

    def screenshot(self, path: Path) -> None:
        path.write_bytes(base64.b64decode(self.s("GET", "/screenshot")))

    def close(self) -> None:
        try:
            if getattr(self, "session", None):
                self.s("DELETE", "")
        except (OSError, WebDriverError):
            pass
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
