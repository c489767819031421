"""ONNX Runtime session settings: optimisation level, threads, memory arena, a cached optimised model
and the per-node profile.

ONNX Runtime optimises a graph each time a session is created (for the CPU at level `all` it also
rewrites convolutions into its blocked NCHWc layout). The result depends on the runtime version and
the CPU, so it is cached per (file, runtime version, level, CPU) under `$DANET_HOME/onnxruntime`,
and later sessions load the cached graph without optimising again.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from danet.errors import ConfigError
from danet.paths import danet_home

OPTIMIZATION_LEVELS = ("disable", "basic", "extended", "all")
_LEVEL_NAMES = {
    "disable": "ORT_DISABLE_ALL",
    "basic": "ORT_ENABLE_BASIC",
    "extended": "ORT_ENABLE_EXTENDED",
    "all": "ORT_ENABLE_ALL",
}
_QUIET = 3  # ONNX Runtime log severity: errors only (no "hardware specific model" warnings)
KEEP_CACHED = 8  # optimised graphs kept; the least recently written go first


@dataclass(frozen=True)
class SessionSettings:
    """How ONNX Runtime runs a model file.

    ``threads`` 0 keeps ONNX Runtime's default (one per physical core). ``spinning`` lets idle
    worker threads spin between operators (faster on a dedicated machine, wasteful on a shared one).
    ``arena`` keeps freed CPU memory for reuse; without it, peak memory is what the graph needs.
    """

    optimization: str = "all"
    threads: int = 0
    spinning: bool = True
    arena: bool = True
    cache: bool = True
    profile: str | None = None  # file prefix of ONNX Runtime's per-node profile (JSON)

    def __post_init__(self) -> None:
        if self.optimization not in OPTIMIZATION_LEVELS:
            raise ConfigError(
                f"unknown onnxruntime optimization {self.optimization!r}; "
                f"use one of {', '.join(OPTIMIZATION_LEVELS)}"
            )
        if self.threads < 0:
            raise ConfigError(f"threads must be 0 (onnxruntime's default) or more, got {self.threads}")


def session_options(ort: Any, settings: SessionSettings, optimized: Path | None = None) -> Any:
    """`SessionOptions` for `settings`; with `optimized`, the optimised graph is saved there."""
    options = ort.SessionOptions()
    options.log_severity_level = _QUIET
    level = _LEVEL_NAMES[settings.optimization]
    options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.enable_cpu_mem_arena = settings.arena
    if settings.threads:
        options.intra_op_num_threads = settings.threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if settings.spinning else "0")
    if optimized is not None:
        options.optimized_model_filepath = str(optimized)
    if settings.profile:
        options.enable_profiling = True
        options.profile_file_prefix = settings.profile
    return options


def cached_model_path(path: Path, ort: Any, settings: SessionSettings) -> Path:
    """Where the optimised copy of `path` for this runtime, level and CPU is cached.

    The key uses the file's size, modification time and inode (kept by a rename, changed by a new
    export), so a replaced file never meets a stale optimised graph.
    """
    stat = path.stat()
    key = json.dumps(
        [stat.st_size, stat.st_mtime_ns, stat.st_ino, ort.__version__, settings.optimization, _cpu_id()]
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:20]
    return danet_home() / "onnxruntime" / f"{digest}.onnx"  # no name: a rename keeps the entry


def _cpu_id() -> str:
    """The CPU model and feature flags (the optimised layout depends on them)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
    except OSError:
        return platform.processor() or platform.machine()
    lines = [line for line in text.splitlines() if line.startswith(("model name", "flags"))]
    return "\n".join(sorted(set(lines)))


def create_session(
    ort: Any, path: Path, settings: SessionSettings, providers: list[str], provider_options: list[dict]
) -> Any:
    """A session for `path`, through the optimised-model cache when it runs on the CPU alone."""
    cpu_only = providers == ["CPUExecutionProvider"]
    if not (settings.cache and settings.optimization != "disable" and cpu_only):
        options = session_options(ort, settings)
        return ort.InferenceSession(
            str(path), options, providers=providers, provider_options=provider_options
        )
    cached = cached_model_path(path, ort, settings)
    if cached.is_file():
        options = session_options(ort, _replace_level(settings, "disable"))
        return ort.InferenceSession(str(cached), options, providers=providers)
    return _create_and_cache(ort, path, cached, settings, providers)


def _replace_level(settings: SessionSettings, level: str) -> SessionSettings:
    return replace(settings, optimization=level)


def _create_and_cache(
    ort: Any, path: Path, cached: Path, settings: SessionSettings, providers: list[str]
) -> Any:
    """Optimise `path` into a temporary file, then move it to `cached` (skipped if unwritable)."""
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=cached.parent, suffix=".tmp")
        os.close(handle)
    except OSError:
        return ort.InferenceSession(str(path), session_options(ort, settings), providers=providers)
    try:
        session = ort.InferenceSession(
            str(path), session_options(ort, settings, Path(tmp)), providers=providers
        )
        os.replace(tmp, cached)
        _prune(cached.parent)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return session


def _prune(folder: Path) -> None:
    """Keep the KEEP_CACHED newest optimised graphs (each is as large as its model)."""
    entries = sorted(folder.glob("*.onnx"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[KEEP_CACHED:]:
        old.unlink(missing_ok=True)


def top_operators(profile: str | os.PathLike[str], count: int = 10) -> list[tuple[str, float, float]]:
    """(operator type, total ms, share of all operator time) from an ONNX Runtime profile, largest first."""
    events = json.loads(Path(profile).read_text(encoding="utf-8"))
    totals: Counter[str] = Counter()
    for event in events:
        if event.get("cat") == "Node" and str(event.get("name", "")).endswith("_kernel_time"):
            totals[event.get("args", {}).get("op_name", "?")] += int(event.get("dur", 0))
    overall = sum(totals.values()) or 1
    return [(op, micros / 1e3, micros / overall) for op, micros in totals.most_common(count)]
