# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_alias carries its plan out: it points the alias, reads the holders back, and asks nothing in check
mode. The decisions are tested in ``module_utils/test_workflow.py``; the engines in the integration tests.
"""

from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import (
    BadInput,
    OperationFailed,
)
from ansible_collections.containerops.lifecycle.plugins.modules import container_alias
from tests.unit.workflow_engine import Engine, lifecycle

BLUE = {"name": "blue", "id": "b1", "in_sync": True}


def alias_task(engine: Engine, check_mode: bool = False, **given: Any) -> dict:
    params = {"alias": "web", "name": "app", "state": "present", "network": "net", "program": "http",
              "index": None, "port": None, "target_path": None, **given}  # fmt: skip
    return container_alias.run(lifecycle(engine, check_mode, diff=True, **params))


@pytest.mark.parametrize("check_mode", [False, True])
def test_moving_an_alias_points_it_and_reads_the_holders_back(check_mode):
    engine = Engine(holders=[BLUE])
    result = alias_task(engine, check_mode)
    assert result["changed"] and result["previous"] == ["blue"] and result["holders"] == ["app"]
    if check_mode:
        assert engine.writes() == [] and result["window_ms"] is None
    else:
        assert [call for call, _ in engine.asked] == ["holders", "point", "holders"]
        assert ("point", ("app", ["blue"])) in engine.asked and result["window_ms"] == 7


def test_an_alias_in_place_is_left_alone():
    engine = Engine(holders=[{"name": "app", "id": "c1", "in_sync": True}])
    result = alias_task(engine)
    assert not result["changed"] and result["holders"] == ["app"] and engine.writes() == []


def test_a_move_the_engine_did_not_make_fails():
    engine = Engine(holders=[BLUE])
    engine.aliases.point = lambda alias, target, holders, options: {"window_ms": 0, "url": None}
    with pytest.raises(OperationFailed, match=r"should be held by \['app'\] but is held by \['blue'\]"):
        alias_task(engine)


def test_bad_alias_input_is_refused_before_the_engine_is_asked():
    engine = Engine(holders=[BLUE])
    with pytest.raises(BadInput, match="port must be 1 to 65535"):
        alias_task(engine, port=0)
    assert engine.asked == []
