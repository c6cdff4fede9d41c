"""A strict parser for the subset of YAML our workflow files use.

Python's standard library has no YAML parser, and the test suite must not
need packages beyond it. Workflow files use a small part of YAML: block
mappings and sequences, flow sequences of scalars, quoted and plain
scalars, literal block scalars (|) and comments. This parser accepts
exactly that and raises YamlError, with the line number, on anything else
(tabs, bad indentation, duplicate keys, unclosed quotes), which is what a
test of "the workflow parses" needs to catch.
"""

import re


class YamlError(Exception):
    pass


_KEY = re.compile(r'^([A-Za-z0-9_.${}\-/ ]+?|"[^"]*"|\'[^\']*\'):(?: (.*))?$')


def _strip_comment(text):
    out, quote = [], None
    for i, c in enumerate(text):
        if quote:
            if c == quote:
                quote = None
        elif c in "\"'" and (i == 0 or text[i - 1] in " [,:"):
            quote = c
        elif c == "#" and (i == 0 or text[i - 1] == " "):
            break
        out.append(c)
    if quote:
        raise YamlError("unclosed quote")
    return "".join(out).rstrip()


def _scalar(text, lineno):
    text = text.strip()
    if text == "":
        return None
    if text[0] == '"':
        if len(text) < 2 or text[-1] != '"':
            raise YamlError(f"line {lineno}: unclosed double quote")
        return text[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if text[0] == "'":
        if len(text) < 2 or text[-1] != "'":
            raise YamlError(f"line {lineno}: unclosed single quote")
        return text[1:-1].replace("''", "'")
    if text[0] == "[":
        if text[-1] != "]":
            raise YamlError(f"line {lineno}: unclosed flow sequence")
        inner = text[1:-1].strip()
        return [] if not inner else [_scalar(p, lineno) for p in inner.split(",")]
    if text[0] in "{&*!%@`":
        raise YamlError(f"line {lineno}: unsupported YAML syntax {text[0]!r}")
    if re.fullmatch(r"-?[0-9]+", text):
        return int(text)
    if text in ("true", "false"):
        return text == "true"
    if text in ("null", "~"):
        return None
    return text


class _Lines:
    def __init__(self, text):
        self.items = []  # (lineno, indent, content)
        raw = text.split("\n")
        i = 0
        while i < len(raw):
            line = raw[i]
            if "\t" in line[: len(line) - len(line.lstrip())]:
                raise YamlError(f"line {i + 1}: tab in indentation")
            stripped = _strip_comment(line) if line.strip() else ""
            if stripped.strip():
                indent = len(line) - len(line.lstrip(" "))
                self.items.append([i + 1, indent, stripped.strip(), raw, i])
            i += 1
        self.pos = 0

    def peek(self):
        return self.items[self.pos] if self.pos < len(self.items) else None


def _block_scalar(lines, parent_indent, start):
    """Collects a | block: every following line indented deeper."""
    first = lines.peek()
    raw, i = start[3], start[4] + 1
    out, indent = [], None
    while i < len(raw):
        line = raw[i]
        if line.strip():
            ind = len(line) - len(line.lstrip(" "))
            if ind <= parent_indent:
                break
            indent = ind if indent is None else indent
            if ind < indent:
                raise YamlError(f"line {i + 1}: block scalar dedents")
            out.append(line[indent:])
        else:
            out.append("")
        i += 1
    while lines.peek() and lines.peek()[4] < i:
        lines.pos += 1
    del first
    return "\n".join(out).rstrip("\n") + "\n"


def _parse_node(lines, indent):
    item = lines.peek()
    if item is None:
        return None
    if item[2].startswith("- ") or item[2] == "-":
        return _parse_seq(lines, item[1])
    return _parse_map(lines, item[1])


def _value(lines, rest, indent, entry):
    if rest is None or rest == "":
        nxt = lines.peek()
        if nxt and nxt[1] > indent:
            return _parse_node(lines, nxt[1])
        if nxt and nxt[1] == indent and nxt[2].startswith("- "):
            return _parse_seq(lines, indent)
        return None
    if rest in ("|", "|-", ">"):
        if rest == ">":
            raise YamlError(f"line {entry[0]}: folded scalars are not supported")
        return _block_scalar(lines, indent, entry)
    return _scalar(rest, entry[0])


def _parse_map(lines, indent):
    result = {}
    while True:
        item = lines.peek()
        if item is None or item[1] < indent:
            return result
        if item[1] > indent:
            raise YamlError(f"line {item[0]}: unexpected indentation")
        if item[2].startswith("- "):
            raise YamlError(f"line {item[0]}: a list item where a key was expected")
        m = _KEY.match(item[2])
        if not m:
            raise YamlError(f"line {item[0]}: expected 'key: value', got {item[2]!r}")
        key = _scalar(m.group(1), item[0])
        if key in result:
            raise YamlError(f"line {item[0]}: duplicate key {key!r}")
        lines.pos += 1
        result[key] = _value(lines, m.group(2), indent, item)


def _parse_seq(lines, indent):
    result = []
    while True:
        item = lines.peek()
        if item is None or item[1] < indent:
            return result
        if item[1] > indent:
            raise YamlError(f"line {item[0]}: unexpected indentation")
        if not (item[2].startswith("- ") or item[2] == "-"):
            return result
        rest = item[2][2:].strip() if item[2] != "-" else ""
        if _KEY.match(rest) and not rest.startswith(("'", '"')):
            # "- key: value" opens a mapping whose keys align after "- ".
            inner = indent + 2
            item[1], item[2] = inner, rest
            result.append(_parse_map(lines, inner))
        else:
            lines.pos += 1
            result.append(_value(lines, rest, indent, item))


def loads(text):
    lines = _Lines(text)
    if lines.peek() is None:
        return None
    doc = _parse_node(lines, 0)
    left = lines.peek()
    if left is not None:
        raise YamlError(f"line {left[0]}: unexpected content {left[2]!r}")
    return doc
