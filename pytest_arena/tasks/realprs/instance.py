"""The SWE-bench instance schema, as the official ``swebench`` package names its keys
(``swebench.types.SWEbenchInstance``; ``FAIL_TO_PASS``/``PASS_TO_PASS`` hold JSON-encoded lists in
the published data sets, plain lists in ours: both are read)."""
from __future__ import annotations

import json
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pytest_arena.errors import ConfigError
from pytest_arena.yamlfile import validate_fields

# The keys of a prediction, as swebench.harness.run_evaluation reads them.
KEY_INSTANCE_ID = "instance_id"
KEY_MODEL = "model_name_or_path"
KEY_PREDICTION = "model_patch"
# SWE-bench's <owner>__<repo>-<number> (django__django-11099), with a tag allowed after the number
# (ours: pallets__click-8.1.3, python-humanize__humanize-4.10.0-metric). It names a folder of the
# store and a test id, so: letters, digits, '_', '.', '-' only, each part starting with a letter or
# digit (no '/', no '..' alone, no leading '-' or '.').
INSTANCE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*__[A-Za-z0-9][A-Za-z0-9_.-]*-[0-9][A-Za-z0-9_.-]*$"
INSTANCE_ID_MAX = 128
_ID_RULE = ("must look like SWE-bench's <owner>__<repo>-<number> (e.g. django__django-11099, "
            f"at most {INSTANCE_ID_MAX} characters): letters, digits, '_', '.' and '-' only")


def check_instance_id(value: object) -> str:
    """The id, if it has the form above; ValueError saying the form otherwise."""
    if not isinstance(value, str) or len(value) > INSTANCE_ID_MAX or not re.match(INSTANCE_ID_PATTERN, value):
        raise ValueError(_ID_RULE)
    return value


def shown_id(value: object) -> str:
    """An instance id for a message: as it is when well formed, quoted and cut otherwise."""
    try:
        return check_instance_id(value)
    except ValueError:
        return json.dumps(value if isinstance(value, str) else repr(value))[:80]


class Instance(BaseModel):
    """One SWE-bench instance; fields the harness does not use are kept (``extra="allow"``)."""

    model_config = ConfigDict(extra="allow")

    instance_id: str = Field(description="owner__repo-number (INSTANCE_ID_PATTERN)")
    repo: str = Field(pattern=r"^[^/\s]+/[^/\s]+$", description="owner/name")
    base_commit: str = Field(pattern=r"^([0-9a-f]{40}|[0-9a-f]{64})$", description="a full commit id")
    problem_statement: str = Field(min_length=1)
    patch: str
    test_patch: str
    FAIL_TO_PASS: list[str] = Field(min_length=1)
    PASS_TO_PASS: list[str] = Field(default_factory=list)
    version: str = ""
    environment_setup_commit: str = ""

    @field_validator("instance_id", mode="before")
    @classmethod
    def _instance_id(cls, value: object) -> str:
        return check_instance_id(value)

    @field_validator("FAIL_TO_PASS", "PASS_TO_PASS", mode="before")
    @classmethod
    def _json_encoded_list(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise ValueError("must be a list of test ids or a JSON-encoded one") from None
        return value

    @property
    def test_ids(self) -> list[str]:
        """Every test scoring runs: FAIL_TO_PASS then PASS_TO_PASS, each once."""
        return list(dict.fromkeys([*self.FAIL_TO_PASS, *self.PASS_TO_PASS]))


def parse_instance(raw: object, where: str) -> Instance:
    """One instance from parsed JSON; a bad one raises ConfigError naming ``where`` and the field."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a JSON object with the SWE-bench instance fields.")
    return validate_fields(raw, Instance, ConfigError, f"{where}: instance {shown_id(raw.get('instance_id', '?'))}")


def read_jsonl(path: Path) -> list[Instance]:
    """Every instance of a SWE-bench JSONL export (e.g. princeton-nlp/SWE-bench_Verified)."""
    try:
        lines = Path(path).read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc}): point benchmark.real_prs.instances at a "
                          f"SWE-bench JSONL file.") from None
    instances: dict[str, Instance] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except ValueError as exc:
            raise ConfigError(f"{path}:{number}: not JSON ({exc.args[0]}): one instance per line.") from None
        instance = parse_instance(raw, f"{path}:{number}")
        if instance.instance_id in instances:
            raise ConfigError(f"{path}:{number}: instance {instance.instance_id} appears twice.")
        instances[instance.instance_id] = instance
    if not instances:
        raise ConfigError(f"{path}: holds no instance.")
    return list(instances.values())
