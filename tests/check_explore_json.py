#!/usr/bin/env python3
"""check_explore_json.py - validate `mqttsim explore` JSON results against
reports/schema/mqttsim-explore-1.json with the schema subset of check_report_json.py, then
check what a schema cannot say: passed + failed = seeds = the seeds in 'ran', failures are
sorted seeds inside 'ran', each once.

    python3 tests/check_explore_json.py SCHEMA RESULTS
"""
import importlib.util
import json
import os
import sys


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location("crj", os.path.join(here, "check_report_json.py"))
    crj = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(crj)
    schema = json.load(open(argv[1], encoding="utf-8"))
    doc = json.load(open(argv[2], encoding="utf-8"), object_pairs_hook=crj.no_duplicates)
    errors = []
    crj.validate(doc, schema, schema, "$", errors)
    if not errors:
        ran = sum(b - a + 1 for a, b in doc["ran"])
        if not doc["passed"] + doc["failed"] == doc["seeds"] == ran:
            errors.append("$: passed %d + failed %d, seeds %d and 'ran' %d disagree"
                          % (doc["passed"], doc["failed"], doc["seeds"], ran))
        if len(doc["failures"]) != doc["failed"]:
            errors.append("$.failures: %d, but failed is %d" % (len(doc["failures"]), doc["failed"]))
        seeds = [f["seed"] for f in doc["failures"]]
        if seeds != sorted(set(seeds)):
            errors.append("$.failures: seeds not sorted or repeated")
        for s in seeds:
            if not any(a <= s <= b for a, b in doc["ran"]):
                errors.append("$.failures: seed %d is not among the seeds that ran" % s)
        for i in range(1, len(doc["ran"])):
            if doc["ran"][i][0] <= doc["ran"][i - 1][1] + 1:
                errors.append("$.ran[%d]: overlaps or touches the interval before it" % i)
    for e in errors:
        print("%s: %s" % (argv[2], e))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
