"""_text: engine text made fit for messages, warnings, results and logs."""

from __future__ import annotations

import pytest

from ansible_collections.containerops.lifecycle.plugins.module_utils._text import (
    ENGINE_TEXT_LIMIT,
    engine_text,
    safe_text,
)

ESC, BEL, CSI_C1, ST_C1 = "\x1b", "\x07", "\x9b", "\x9c"


def unsafe_in(text: str) -> list[str]:
    """Characters no terminal should receive: C0 (but newline and tab), DEL, C1, separators, bidi, surrogates."""
    return [
        ch for ch in text
        if (ord(ch) < 0x20 and ch not in "\n\t") or 0x7F <= ord(ch) <= 0x9F or ch in "\u2028\u2029"
        or ch in "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
        or 0xD800 <= ord(ch) <= 0xDFFF
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        # CSI: clear the screen, move the cursor, colours.
        (f"{ESC}[2Jgone", "\\x1b[2Jgone"),
        (f"{ESC}[1;1H{ESC}[31mred{ESC}[0m", "\\x1b[1;1H\\x1b[31mred\\x1b[0m"),
        # The 8-bit CSI (C1).
        (f"{CSI_C1}2J", "\\x9b2J"),
        # OSC ended by BEL, by ST (ESC \), and by the 8-bit ST.
        (f"{ESC}]0;pwned{BEL}name", "\\x1b]0;pwned\\x07name"),
        (f"{ESC}]0;pwned{ESC}\\name", "\\x1b]0;pwned\\x1b\\name"),
        (f"{ESC}]8;;http://evil{ST_C1}link", "\\x1b]8;;http://evil\\x9clink"),
        # An unterminated sequence at the end.
        (f"boom{ESC}]0;", "boom\\x1b]0;"),
        # Other C0 controls, DEL, NUL, backspace (overwrites what came before).
        ("a\x00b\x08c\x7fd", "a\\x00b\\x08c\\x7fd"),
        ("bell\x07", "bell\\x07"),
        # C1 controls, NEL included.
        ("x\x85y\x90z\x9fw", "x\\x85y\\x90z\\x9fw"),
        # Bidi overrides, isolates and marks: U+202E would show 'exe.txt' as 'txt.exe'.
        ("evil\u202etxt.exe", "evil\\u202etxt.exe"),
        ("a\u2066b\u2069c\u200fd\u061ce", "a\\u2066b\\u2069c\\u200fd\\u061ce"),
        # A lone surrogate (undecodable bytes kept by surrogateescape).
        ("bad\udcff", "bad\\udcff"),
        # Ordinary unicode is kept as it is.
        ("café-Åsa_Ørsted", "café-Åsa_Ørsted"),
        ("容器 web-1 ✓ 👩‍💻", "容器 web-1 ✓ 👩‍💻"),
        ("", ""),
    ],
)
def test_engine_text_shows_every_unsafe_character_escaped(raw, shown):
    assert engine_text(raw) == shown
    assert not unsafe_in(engine_text(raw))


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("first line\nsecond line", "first line second line"),
        ("a\r\nb", "a b"),
        ("a \n\n  b", "a b"),
        ("tab\tseparated", "tab separated"),
        ("a\u2028b\u2029c", "a b c"),
        ("\n  padded \n", "padded"),
        ("<html>\n<body>502 Bad Gateway</body>\n</html>\n", "<html> <body>502 Bad Gateway</body> </html>"),
    ],
)
def test_engine_text_is_one_line(raw, shown):
    assert engine_text(raw) == shown


def test_a_carriage_return_cannot_overwrite_the_line():
    assert engine_text("ok\rFAILED") == "ok FAILED"
    assert safe_text("ok\rFAILED") == "ok\\x0dFAILED"


def test_a_long_body_is_cut_with_a_marker():
    assert engine_text("x" * ENGINE_TEXT_LIMIT) == "x" * ENGINE_TEXT_LIMIT
    assert engine_text("x" * (ENGINE_TEXT_LIMIT + 1)) == "x" * ENGINE_TEXT_LIMIT + "... (1 more characters)"
    assert engine_text("abcdefghij", limit=4) == "abcd... (6 more characters)"
    # Cut before escaping: the marker counts the engine's characters, and no sequence is left half-shown.
    assert engine_text(ESC * 10, limit=2) == "\\x1b\\x1b... (8 more characters)"


def test_bytes_and_other_values_are_text():
    assert engine_text(b"caf\xc3\xa9 \x1b[2J") == "café \\x1b[2J"
    assert engine_text(b"\xff") == "\ufffd"
    assert engine_text(None) == "None"
    assert engine_text({"message": f"{ESC}]0;x{BEL}"}) == "{'message': '\\x1b]0;x\\x07'}"


def test_safe_text_keeps_our_line_breaks_and_tabs():
    assert safe_text("failed:\n\tweb: down") == "failed:\n\tweb: down"
    assert safe_text(f"web: {ESC}]0;pwned{BEL}\nb\u202ec\x85") == "web: \\x1b]0;pwned\\x07\nb\\u202ec\\x85"
    assert safe_text("café 容器") == "café 容器"


def test_every_code_point_is_either_kept_or_shown_escaped():
    everything = "".join(chr(code) for code in range(0x110000))
    for shown in (engine_text(everything, limit=len(everything)), safe_text(everything)):
        assert not unsafe_in(shown)
    kept = [ch for ch in everything if not unsafe_in(ch) and ch not in "\n\t\v\f\r "]
    assert all(engine_text(f"a{ch}b") == f"a{ch}b" for ch in kept[:0x3000])  # the first 12k one by one
    assert "".join(kept) in engine_text("".join(kept), limit=len(everything))  # and all of them at once
