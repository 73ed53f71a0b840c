"""The certificate page of a running ``certreg serve`` never shows a stale status.

The public pages keep one read-only connection to register.db per thread (opening one per
request cost more than the page itself) and remember the body's row until register.db changes.
One app, one client, requests in a row: a suspension pushed to register.db shows on the very
next request, and so does a withdrawal pushed after ``certreg register rebuild`` (which copies
the new register into the same file) and after a new file was put under the same name; a
change of the body's or a scheme's row shows as soon as it is committed.
"""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from datetime import timedelta

import httpx
from register_support import PASSPHRASE, add_holder, grant, make_body

from certreg.issuer.http import create_app
from certreg.issuer.register_push import rebuild


def test_a_pushed_change_shows_on_the_next_request_even_after_a_rebuild(tmp_path):
    b = make_body(tmp_path)
    add_holder(b, "jane", "Jane Listed", consent=True)
    number = grant(b, b.people["jane"])
    b.sync.flush()
    app = create_app(b.body, passphrase=PASSPHRASE)
    before = b.register.stat().st_ino

    async def go() -> list[str]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:

            async def headline() -> str:
                page = (await c.get(f"/c/{number}")).text
                return page.split('class="status ', 1)[1].split('"', 1)[0]

            seen = [await headline(), await headline()]
            until = (b.clock.now + timedelta(days=30)).date().isoformat()
            b.body.suspend(number, decided_by=b.decider, reason="audit", until=until)
            b.sync.flush()
            seen.append(await headline())
            rebuild(b.body, b.register)  # copied into the same file
            assert b.register.stat().st_ino == before
            seen.append(await headline())
            # A new file under the same name (a register restored from a copy): the pages
            # notice it and read the new file.
            copy = b.register.with_name("copy.db")
            with closing(sqlite3.connect(b.register)) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                with closing(sqlite3.connect(copy)) as target:
                    conn.backup(target)
            copy.replace(b.register)
            assert b.register.stat().st_ino != before
            b.body.withdraw(number, decided_by=b.decider, reason="fraud")
            b.sync.flush()
            seen.append(await headline())
            # The body's row, remembered by the pages, is read again once register.db changes.
            # So are the schemes' rows.
            with closing(sqlite3.connect(b.register)) as conn, conn:
                conn.execute("UPDATE body SET legal_name = 'Renamed Certification Body'")
                conn.execute("UPDATE schemes SET normative_reference = 'ISO 9712:2099'")
            page = (await c.get(f"/c/{number}")).text
            seen += ["Renamed Certification Body" in page, "ISO 9712:2099" in page]
            return seen

    assert asyncio.run(go()) == [
        *("valid", "valid", "suspended", "suspended", "withdrawn"),
        *(True, True),
    ]
