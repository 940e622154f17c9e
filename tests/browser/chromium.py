"""A headless chromium driven over the Chrome DevTools Protocol, with nothing but aiohttp.

No selenium or playwright (their drivers download browsers): Debian's chromium is started with
``--remote-debugging-port=0``, writes the port it chose into its profile folder, and the test
talks to the page over one websocket. ``evaluate`` runs JavaScript in the page and returns the
value; ``type_into`` focuses an element and inserts text the way a keyboard does (the page sees
real ``input`` events), so a test asserts on what a reviewer would see and do.

Without chromium the tests skip with the reason; with ``SYNCER_REQUIRE_BROWSER=1`` (CI, which
installs chromium through ``.ci/browser``) they fail instead.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import pytest
from anyio.abc import Process

REQUIRE_ENV = "SYNCER_REQUIRE_BROWSER"
CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--remote-allow-origins=*",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)
STARTUP_SECONDS = 30.0


def chromium_or_skip() -> str:
    """The chromium executable; skips the test (or fails it in CI) when there is none."""
    for candidate in CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    reason = "chromium is not installed (CI installs it with .ci/browser: apt-get install chromium)"
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(f"{reason}, but {REQUIRE_ENV} demands the browser tests run")
    pytest.skip(reason)


class CdpError(Exception):
    pass


class Page:
    """One browser tab, spoken to over its DevTools websocket."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self._socket = socket
        self._ids = itertools.count(1)

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and wait for its reply (events arriving meanwhile are ignored)."""
        message_id = next(self._ids)
        await self._socket.send_json({"id": message_id, "method": method, "params": params})
        while True:
            reply = await self._socket.receive_json()
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise CdpError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result

    async def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (JSON-serialisable values only)."""
        result = await self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise CdpError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def open(self, url: str) -> None:
        """Load ``url`` (e.g. ``path.as_uri()``) and wait until the page and its scripts ran."""
        await self.send("Page.navigate", url=url)
        with anyio.fail_after(STARTUP_SECONDS):
            # The page lives in another process: polling its state is the only way to wait.
            while await self.evaluate("document.readyState") != "complete":  # noqa: ASYNC110
                await anyio.sleep(0.05)

    async def type_into(self, selector: str, text: str) -> None:
        """Focus the element, select what it holds and type ``text`` over it, as a keyboard
        would (the page sees the same ``input`` events)."""
        focused = await self.evaluate(
            f"(() => {{ const e = document.querySelector({selector!r}); "
            "if (!e) return false; e.focus(); e.select(); return true; })()"
        )
        if not focused:
            raise CdpError(f"nothing matches {selector!r}")
        await self.send("Input.insertText", text=text)

    async def visible_text(self, selector: str = "body") -> str:
        """What the page shows inside the first match (hidden elements contribute nothing)."""
        text = await self.evaluate(
            f"(() => {{ const e = document.querySelector({selector!r}); "
            "return e ? e.innerText : null; })()"
        )
        if text is None:
            raise CdpError(f"nothing matches {selector!r}")
        return str(text)

    async def visible_count(self, selector: str) -> int:
        """How many matches of ``selector`` are rendered (not hidden by the page's filter)."""
        count = await self.evaluate(
            f"[...document.querySelectorAll({selector!r})]"
            ".filter(e => e.getClientRects().length > 0).length"
        )
        return int(count)


async def _devtools_port(profile: Path, process: Process) -> int:
    marker = profile / "DevToolsActivePort"
    with anyio.fail_after(STARTUP_SECONDS):
        while not marker.exists() or not marker.read_text().strip():
            if process.returncode is not None:
                raise CdpError(f"chromium exited early with code {process.returncode}")
            await anyio.sleep(0.05)
    return int(marker.read_text().splitlines()[0])


@asynccontextmanager
async def headless_page(executable: str, profile: Path) -> AsyncIterator[Page]:
    """A fresh headless chromium (its own profile folder) with one blank tab."""
    command = [executable, *FLAGS, f"--user-data-dir={profile}", "about:blank"]
    async with await anyio.open_process(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ) as process:
        try:
            port = await _devtools_port(profile, process)
            async with aiohttp.ClientSession() as http:
                async with http.get(f"http://127.0.0.1:{port}/json/list") as response:
                    targets = await response.json()
                page_url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
                async with http.ws_connect(page_url, max_msg_size=0) as socket:
                    page = Page(socket)
                    await page.send("Page.enable")
                    await page.send("Runtime.enable")
                    yield page
        finally:
            process.terminate()
            with anyio.move_on_after(5):
                await process.wait()
            if process.returncode is None:
                process.kill()
