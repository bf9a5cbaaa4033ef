"""The real three / postprocessing in Debian's Chromium: a page per set of releases, served from
``tests/fidelity/js/node_modules`` through Playwright routes (no server, no network).

``visual_reference.js`` does the rendering; the page's import map picks the releases. WebGL2 comes
from ANGLE on SwiftShader (Chromium's CPU Vulkan), the only GL a headless CPU machine has.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from playwright.sync_api import Browser, Page, Route

from sandbox.browser import HEADLESS_ARGS

HERE = Path(__file__).resolve().parent
MODULES = HERE / "js" / "node_modules"
ORIGIN = "http://fidelity.test"
CHROMIUM_ARGS = [*HEADLESS_ARGS, "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]
READY_TIMEOUT_MS = 60_000


@dataclass(frozen=True)
class Libraries:
    """One set of npm packages (folder names under node_modules) and the releases they hold."""

    three: str
    postprocessing: str

    def release(self, package: str) -> str:
        data = json.loads((MODULES / package / "package.json").read_text("utf-8"))
        return str(data["version"])

    @property
    def label(self) -> str:
        three = self.release(self.three)
        return f"three {three}, postprocessing {self.release(self.postprocessing)}"

    def import_map(self) -> dict[str, Any]:
        return {
            "imports": {
                "three": f"/m/{self.three}/build/three.module.js",
                "three/addons/": f"/m/{self.three}/examples/jsm/",
                "postprocessing": f"/m/{self.postprocessing}/build/index.js",
            }
        }


CURRENT = Libraries("three", "postprocessing")
COMPAT_6_37_6 = Libraries("three-0.178.0", "postprocessing-6.37.6")


def _page_html(libraries: Libraries) -> str:
    return (
        "<!doctype html><html><body>"
        f'<script type="importmap">{json.dumps(libraries.import_map())}</script>'
        '<script type="module" src="/visual_reference.js"></script></body></html>'
    )


def _serve(route: Route, libraries: Libraries) -> None:
    path = route.request.url.removeprefix(ORIGIN).split("?", 1)[0]
    if path == "/":
        route.fulfill(body=_page_html(libraries), content_type="text/html")
        return
    if path == "/visual_reference.js":
        route.fulfill(path=str(HERE / "visual_reference.js"), content_type="text/javascript")
        return
    if path.startswith("/m/"):
        file = (MODULES / path.removeprefix("/m/")).resolve()
        if MODULES.resolve() in file.parents and file.is_file():
            route.fulfill(path=str(file), content_type="text/javascript")
            return
    route.fulfill(status=404, body=f"not served: {path}")


class ReferencePage:
    """A page with one set of releases loaded; ``render`` runs one frame through them."""

    def __init__(self, browser: Browser, libraries: Libraries) -> None:
        missing = [
            p for p in (libraries.three, libraries.postprocessing) if not (MODULES / p).is_dir()
        ]
        if missing:
            raise RuntimeError(f"{missing} not in {MODULES}: run scripts/bootstrap --browser")
        self.libraries = libraries
        self.errors: list[str] = []
        self.page: Page = browser.new_page()
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.route(f"{ORIGIN}/**", lambda route: _serve(route, libraries))
        self.page.goto(f"{ORIGIN}/")
        try:
            self.page.wait_for_function("window.referenceReady === true", timeout=READY_TIMEOUT_MS)
        except Exception as error:
            raise RuntimeError(f"reference page did not load: {self.errors}") from error
        self.info: dict[str, Any] = self.page.evaluate("referenceInfo()")
        if not self.info["webgl2"]:
            raise RuntimeError(f"no WebGL2 in Chromium: {self.info}")

    def render(self, spec: dict[str, Any], image: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
        """``image`` (h, w, 4) float32, rows bottom-first -> the canvas (h, w, 3), top row first."""
        height, width = image.shape[:2]
        pixels = base64.b64encode(np.ascontiguousarray(image, dtype="<f4").tobytes()).decode()
        full = {**spec, "width": width, "height": height}
        encoded = self.page.evaluate("([s, p]) => renderReference(s, p)", [full, pixels])
        rgba = np.frombuffer(base64.b64decode(encoded), dtype=np.uint8).reshape(height, width, 4)
        if self.errors:
            raise RuntimeError(f"reference page errors: {self.errors}")
        return rgba[::-1, :, :3].copy()

    def close(self) -> None:
        self.page.close()
