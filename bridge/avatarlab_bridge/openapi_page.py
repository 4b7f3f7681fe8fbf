"""``/v1/docs``: the OpenAPI description as one readable HTML page, made here (no script or style from a CDN)."""

from __future__ import annotations

from html import escape
from typing import Any

_STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; max-width: 960px; margin: 24px auto; padding: 0 16px; color: #222; }
code, pre { font-family: ui-monospace, monospace; font-size: 13px; }
.op { border: 1px solid #ccd; border-radius: 6px; margin: 14px 0; padding: 8px 14px; }
.method { font-weight: bold; display: inline-block; min-width: 64px; }
.get { color: #1565c0; } .post { color: #2e7d32; } .delete { color: #c62828; }
table { border-collapse: collapse; margin: 6px 0; } td, th { border: 1px solid #dde; padding: 3px 8px; text-align: left;
vertical-align: top; }
"""


def _ref(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec.get("components", {}).get("schemas", {}).get(name, {})
    return schema


def _type(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return " | ".join(repr(v) for v in schema["enum"])
    if "const" in schema:
        return repr(schema["const"])
    if "anyOf" in schema:
        return " or ".join(_type(s) for s in schema["anyOf"])
    if schema.get("type") == "array":
        return f"list of {_type(schema.get('items', {}))}"
    kind = str(schema.get("type", schema.get("format", "any")))
    bounds = [f"{word} {schema[key]}" for key, word in (("minimum", ">="), ("exclusiveMinimum", ">"),
                                                         ("maximum", "<="), ("exclusiveMaximum", "<"))
              if key in schema]
    return kind + (f" ({', '.join(bounds)})" if bounds else "")


def _fields(spec: dict[str, Any], schema: dict[str, Any]) -> str:
    schema = _ref(spec, schema)
    properties = schema.get("properties") or {}
    if not properties:
        return ""
    rows = "".join(
        f"<tr><td><code>{escape(name)}</code></td><td>{escape(_type(_ref(spec, value)))}</td>"
        f"<td><code>{escape(repr(value['default'])) if 'default' in value else ''}</code></td>"
        f"<td>{escape(value.get('description', ''))}</td></tr>"
        for name, value in properties.items())
    return f"<table><tr><th>field</th><th>type</th><th>default</th><th>meaning</th></tr>{rows}</table>"


def _operation(spec: dict[str, Any], base: str, path: str, method: str, op: dict[str, Any]) -> str:
    parts = [f"<div class='op'><span class='method {method}'>{method.upper()}</span> "
             f"<code>{escape(base + path)}</code> — {escape(op.get('summary', ''))}"]
    for content_type, body in (op.get("requestBody") or {}).get("content", {}).items():
        parts.append(f"<div>body: <code>{escape(content_type)}</code>{_fields(spec, body.get('schema', {}))}</div>")
    codes = ", ".join(escape(code) for code in op.get("responses", {}))
    parts.append(f"<div>answers: {codes}</div></div>")
    return "".join(parts)


def docs_page(spec: dict[str, Any]) -> str:
    """Every operation with its body fields and answers, plus where the machine-readable description is."""
    info = spec.get("info", {})
    base = (spec.get("servers") or [{"url": ""}])[0]["url"].rstrip("/")
    ops = [_operation(spec, base, path, method, op)
           for path, methods in spec.get("paths", {}).items() for method, op in methods.items()]
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(info.get('title', 'API'))}"
            f"</title><style>{_STYLE}</style></head><body><h1>{escape(info.get('title', 'API'))}</h1>"
            f"<p>{escape(info.get('description', ''))}</p><p>Machine-readable: <a href='{base}/openapi.json'>"
            f"{base}/openapi.json</a> (OpenAPI {escape(spec.get('openapi', ''))}). Errors are JSON: "
            "<code>{\"error\": code, \"message\": ..., \"field\": ...}</code>.</p>" + "".join(ops) + "</body></html>")
