"""Schema migrations for stored records: version N -> N+1, one function each."""

from __future__ import annotations

from sleuth.memory.records import MODEL_OF, SCHEMA_VERSION, Record


def _v0_to_v1(data: dict) -> dict:
    """v0 records had no schema_version and called evidence ids 'hypotheses'."""
    data = dict(data)
    if "hypotheses" in data and "hypothesis_ids" not in data:
        data["hypothesis_ids"] = data.pop("hypotheses")
    data["schema_version"] = 1
    return data


MIGRATIONS = {0: _v0_to_v1}


def migrate_record(data: dict, kind: str, found: int) -> Record:
    for version in range(found, SCHEMA_VERSION):
        data = MIGRATIONS[version](data)
    return MODEL_OF[kind].model_validate(data)
