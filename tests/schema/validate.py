#!/usr/bin/python3
"""Validates threadleak JSON documents against their JSON Schemas (Draft 2020-12).

    validate.py SCHEMA FILE...     every FILE against SCHEMA
    validate.py --by-kind FILE...  each FILE against docs/schema/KIND.schema.json,
                                   KIND its "kind" (stacks, diff, series, hang)
                                   or "snapshot" for a snapshot file

Every *.schema.json under docs/ and docs/schema/ is registered by its $id, so
the schemas' references to one another (common.schema.json#/$defs/frame)
resolve offline. Prints one line per error; exit status 1 if any.
"""
import json
import pathlib
import sys

import jsonschema

try:  # jsonschema >= 4.18
    import referencing
    import referencing.jsonschema
except ImportError:  # Debian's python3-jsonschema 4.10: RefResolver and a store
    referencing = None

DOCS = pathlib.Path(__file__).resolve().parents[2] / "docs"


def load(path):
    with open(path) as f:
        return json.load(f)


def all_schemas():
    """Every schema by its $id."""
    paths = sorted(DOCS.glob("*.schema.json")) + sorted((DOCS / "schema").glob("*.schema.json"))
    return {s["$id"]: s for s in map(load, paths)}


def validator_for(schema, schemas):
    if referencing is None:
        resolver = jsonschema.RefResolver.from_schema(schema, store=schemas)
        return jsonschema.Draft202012Validator(schema, resolver=resolver)
    registry = referencing.Registry().with_resources(
        (uri, referencing.jsonschema.DRAFT202012.create_resource(s)) for uri, s in schemas.items())
    return jsonschema.Draft202012Validator(schema, registry=registry)


def kind_of(doc):
    if isinstance(doc, dict) and doc.get("format") == "threadleak-snapshot":
        return "snapshot"
    kind = doc.get("kind") if isinstance(doc, dict) else None
    if kind not in ("stacks", "diff", "series", "hang"):
        return None
    return kind


def main(argv):
    schemas = all_schemas()
    by_kind = argv[1] == "--by-kind"
    schema = None if by_kind else load(argv[1])
    bad = 0
    for path in argv[2:]:
        doc = load(path)
        if by_kind:
            kind = kind_of(doc)
            if kind is None:
                print(f"{path}: no known document kind")
                bad += 1
                continue
            schema = load(DOCS / "schema" / f"{kind}.schema.json")
        validator = validator_for(schema, schemas)
        for err in validator.iter_errors(doc):
            print(f"{path}: /{'/'.join(map(str, err.absolute_path))}: {err.message}")
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
