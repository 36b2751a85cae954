#!/usr/bin/env python3
"""check_report_json.py - validate an mqttsim JSON report against its JSON Schema, with the
standard library only (tests/reports.sh runs it; no pip install).

    python3 tests/check_report_json.py SCHEMA REPORT [KEY=VALUE...]

It implements the subset of JSON Schema (draft 2020-12) that
reports/schema/mqttsim-report-1.json uses - type, const, enum, properties, required,
additionalProperties: false, items, pattern, minimum, minLength, $ref to #/$defs/... - and
refuses a schema that uses any other keyword, so the subset cannot silently grow. Then it
checks what a schema cannot say: the summary counts agree with the arrays, and every
statement's scenarios are scenarios of the report. KEY=VALUE pairs are expectations on the
summary, e.g. statements.fail=12 scenarios.total=14. Exit 0 when all hold, 1 otherwise,
printing each problem with its JSON path.
"""
import json
import re
import sys

ANNOTATIONS = {"$schema", "$id", "title", "description", "$comment", "$defs"}
KEYWORDS = {"type", "const", "enum", "properties", "required", "additionalProperties",
            "items", "pattern", "minimum", "minLength", "$ref"}


def type_ok(value, name):
    if name == "null":
        return value is None
    if name == "boolean":
        return isinstance(value, bool)
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if name == "string":
        return isinstance(value, str)
    if name == "array":
        return isinstance(value, list)
    if name == "object":
        return isinstance(value, dict)
    raise ValueError("unknown type " + name)


def validate(value, schema, root, path, errors):
    for k in schema:
        if k not in KEYWORDS and k not in ANNOTATIONS:
            raise ValueError("%s: schema keyword %r is outside the subset this checker implements" % (path, k))
    if "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/"):
            raise ValueError("only local $ref are supported: " + ref)
        target = root
        for part in ref[2:].split("/"):
            target = target[part]
        validate(value, target, root, path, errors)
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(type_ok(value, t) for t in types):
            errors.append("%s: %r is not of type %s" % (path, value, "/".join(types)))
            return
    if "const" in schema and (value != schema["const"] or type(value) is not type(schema["const"])):
        errors.append("%s: %r is not %r" % (path, value, schema["const"]))
    if "enum" in schema and value not in schema["enum"]:
        errors.append("%s: %r is not one of %s" % (path, value, schema["enum"]))
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append("%s: %r does not match %s" % (path, value, schema["pattern"]))
        if "minLength" in schema and len(value) < schema["minLength"]:
            errors.append("%s: %r is shorter than %d" % (path, value, schema["minLength"]))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append("%s: %r is below %r" % (path, value, schema["minimum"]))
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for k in schema.get("required", []):
            if k not in value:
                errors.append("%s: the required key %r is missing" % (path, k))
        for k, v in value.items():
            if k in props:
                validate(v, props[k], root, "%s.%s" % (path, k), errors)
            elif schema.get("additionalProperties", True) is False:
                errors.append("%s: the key %r is not in the schema" % (path, k))
    if isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value):
            validate(v, schema["items"], root, "%s[%d]" % (path, i), errors)


def cross_check(doc, errors):
    sc, st = doc["scenarios"], doc["statements"]
    want = {"total": len(sc)}
    for s in ("pass", "fail", "skip", "error"):
        want[s] = sum(1 for c in sc if c["status"] == s)
    if doc["summary"]["scenarios"] != want:
        errors.append("$.summary.scenarios: %s, but the scenarios array gives %s" % (doc["summary"]["scenarios"], want))
    want = {"total": len(st)}
    for v in ("pass", "fail", "xfail", "xpass", "optional", "untested", "na"):
        want[v] = sum(1 for s in st if s["verdict"] == v)
    if doc["summary"]["statements"] != want:
        errors.append("$.summary.statements: %s, but the statements array gives %s" % (doc["summary"]["statements"], want))
    names = {c["name"] for c in sc}
    for i, s in enumerate(st):
        for n in s["scenarios"]:
            if n not in names:
                errors.append("$.statements[%d].scenarios: %r is not a scenario of the report" % (i, n))
        # Untested with scenarios only when each of them stopped before checking it.
        if s["verdict"] in ("untested",) and s["scenarios"] and not (s.get("reason") or "").startswith("not reached: "):
            errors.append("$.statements[%d]: untested but checked by %s" % (i, s["scenarios"]))
    for i, c in enumerate(sc):
        if c["status"] in ("fail", "error") and not (c["message"] and c["details"]):
            errors.append("$.scenarios[%d]: %s without message and details" % (i, c["status"]))
        if c["status"] == "pass" and (c["message"] or c["details"]):
            errors.append("$.scenarios[%d]: a pass with a failure message" % i)
    if doc["command"] == "run" and st:
        errors.append("$.statements: run reports have no statements")


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    for k in keys:
        if keys.count(k) > 1:
            raise ValueError("duplicate key %r" % k)
    return dict(pairs)


def no_constants(name):
    raise ValueError("%s is not JSON" % name)


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[2].strip())
        return 2
    schema = json.load(open(argv[1], encoding="utf-8"))
    with open(argv[2], encoding="utf-8") as f:
        doc = json.load(f, object_pairs_hook=no_duplicates, parse_constant=no_constants)
    errors = []
    validate(doc, schema, schema, "$", errors)
    if not errors:
        cross_check(doc, errors)
        for kv in argv[3:]:
            key, _, val = kv.partition("=")
            group, _, field = key.partition(".")
            got = doc["summary"][group][field]
            if str(got) != val:
                errors.append("$.summary.%s is %s, expected %s" % (key, got, val))
    for e in errors:
        print("%s: %s" % (argv[2], e))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
