"""Checks of a self-contained HTML page in Debian's headless Chromium: a screenshot that is not blank,
no console error or failed load, and the DOM as the browser built it."""

from __future__ import annotations

import shutil
import subprocess
import zlib
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--disable-background-networking",
         "--no-first-run", "--enable-logging=stderr", "--v=0"]


def png_pixels(path: Path) -> bytes:
    """The decompressed image data of a PNG (its distinct byte values tell a blank page from a drawn one)."""
    data, pos, chunks = path.read_bytes(), 8, []
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        if data[pos + 4 : pos + 8] == b"IDAT":
            chunks.append(data[pos + 8 : pos + 8 + length])
        pos += 12 + length
    return zlib.decompress(b"".join(chunks))


def outside_references(page: str) -> list[str]:
    return [a for a in ("src=", "@import", "url(", "<script", "<link", 'href="http') if a in page]


def render(page: Path, workdir: Path, size: str = "1200,1600") -> tuple[Path, str, list[str]]:
    """(screenshot, DOM, console/network error lines) of a page opened from disk."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, "Debian's chromium is missing: `make setup` installs it with apt-get"
    shot = workdir / f"{page.stem}.png"
    flags = [*FLAGS, f"--user-data-dir={workdir / 'profile'}"]
    proc = subprocess.run([browser, *flags, f"--screenshot={shot}", f"--window-size={size}", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert shot.is_file() and shot.stat().st_size > 10_000, proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if "CONSOLE" in line or "net::ERR" in line]
    dom = subprocess.run([browser, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120).stdout
    return shot, dom, errors


def render_live(url: str, workdir: Path, until: list[str], size: tuple[int, int] = (1400, 1000),
                timeout_s: float = 90) -> tuple[Path, str]:
    """(screenshot, page text) of a page served over HTTP (a single-page app that loads its data after the
    first paint), taken once every string of `until` shows in the page's text. Drives Chromium over the
    DevTools protocol; fails with the page's text when the strings never show."""
    import json
    import socket
    import time
    import urllib.request

    import websocket

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, "Debian's chromium is missing: `make setup` installs it with apt-get"
    deadline = time.monotonic() + timeout_s
    while True:  # the server is up before the browser opens the page
        try:
            urllib.request.urlopen(url.split("#")[0], timeout=2).read()
            break
        except OSError:
            assert time.monotonic() < deadline, f"{url} never answered"
            time.sleep(0.3)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([browser, *FLAGS, f"--user-data-dir={workdir / 'profile-live'}", f"--remote-debugging-port={port}",
                             f"--window-size={size[0]},{size[1]}", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                pages = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json", timeout=2).read())
                socket_url = next(p["webSocketDebuggerUrl"] for p in pages if p.get("type") == "page")
                break
            except (OSError, StopIteration, ValueError):
                assert time.monotonic() < deadline, "chromium's DevTools endpoint never answered"
                time.sleep(0.3)
        ws = websocket.create_connection(socket_url, timeout=timeout_s)
        counter = iter(range(1, 10**6))

        def call(method: str, **params) -> dict:
            ident = next(counter)
            ws.send(json.dumps({"id": ident, "method": method, "params": params}))
            while True:
                message = json.loads(ws.recv())
                if message.get("id") == ident:
                    return message.get("result", {})

        call("Emulation.setDeviceMetricsOverride", width=size[0], height=size[1], deviceScaleFactor=1, mobile=False)
        call("Page.navigate", url=url)
        text = ""
        while time.monotonic() < deadline:
            text = call("Runtime.evaluate", expression="document.body ? document.body.innerText : ''",
                        returnByValue=True).get("result", {}).get("value", "")
            if all(u in text for u in until):
                break
            time.sleep(0.5)
        assert all(u in text for u in until), f"the page never showed {until}: {text[:1500]!r}"
        time.sleep(1.0)  # let the last paint land
        import base64

        shot = workdir / "live.png"
        shot.write_bytes(base64.b64decode(call("Page.captureScreenshot", format="png")["data"]))
        ws.close()
        return shot, text
    finally:
        proc.kill()
        proc.wait()
