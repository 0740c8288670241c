"""Running wrk and reading its numbers."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass
class Result:
    """Throughput and latency percentiles (milliseconds)."""

    rps: float
    p50: float
    p99: float
    requests: int
    non_2xx_3xx: int
    timeouts: int = 0  # requests wrk gave up on (its --timeout, 2 s unless set)

    def row(self, name: str) -> str:
        """A markdown table row."""
        return f"| {name} | {self.rps:,.0f} | {self.p50:.2f} | {self.p99:.2f} | {self.requests} |"


def _ms(text: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s)", text)
    if not match:
        raise ValueError(text)
    return float(match.group(1)) * UNITS[match.group(2)]


def parse(output: str) -> Result:
    """Parse `wrk --latency` output."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    timeouts = re.search(r"Socket errors:.*timeout (\d+)", output)
    return Result(
        rps,
        p50,
        p99,
        total,
        int(bad.group(1)) if bad else 0,
        int(timeouts.group(1)) if timeouts else 0,
    )


def command(
    url: str,
    *,
    seconds: int,
    connections: int,
    headers: dict[str, str] | None = None,
    script: Path | None = None,
    timeout: int | None = None,
) -> list[str]:
    """The wrk command line (one thread: the machine has two cores to share)."""
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in (headers or {}).items():
        cmd += ["-H", f"{name}: {value}"]
    if script:
        cmd += ["-s", str(script)]
    if timeout:
        cmd += ["--timeout", f"{timeout}s"]
    return [*cmd, url]


def run(url: str, **kwargs: object) -> Result:
    """Run wrk to completion and parse it."""
    out = subprocess.run(command(url, **kwargs), capture_output=True, text=True, check=True)  # type: ignore[arg-type]
    return parse(out.stdout)
