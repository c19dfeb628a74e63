"""The HTML report in a real headless Chromium, driven over the DevTools protocol on a pipe
(``--remote-debugging-pipe``: fd 3 in, fd 4 out, NUL-separated JSON; no extra dependency).

Checks: the page loads with no console error and no network request at all (every request
is recorded via Network events; a proxy that points nowhere makes any escape fail loudly),
the key facts are visible text, a hostile process name cannot run script, and a screenshot
is saved under $OOMLENS_ARTIFACTS (default tests/artifacts/, gitignored)."""

from __future__ import annotations

import base64
import fcntl
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from report_builder import analyse, explained_analysis, synth_log
from test_render import hostile_analysis

from oomlens.render import analysis_to_html

CHROMIUM = os.environ.get("OOMLENS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("OOMLENS_ARTIFACTS") or Path(__file__).parent / "artifacts")
TIMEOUT_S = 60.0


class Browser:
    """A minimal DevTools client over the pipe transport."""

    def __init__(self, profile: Path) -> None:
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def wire() -> None:  # in the child: fd 3 = commands, fd 4 = responses
            commands = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)  # out of 3/4's way first
            responses = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(commands, 3)  # dup2 copies are inheritable, so they survive exec
            os.dup2(responses, 4)

        self.proc = subprocess.Popen(
            [
                CHROMIUM,
                "--headless=new",
                "--remote-debugging-pipe",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--proxy-server=http://127.0.0.1:9",  # any request that escapes goes nowhere
                "--proxy-bypass-list=<-loopback>",
                f"--user-data-dir={profile}",
                "--window-size=1200,900",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=wire,
            close_fds=False,  # keep the fds wired above; Python's own fds are not inheritable
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._next_id = 0
        self._replies: dict[int, dict[str, Any]] = {}
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._lock = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(self._from_chrome, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                with self._lock:
                    self._replies[-1] = {"closed": True}
                    self._lock.notify_all()
                return
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "id" in message:
                    with self._lock:
                        self._replies[message["id"]] = message
                        self._lock.notify_all()
                else:
                    self.events.put(message)

    def send(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        ident = self._next_id
        message: dict[str, Any] = {"id": ident, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT_S
        with self._lock:
            while ident not in self._replies:
                if -1 in self._replies:
                    raise RuntimeError("chromium closed the DevTools pipe")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(method)
                self._lock.wait(remaining)
            reply = self._replies.pop(ident)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        result: dict[str, Any] = reply.get("result", {})
        return result

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_chrome, self._from_chrome):
            try:
                os.close(fd)
            except OSError:
                pass


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"chromium not found at {CHROMIUM}: scripts/test.sh installs it with apt")
    b = Browser(tmp_path_factory.mktemp("chromium-profile"))
    try:
        b.send("Browser.getVersion")
        yield b
    finally:
        b.close()


class Page:
    """What one page load did: requests, console errors, exceptions, dialogs."""

    def __init__(self, browser: Browser, url: str) -> None:
        self.browser = browser
        target = browser.send("Target.createTarget", url="about:blank")["targetId"]
        self.session = browser.send("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        self.target = target
        for domain in ("Page", "Network", "Runtime", "Log"):
            browser.send(f"{domain}.enable", self.session)
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.url = url
        browser.send("Page.navigate", self.session, url=url)
        self._pump(until="Page.loadEventFired")
        self._pump(until=None, seconds=0.5)  # late console messages and requests

    def _pump(self, until: str | None, seconds: float = TIMEOUT_S) -> None:
        deadline = time.monotonic() + seconds
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if until is not None:
                    raise TimeoutError(until)
                return
            try:
                event = self.browser.events.get(timeout=remaining)
            except queue.Empty:
                continue
            if event.get("sessionId") != self.session:
                continue
            method, params = event["method"], event.get("params", {})
            if method == "Network.requestWillBeSent":
                self.requests.append(params["request"]["url"])
            elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
                self.errors.append(json.dumps(params["args"])[:300])
            elif method == "Runtime.exceptionThrown":
                self.errors.append(json.dumps(params["exceptionDetails"])[:300])
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                self.errors.append(params["entry"]["text"])
            elif method == "Page.javascriptDialogOpening":
                self.dialogs.append(params.get("message", ""))
                self.browser.send("Page.handleJavaScriptDialog", self.session, accept=True)
            if method == until:
                return

    def evaluate(self, expression: str) -> Any:
        result = self.browser.send(
            "Runtime.evaluate", self.session, expression=expression, returnByValue=True
        )
        return result["result"].get("value")

    def emulate(self, media: str = "", features: list[dict[str, str]] | None = None) -> None:
        self.browser.send(
            "Emulation.setEmulatedMedia", self.session, media=media, features=features or []
        )

    def screenshot(self, path: Path) -> None:
        data = self.browser.send(
            "Page.captureScreenshot", self.session, format="png", captureBeyondViewport=True
        )["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        self.browser.send("Target.closeTarget", targetId=self.target)


def _open(browser: Browser, html_path: Path) -> Page:
    page = Page(browser, html_path.resolve().as_uri())
    assert page.requests == [page.url], f"network requests besides the page: {page.requests}"
    assert page.errors == [], page.errors
    assert page.dialogs == []
    return page


def test_report_loads_offline_with_the_facts_visible(browser: Browser, tmp_path: Path) -> None:
    analysis = explained_analysis(analyse(synth_log(tmp_path, n_tasks=60, era="6.1")))
    event = analysis.events[0]
    assert event.victim is not None and event.victim.comm is not None
    path = tmp_path / "report.html"
    path.write_text(analysis_to_html(analysis), encoding="utf-8")
    page = _open(browser, path)
    try:
        text = page.evaluate("document.body.innerText")
        assert isinstance(text, str)
        assert f"The kernel killed {event.victim.comm} (pid {event.victim.pid})" in text
        assert f"Primary cause: One process, {event.victim.comm}, used most of the memory" in text
        assert "What to change:" in text
        assert page.evaluate("document.querySelectorAll('svg.chart').length") >= 3
        assert page.evaluate("document.querySelectorAll('script').length") == 0
        # headings and table headers for assistive technology
        assert page.evaluate("document.querySelectorAll('h1').length") == 1
        assert page.evaluate("document.querySelectorAll('th[scope]').length") > 10
        # navigable without script: every in-page link has its target
        missing = page.evaluate(
            "[...document.querySelectorAll('a[href^=\"#\"]')]"
            ".map(a => a.getAttribute('href').slice(1))"
            ".filter(id => !document.getElementById(id))"
        )
        assert missing == []
        page.screenshot(ARTIFACTS / "report.png")
        assert (ARTIFACTS / "report.png").stat().st_size > 10_000
        background = "getComputedStyle(document.body).backgroundColor"
        light = page.evaluate(background)
        page.emulate(features=[{"name": "prefers-color-scheme", "value": "dark"}])
        dark = page.evaluate(background)
        assert light == "rgb(255, 255, 255)" and dark != light
        page.screenshot(ARTIFACTS / "report-dark.png")
        page.emulate(media="print")
        assert page.evaluate("getComputedStyle(document.querySelector('nav.toc')).display") == (
            "none"
        )
        assert page.evaluate(background) == "rgb(255, 255, 255)"
    finally:
        page.close()


@pytest.mark.parametrize(
    "name",
    [
        "<script>window.__xss=1;alert(1)</script>",
        '"><img src=x onerror="window.__xss=1;alert(1)">',
        "<svg onload=window.__xss=1>",
    ],
    ids=["script", "img", "svg"],
)
def test_hostile_name_cannot_run_script(browser: Browser, tmp_path: Path, name: str) -> None:
    path = tmp_path / "hostile.html"
    path.write_text(analysis_to_html(hostile_analysis(tmp_path, name)), encoding="utf-8")
    page = _open(browser, path)
    try:
        assert page.evaluate("typeof window.__xss") == "undefined"
        assert page.dialogs == []
        assert page.evaluate("document.querySelectorAll('script, img').length") == 0
        text = page.evaluate("document.body.innerText")
        assert isinstance(text, str) and f"The kernel killed {name}" in text  # shown as text
        page.screenshot(ARTIFACTS / f"hostile-{len(name)}.png")
    finally:
        page.close()


def test_every_event_of_a_corpus_style_log_is_visible(browser: Browser, tmp_path: Path) -> None:
    from conftest import EXAMPLE_LOG

    analysis = analyse(EXAMPLE_LOG)
    path = tmp_path / "example.html"
    path.write_text(analysis_to_html(analysis), encoding="utf-8")
    page = _open(browser, path)
    try:
        text = page.evaluate("document.body.innerText")
        for event in analysis.events:
            assert event.victim is not None
            assert f"The kernel killed {event.victim.comm} (pid {event.victim.pid})" in text
        assert "Timeline" in text
        for explained in analysis.explained:
            assert explained.primary is not None
            assert f"Primary cause: {explained.primary.title}" in text
        page.screenshot(ARTIFACTS / "example.png")
    finally:
        page.close()
