"""The last door for a result's messages. (Which option or variable gave a connection value: test_connection.py.)"""

from __future__ import annotations

from ansible_collections.containerops.lifecycle.plugins.module_utils._module import safe_result

ESC = "\x1b"


def test_safe_result_escapes_messages_and_errors_at_any_depth_and_leaves_data_alone():
    raw = f"{ESC}]0;pwned\x07{ESC}[2J"
    result = {
        "msg": f"failed: {raw}\nweb",
        "containers": [{"name": "web", "error": raw, "actions": [{"operation": "stop", "error": raw}],
                        "labels": {"error": raw}, "runtime": {"error": raw}}],
        "count": 1,
    }  # fmt: skip
    shown = "\\x1b]0;pwned\\x07\\x1b[2J"
    assert safe_result(result) == {
        "msg": f"failed: {shown}\nweb",
        "containers": [{"name": "web", "error": shown, "actions": [{"operation": "stop", "error": shown}],
                        "labels": {"error": raw}, "runtime": {"error": shown}}],
        "count": 1,
    }  # fmt: skip
