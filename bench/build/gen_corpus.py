#!/usr/bin/env python3
"""Writes a synthetic corpus of N connector specs for the build benchmark.

Each connector: an api_key auth, 20 actions (every fifth one a trigger),
each with 15 fields: 9 top-level inputs (one a static dropdown), a group
holding 3 fields and a repeating group of 2, and output fields. Usage:

    bench/build/gen_corpus.py N DIR
"""
import json
import os
import sys


def field(key, type_="string", **extra):
    f = {"key": key, "type": type_, "label": {"en": key.replace("_", " ").title(), "zh": "字段 " + key}}
    f.update(extra)
    return f


def inputs(i):
    fields = [field(f"f{j}", help="Some help text; it's long enough to matter.") for j in range(8)]
    fields.append(field("kind", choices=[{"key": k, "label": {"en": k, "zh": k}} for k in ("a", "b", "c")]))
    fields.append(field("data", "group", fields=[
        field("so_id", required=True),
        field("remark", "text"),
        field("items", "group", multiple=True, fields=[field("sku_id", required=True), field("qty", "integer")]),
    ]))
    return fields  # 9 + group(1) + 2 + group(1) + 2 = 15


def connector(n):
    app_id = 100000 + n
    actions, triggers = [], []
    for a in range(20):
        action_id = app_id * 100 + a
        if a % 5 == 4:
            triggers.append({
                "id": action_id, "key": f"new_thing_{a}", "name": {"en": f"New thing {a}", "zh": f"新事物 {a}"},
                "input": [field("shop_id", "integer", user_input=True)],
                "request": {"method": "GET", "path": "/things", "query": {"shop": "{{ input.shop_id }}"}},
                "records": "body.items", "dedupe": {"key": ["id"]},
                "output": [field("id", "integer"), field("title")],
                "sample": {"id": 1, "title": "Fake"},
            })
        else:
            actions.append({
                "id": action_id, "key": f"do_thing_{a}", "name": {"en": f"Do thing {a}", "zh": f"做事 {a}"},
                "is_end": True, "input": inputs(a),
                "request": {"path": f"/things/{a}", "body": {"type": "json", "content": {"data": {"$expr": "input.data"}}}},
                "response": {"success_when": "body.code == 0", "error_message": "body.msg"},
                "output": [field("id", "integer")],
                "sample": {"id": 1},
            })
    return {
        "spec_version": 1,
        "app": {"id": app_id, "key": f"app_{n}", "name": {"en": f"App {n}", "zh": f"应用 {n}"},
                "category": "synthetic", "base_url": "https://example.com/api"},
        "auth": {"type": "api_key", "fields": [{"key": "api_key", "label": "API key", "secret": True}],
                 "place": [{"in": "header", "name": "X-Api-Key", "value": "{{ auth.api_key }}"}]},
        "actions": actions,
        "triggers": triggers,
    }


def main():
    n, out = int(sys.argv[1]), sys.argv[2]
    os.makedirs(out, exist_ok=True)
    for i in range(n):
        # JSON is YAML; it keeps the generator free of a YAML library.
        with open(os.path.join(out, f"app_{i:05}.yaml"), "w") as f:
            json.dump(connector(i), f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
