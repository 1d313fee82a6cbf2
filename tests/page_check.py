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
