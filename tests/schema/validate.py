#!/usr/bin/python3
"""Validates JSON documents against a JSON Schema: validate.py SCHEMA FILE..."""
import json
import sys

import jsonschema


def main(argv):
    with open(argv[1]) as f:
        schema = json.load(f)
    validator = jsonschema.Draft202012Validator(schema)
    bad = 0
    for path in argv[2:]:
        with open(path) as f:
            doc = json.load(f)
        for err in validator.iter_errors(doc):
            print(f"{path}: {'/'.join(map(str, err.absolute_path))}: {err.message}")
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
