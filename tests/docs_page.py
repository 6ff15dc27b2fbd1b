"""The /docs page in headless Chromium, with every host but the local server
unreachable: Swagger UI must load from the binary, fetch /openapi.json and render
every documented operation. Keeps a screenshot and checks that it shows the
rendered page (Swagger UI's GET-blue and POST-green operation bars).

Usage: python tests/docs_page.py BASE_URL SCREENSHOT.png
"""

import json
import subprocess
import sys
import tempfile
import urllib.request

from PIL import Image

WIDTH, HEIGHT = 1280, 1600
GET_BLUE = (97, 175, 254)  # #61affe
POST_GREEN = (73, 204, 144)  # #49cc90


def chromium(base, *args):
    with tempfile.TemporaryDirectory() as profile:
        # As root Chromium needs --no-sandbox; the background-networking flags keep it
        # from calling home. The resolver rule makes every other host fail, so a page
        # that needed a CDN would not render.
        command = [
            "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={profile}",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--virtual-time-budget=15000", *args, f"{base}/docs",
        ]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


def main(base, screenshot):
    with urllib.request.urlopen(f"{base}/openapi.json") as response:
        document = json.load(response)
    documented = set(document["paths"])
    assert len(documented) >= 8, documented

    dom = chromium(base, "--dump-dom").stdout
    assert "Failed to load API definition" not in dom, "Swagger UI could not load the document"
    rendered = {path for path in documented if f'data-path="{path}"' in dom}
    missing = documented - rendered
    assert not missing, f"operations not rendered: {sorted(missing)}"
    assert document["info"]["title"] in dom

    chromium(base, f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={screenshot}")
    image = Image.open(screenshot).convert("RGB")
    assert image.size == (WIDTH, HEIGHT), image.size
    colours = image.getcolors(maxcolors=WIDTH * HEIGHT)
    counts = {colour: count for count, colour in colours}
    blue, green = counts.get(GET_BLUE, 0), counts.get(POST_GREEN, 0)
    white = counts.get((255, 255, 255), 0)
    assert blue > 2000 and green > 2000, f"no operation bars: blue {blue}, green {green}"
    assert white < 0.95 * WIDTH * HEIGHT, "the page is blank"
    print(f"docs page: {len(rendered)} operations rendered; screenshot {screenshot} "
          f"({len(colours)} colours, GET-blue {blue} px, POST-green {green} px)")


if __name__ == "__main__":
    main(sys.argv[1].rstrip("/"), sys.argv[2])
