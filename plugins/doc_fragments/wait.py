# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Waiting for a container to reach the status asked for."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  wait:
    description:
      - Wait until the target status is observed on the engine.
      - Operations that lead to another operation (resume before stop, for example) always wait for
        the intermediate status.
      - A container in a transitional status (for example V(restarting)) is waited out before acting;
        with O(wait=false) such a container is reported as failed instead.
      - On Docker the waits follow the engine's event stream and health status, never fixed sleeps.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds one container may take to reach its state, waits for health included.
      - From 1 to 86400.
    type: int
    default: 300
  poll_interval:
    description:
      - REST backends only, first delay between status polls; later polls back off from it.
      - Docker does not poll; it waits on engine events.
      - From 0.05 to 60.
    type: float
    default: 0.5
"""
