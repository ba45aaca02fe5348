"""_paging.verdict: whether pages read from a collection that may change add up to it."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from ansible_collections.containerops.lifecycle.plugins.module_utils._paging import (
    DONE,
    NEXT,
    REREAD,
    Page,
    verdict,
)


def page(ids: str, total=None, limit=3, total_pages=None) -> Page:
    """A page whose entries are one letter each: ``page("abc", 7)``."""
    return Page(tuple(ids), total, limit, total_pages)


@pytest.mark.parametrize(
    ("pages", "step", "why"),
    [
        # Nothing changed.
        ([page("", 0)], DONE, ""),
        ([page("ab", 2)], DONE, ""),
        ([page("abc", 3)], DONE, ""),
        ([page("abc", 7)], NEXT, ""),
        ([page("abc", 7), page("def", 7)], NEXT, ""),
        ([page("abc", 7), page("def", 7), page("g", 7)], DONE, ""),
        ([page("abc", 6), page("def", 6)], DONE, ""),
        # Two entries added at the front before page 2: page 2 repeats the two it moved down.
        ([page("abc", 7), page("bcd", 9)], NEXT, ""),
        ([page("abc", 7), page("bcd", 9), page("efg", 9)], DONE, ""),
        # Four added before page 2 (more than a page): page 2 holds new entries, page 3 repeats a whole page.
        ([page("abc", 4), page("xyz", 8), page("abc", 8)], DONE, ""),
        # A server capping pages at 2 says so in its limit.
        ([page("ab", 5, limit=2), page("cd", 5, limit=2), page("e", 5, limit=2)], DONE, ""),
        # Without a total: totalPages, else a short page, ends the listing.
        ([page("abc", total_pages=2), page("d", total_pages=2)], DONE, ""),
        ([page("abc", total_pages=2)], NEXT, ""),
        ([page("abc", total_pages=3), page("", total_pages=3)], DONE, ""),
        ([page("abc"), page("def")], NEXT, ""),
        ([page("abc"), page("de")], DONE, ""),
        ([page("abc"), page("")], DONE, ""),
        # Removed while read: the total fell.
        (
            [page("abc", 7), page("efg", 6)],
            REREAD,
            "the total went from 7 to 6 between page 1 and page 2: entries were removed while the pages were read",
        ),
        (
            [page("abc", 7), page("def", 8), page("g", 7)],
            REREAD,
            "the total went from 8 to 7 between page 2 and page 3",
        ),
        # More repeats than additions: the pages did not move on (a server ignoring ``page``), or churn.
        (
            [page("abc", 7), page("abc", 7)],
            REREAD,
            "pages 1 to 2 served 3 entries more than once while the total did not grow",
        ),
        (
            [page("abc", 7), page("cde", 8), page("eab", 8)],
            REREAD,
            "pages 1 to 3 served 4 entries more than once while the total grew by only 1",
        ),
        ([page("abc"), page("cde")], REREAD, "pages 1 to 2 served 1 entry more than once while the total did not grow"),
        ([page("aab", 3)], REREAD, "pages 1 to 1 served 1 entry more than once"),
        # A page shorter than the total calls for: entries vanished between the count and the page.
        (
            [page("abc", 7), page("de", 7)],
            REREAD,
            "page 2 held 2 entries where the total (7) called for 3: entries were removed while it was read",
        ),
        (
            [page("abc", 7), page("def", 7), page("", 7)],
            REREAD,
            "page 3 held 0 entries where the total (7) called for 1",
        ),
        ([page("a", 5, limit=100)], REREAD, "page 1 held 1 entry where the total (5) called for 5"),
    ],
)
def test_verdict(pages, step, why):
    assert verdict(pages).step == step
    assert why in verdict(pages).why
    assert bool(verdict(pages).why) == (step == REREAD)


def read_once(collection: list[str], limit: int, change, rng: random.Random) -> tuple[str, list[str]]:
    """One read of ``collection`` (newest first), pages of ``limit``, ``change`` applied before pages 2 to 6
    (a storm that outpaced the reads for ever would never end); the verdict that ended it and the distinct
    entries read, in order."""
    pages: list[Page] = []
    seen: dict[str, None] = {}
    for number in itertools.count(1):
        if 1 < number <= 6:
            change(collection, rng)
        served = collection[(number - 1) * limit : number * limit]
        pages.append(Page(tuple(served), len(collection), limit, math.ceil(len(collection) / limit)))
        step, _why = verdict(pages)
        if step == REREAD:
            return step, list(seen)
        seen.update(dict.fromkeys(served))
        if step == DONE:
            return step, list(seen)
    raise AssertionError("unreachable")


names = (f"n{number}" for number in itertools.count())


def append(collection: list[str], rng: random.Random) -> None:
    """A restart storm: new entries at the front."""
    collection[:0] = [next(names) for _ in range(rng.choice((0, 0, 1, 2, 5, 12)))]


def append_and_remove(collection: list[str], rng: random.Random) -> None:
    """New entries at the front, and entries removed anywhere."""
    append(collection, rng)
    for _ in range(rng.choice((0, 0, 1, 3))):
        if collection:
            collection.pop(rng.randrange(len(collection)))


@pytest.mark.parametrize("seed", range(300))
def test_entries_added_during_the_read_never_force_a_reread_and_every_old_entry_is_read_once(seed):
    rng = random.Random(seed)
    original = [f"o{number}" for number in range(rng.randrange(0, 40))]
    step, read = read_once(list(original), rng.choice((1, 3, 5, 10)), append, rng)
    assert step == DONE
    assert set(original) <= set(read)
    assert [entry for entry in read if entry.startswith("o")] == original  # in order, once each


@pytest.mark.parametrize("seed", range(300))
def test_a_read_that_ends_done_under_any_change_missed_nothing_present_all_along(seed):
    rng = random.Random(seed)
    original = [f"o{number}" for number in range(rng.randrange(0, 40))]
    collection = list(original)
    step, read = read_once(collection, rng.choice((1, 3, 5, 10)), append_and_remove, rng)
    if step == DONE:
        survivors = [entry for entry in original if entry in collection]
        assert set(survivors) <= set(read), (original, collection, read)


def test_a_removal_above_the_next_page_is_seen_not_skipped():
    def remove_first(collection, _rng):
        if collection[0] == "a":
            collection.pop(0)

    step, read = read_once(list("abcdefg"), 3, remove_first, random.Random(0))
    assert step == REREAD and read == list("abc")  # "d" moved up onto page 1 and would have been skipped
