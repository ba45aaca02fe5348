# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether pages read one after another from a collection that may change add up to it: pure decisions.

An API that pages by offset (``page`` and ``limit``, no cursor) serves page k from wherever the entries sit
when page k is asked for. An entry removed above it moves the rest up, and one entry is never served; an
entry added above it moves the rest down, and one is served twice.

So the listings are read sorted with new entries first (Hoody's containers by ``created_at`` and status logs
by ``transition_time``, both descending). Then, as long as the total never falls from one page to the next,
no entry can move up, nothing present all along can be skipped, and a repeat is only an entry that moved
down: it is dropped. Anything else means the pages may not add up, and the listing is read again:

- the total fell between two pages (entries were removed);
- more repeats than the total grew by since the first page (the pages did not move on as they should);
- a page held fewer entries than the total called for (entries vanished while it was read).

Entries added during the read may be in the result or not; entries removed during it may be in it too.
Every entry present from the first page to the last is in it exactly once.
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Sequence

NEXT = "next"  # read the following page
DONE = "done"  # the pages add up: the listing is complete
REREAD = "reread"  # the collection moved under the pages: start again from page 1


class Page(NamedTuple):
    """One page as read: its entries' ids in order and what its pagination block said."""

    ids: tuple[str, ...]
    total: Optional[int]  # entries in the whole collection when this page was served
    limit: int  # the page size the server used (its ``pagination.limit``, else the one asked for)
    total_pages: Optional[int] = None  # used only when ``total`` is missing


class Verdict(NamedTuple):
    step: str  # NEXT, DONE or REREAD
    why: str = ""  # for REREAD: what changed, in words


def _entries(count: int) -> str:
    return f"{count} entr{'y' if count == 1 else 'ies'}"


def verdict(pages: Sequence[Page]) -> Verdict:
    """What to do after the last of ``pages`` (pages 1..k, in the order read)."""
    number = len(pages)
    page = pages[-1]
    if number > 1 and page.total is not None and pages[-2].total is not None and page.total < pages[-2].total:
        return Verdict(REREAD, f"the total went from {pages[-2].total} to {page.total} between page {number - 1} "
                               f"and page {number}: entries were removed while the pages were read")  # fmt: skip
    read = [entry for earlier in pages for entry in earlier.ids]
    repeats = len(read) - len(set(read))
    first, last = pages[0].total, page.total
    grown = last - first if first is not None and last is not None else 0
    if repeats > grown:
        change = f"the total grew by only {grown}" if grown else "the total did not grow"
        return Verdict(REREAD, f"pages 1 to {number} served {_entries(repeats)} more than once while {change}")
    if page.total is not None:
        due = max(min(page.limit, page.total - (number - 1) * page.limit), 0)
        if len(page.ids) < due:
            return Verdict(REREAD, f"page {number} held {_entries(len(page.ids))} where the total ({page.total}) "
                                   f"called for {due}: entries were removed while it was read")  # fmt: skip
        return Verdict(DONE if number * page.limit >= page.total else NEXT)
    if page.total_pages is not None:
        return Verdict(DONE if number >= page.total_pages or not page.ids else NEXT)
    return Verdict(DONE if len(page.ids) < page.limit else NEXT)
