"""Copy browser tests' screenshots into docs/, made small enough to keep in git.

    make screenshots

runs the console's browser tests and the public pages' accessibility tests with
``CERTREG_SCREENSHOTS=folder`` (each test saves the pages it visits) and then this script,
``shrink.py SOURCE TARGET [NAME...]``, which keeps the pages a document shows (the console's by
default; else the NAMEs), scaled to 900 pixels wide and reduced to a 64-colour palette (text and
tables stay sharp).
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

#: The pages docs/console.md shows, by the name the browser tests save them under (the default).
SHOWN = (
    "login",
    "enrol",
    "dashboard",
    "person",
    "certificate",
    "grant-refused",
    "reinstate-form",
    "bulk-preview",
    "bulk-progress",
    "bulk-result",
    "audit",
)
WIDTH = 900


def main(source: Path, target: Path, names: list[str]) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for name in names or SHOWN:
        image = Image.open(source / f"{name}.png").convert("RGB")
        height = round(image.height * WIDTH / image.width)
        small = image.resize((WIDTH, height), Image.Resampling.LANCZOS)
        small.quantize(colors=64).save(target / f"{name}.png", optimize=True)
        print(f"{name}.png: {(target / f'{name}.png').stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:])
