"""crewai's environment: telemetry off unless the user opted in, and crewai imported late.

crewai takes seconds to import and sends telemetry by default. Both the crew builder and the
LLM adapter need it, so the rule for importing it lives here, below both.
"""

from __future__ import annotations

import os
from types import ModuleType

TELEMETRY_OPT_IN = "SCOUTCREW_TELEMETRY"
_TELEMETRY_OFF = {
    "OTEL_SDK_DISABLED": "true",
    "CREWAI_DISABLE_TELEMETRY": "true",
    "CREWAI_DISABLE_TRACKING": "true",
    "CREWAI_TRACING_ENABLED": "false",
}


def quiet_telemetry() -> None:
    """Turn crewai's telemetry and tracing off unless the user opted in."""
    if os.environ.get(TELEMETRY_OPT_IN, "").lower() in {"1", "true", "yes"}:
        return
    for key, value in _TELEMETRY_OFF.items():
        os.environ.setdefault(key, value)


def import_crewai() -> ModuleType:
    """Import crewai (seconds) with telemetry off; call only where a crew is really needed."""
    quiet_telemetry()
    import crewai

    return crewai
