"""What every benchmark records about the machine it ran on (each adds its own library versions)."""

from __future__ import annotations

import os
import platform
import time


def base_machine() -> dict[str, object]:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    }
