"""The container kind's image: a root filesystem the project builds here, from no registry.

On Linux a container shows the host's own system read-only, exactly as bubblewrap does (the same
``launcher.SYSTEM_PATHS``, ``/etc`` with its secrets masked): the harness's interpreter, node and the
agents' installs then run unchanged at their own paths, as ``BoxSpec`` promises, and a cell sees
the same files in either kind. So the image holds no system of its own: it is a skeleton of empty
folders where those paths and the kernel's file systems are mounted, plus the host's merged-/usr
links (``/bin -> usr/bin``). What the container adds over bubblewrap is the engine's cgroup caps
(memory and processes for the whole tree) and its namespaces, seccomp filter and dropped
capabilities.

``python -m pytest_arena setup --container-image`` builds it into ``$ARENA_CONTAINER_DIR``
(default ``~/.cache/pytest-arena/container``) as ``rootfs-<digest>``, the digest being that of its
recipe (the skeleton and the host's links), so a host laid out differently gets its own. Podman
runs it with ``--rootfs DIR:O``: an overlay whose upper layer (where the runtime creates mount
points) belongs to one container and goes with it, so the folder stays as built. A machine whose
engine cannot bind the host's system (Docker Desktop or OrbStack on a Mac) needs an image that
carries its own toolchain: docs/howto/run-in-containers.md gives the recipe.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["SETUP_COMMAND", "build_rootfs", "built_rootfs", "container_dir", "recipe", "rootfs_path"]

SETUP_COMMAND = "python -m pytest_arena setup --container-image"
RECIPE_VERSION = 1
# Mount points every container needs: the kernel's file systems, the engine's tmpfs folders, and
# /usr and /etc (bound from the host when they are folders there).
_MOUNT_POINTS = ("proc", "sys", "dev", "tmp", "run", "var/tmp", "usr", "etc")
_MARKER_SUFFIX = ".json"  # rootfs-<digest>.json beside the folder: written last, so a half build is not "built"


def container_dir() -> Path:
    """``$ARENA_CONTAINER_DIR`` or ``~/.cache/pytest-arena/container``."""
    configured = os.environ.get("ARENA_CONTAINER_DIR")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "pytest-arena" / "container"


def recipe(system_paths: Sequence[str]) -> dict[str, Any]:
    """What the skeleton holds on this host: folders (mount points) and links (merged /usr), for
    the system paths a box shows (``launcher.SYSTEM_PATHS``; passed in, so that this module stays a
    leaf of the import graph)."""
    folders = set(_MOUNT_POINTS)
    links: dict[str, str] = {}
    for system in system_paths:
        rel = system.lstrip("/")
        if os.path.islink(system):
            links[rel] = os.readlink(system)
            folders.discard(rel)
        elif os.path.isdir(system):
            folders.add(rel)
    return {"version": RECIPE_VERSION, "folders": sorted(folders), "links": dict(sorted(links.items()))}


def _digest(spec: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def rootfs_path(system_paths: Sequence[str]) -> Path:
    """Where this host's image is (or would be) built."""
    return container_dir() / f"rootfs-{_digest(recipe(system_paths))}"


def built_rootfs(system_paths: Sequence[str]) -> Path | None:
    """This host's image when it has been built, else None."""
    path = rootfs_path(system_paths)
    marker = path.with_name(path.name + _MARKER_SUFFIX)
    return path if path.is_dir() and marker.is_file() else None


def build_rootfs(system_paths: Sequence[str], log: Callable[[str], None] = print) -> Path:
    """Build this host's image (nothing when it exists): a few folders and links, in milliseconds."""
    found = built_rootfs(system_paths)
    if found is not None:
        log(f"container image: {found} (built before)")
        return found
    spec, path = recipe(system_paths), rootfs_path(system_paths)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f"{path.name}.build-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    for folder in spec["folders"]:
        (staging / folder).mkdir(parents=True, exist_ok=True)
    for link, target in spec["links"].items():
        (staging / link).symlink_to(target)
    shutil.rmtree(path, ignore_errors=True)  # a half build a crash left (no marker)
    staging.rename(path)
    path.with_name(path.name + _MARKER_SUFFIX).write_text(json.dumps(spec, indent=2) + "\n")
    log(f"container image: built {path} ({len(spec['folders'])} mount points, "
        f"{len(spec['links'])} links to the host's /usr)")
    return path
