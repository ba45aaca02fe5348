# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Text from engines and servers made fit for a message, a warning, a result or a log line.

An engine's answer may hold terminal escape sequences (``ESC]0;title BEL`` sets a terminal's title,
``ESC[2J`` clears the screen), other control characters, or bidirectional overrides (U+202E shows text
backwards). None of these ever reaches a user's terminal: each such character is shown escaped
(``\\x1b``, ``\\u202e``), so what was there stays visible and inert. Ordinary text, accented names and
other scripts included, is kept as it is.

``engine_text`` is for the edges, where an engine's text enters one of our messages: one line, cut at a
length. ``safe_text`` is the last door at the exits (a module's ``msg`` and warnings, the inventory's
warnings, the event source's log lines): our own line breaks and tabs are kept, nothing else is let through.
"""

from __future__ import annotations

import re
from typing import Any

#: How much of an engine's text a message quotes.
ENGINE_TEXT_LIMIT = 300

# Bidirectional formatting characters: embeddings, overrides, isolates and marks (Unicode's Bidi_Control).
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# C0 controls, DEL, C1 controls, the line and paragraph separators, bidi controls, and lone surrogates
# (undecodable bytes kept by ``surrogateescape``), which no terminal should be handed.
_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029{_BIDI}\ud800-\udfff]")
_UNSAFE_KEEPING_LINES = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029{_BIDI}\ud800-\udfff]")
# Line breaks and tabs, with the spaces around them: one space in a one-line text.
_BREAKS = re.compile(r"[ ]*[\r\n\t\v\f\u2028\u2029]+[\r\n\t\v\f\u2028\u2029 ]*")


def _escaped(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def engine_text(value: Any, limit: int = ENGINE_TEXT_LIMIT) -> str:
    """``value`` as text to quote in a message: one line, control characters and escape sequences shown
    escaped, and cut after ``limit`` characters with a marker saying how much was left out."""
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    text = _BREAKS.sub(" ", text).strip()
    cut = len(text) - limit
    if cut > 0:
        text = text[:limit].rstrip()
    shown = _UNSAFE.sub(_escaped, text)
    return f"{shown}... ({cut} more characters)" if cut > 0 else shown


def safe_text(text: str) -> str:
    """``text`` with every control character, escape sequence or bidi control shown escaped; newlines and
    tabs, which our own messages use, are kept."""
    return _UNSAFE_KEEPING_LINES.sub(_escaped, text)
