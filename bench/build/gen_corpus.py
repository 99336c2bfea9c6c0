#!/usr/bin/env python3
"""Writes a synthetic corpus of N connector specs for the build benchmark.

Each connector: an api_key auth, 20 actions (every fifth one a trigger),
each with 15 fields: 9 top-level inputs (one a static dropdown), a group
holding 3 fields and a repeating group of 2, and output fields. Usage:

    bench/build/gen_corpus.py N DIR [--json]

The specs are written as people write them (specs/ shows it): block
mappings and sequences, short label maps in flow style, strings plain
where YAML allows and double-quoted elsewhere. `--json` writes the same
specs as indented JSON (which is YAML too) instead.
"""
import json
import os
import re
import sys

# Strings that stay plain scalars: no YAML indicator, nothing that would
# resolve to another type.
PLAIN = re.compile(r"^[A-Za-z\u4e00-\u9fff][\w .\u4e00-\u9fff/()-]*$")
RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}


def scalar(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if PLAIN.match(value) and value.lower() not in RESERVED and not value.endswith(" "):
        return value
    # A JSON string is a YAML double-quoted scalar.
    return json.dumps(value, ensure_ascii=False)


def is_scalar(value):
    return not isinstance(value, (dict, list))


def flow(value):
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return scalar(value)


def short(value):
    """Label maps and the like read best on one line."""
    return all(is_scalar(v) for v in value.values()) and len(value) <= 3 and len(flow(value)) <= 60


def block(value, indent, out):
    pad = " " * indent
    if isinstance(value, dict):
        for key, item in value.items():
            if is_scalar(item) or (isinstance(item, dict) and short(item)) or item in ([], {}):
                out.append(f"{pad}{key}: {flow(item)}")
            elif isinstance(item, list) and all(is_scalar(v) for v in item):
                out.append(f"{pad}{key}: {flow(item)}")
            else:
                out.append(f"{pad}{key}:")
                block(item, indent + 2, out)
    else:
        for item in value:
            if isinstance(item, dict) and not short(item):
                lines = []
                block(item, indent + 2, lines)
                lines[0] = pad + "- " + lines[0][indent + 2:]
                out.extend(lines)
            else:
                out.append(f"{pad}- {flow(item)}")


def to_yaml(spec):
    out = []
    block(spec, 0, out)
    return "\n".join(out) + "\n"


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
    as_json = "--json" in sys.argv[3:]
    os.makedirs(out, exist_ok=True)
    for i in range(n):
        with open(os.path.join(out, f"app_{i:05}.yaml"), "w") as f:
            if as_json:
                json.dump(connector(i), f, ensure_ascii=False, indent=1)
            else:
                f.write(to_yaml(connector(i)))


if __name__ == "__main__":
    main()
