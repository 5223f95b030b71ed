"""Reading an issue file's YAML into plain data plus the line of every field path.

PyYAML's node tree keeps positions that its constructed objects lose, so the file is composed
into nodes and converted here. Timestamps stay strings: pydantic parses them and can then say
that a datetime lacks its zone, instead of PyYAML silently producing a naive one.

A document is refused, with its line, when it is larger than `MAX_CHARS`, nested deeper than
`MAX_DEPTH`, or when its aliases (``*name``) would bring in more than `MAX_ALIAS_VALUES` values
in all: a few lines of anchors can otherwise expand into billions of values ("billion laughs").
The commonest syntax slip, a French title with an unquoted " : ", gets advice with its field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from newsletter.errors import IssueFileError

FieldPath = tuple[str | int, ...]

_BOOL = {"true": True, "false": False}

#: The largest document read, in characters: an issue file is a few kilobytes.
MAX_CHARS = 500_000
#: Mappings and lists nested in each other, at most: an issue file needs about six.
MAX_DEPTH = 32
#: Values that aliases may bring in, all aliases together.
MAX_ALIAS_VALUES = 1_000

# libyaml when PyYAML was built with it (several times faster on a large document); its
# composer recurses in C, which is safe only because nesting is checked on the events first.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class Located:
    """The data of a YAML document and, for each field path, its 1-based line."""

    data: Any
    lines: dict[FieldPath, int] = field(default_factory=dict)

    def line_of(self, path: FieldPath) -> int | None:
        """The line of `path`, or of its nearest ancestor that is in the file."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None


def load_yaml(text: str, path: str) -> Located:
    if len(text) > MAX_CHARS:
        raise IssueFileError(
            path, f"the document is larger than {MAX_CHARS:,} characters: an issue file is a "
            "few kilobytes (long texts belong in the pages it links to)",
        )  # fmt: skip
    _check_events(text, path)
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as err:  # an undefined or repeated anchor
        raise _syntax_error(err, text, path, None) from err
    except yaml.YAMLError as err:
        raise IssueFileError(path, f"not valid YAML: {err}") from err
    if node is None:
        raise IssueFileError(path, "the file is empty: an issue file is a YAML mapping", line=1)
    located = Located(data=None)
    located.data = _convert(node, (), _Walk(path, located))
    return located


class _Position:
    """Where a stream of YAML events has got to, as a field path.

    Each frame is [is_mapping, key or index, expecting a key]."""

    def __init__(self) -> None:
        self.stack: list[list[Any]] = []

    def feed(self, event: yaml.Event) -> None:
        stack = self.stack
        if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            if stack and stack[-1][0] and stack[-1][2]:
                stack[-1][1], stack[-1][2] = None, False  # a mapping or list used as a key
            stack.append([isinstance(event, yaml.MappingStartEvent), 0, True])
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            stack.pop()
            self._consumed()
        elif isinstance(event, yaml.ScalarEvent | yaml.AliasEvent):
            if stack and stack[-1][0] and stack[-1][2]:
                key = event.value if isinstance(event, yaml.ScalarEvent) else None
                stack[-1][1], stack[-1][2] = key, False
            else:
                self._consumed()

    def _consumed(self) -> None:
        if self.stack:
            frame = self.stack[-1]
            if frame[0]:
                frame[2] = True
            else:
                frame[1] += 1

    def field(self, text: str, line: int | None) -> str | None:
        """The dotted path reached; when the events stop before a key, the key written on
        ``line`` (the scanner fails on a line before telling its key)."""
        parts: list[str] = []
        for is_mapping, step, expecting_key in self.stack:
            if is_mapping and (expecting_key or step is None):
                lines = text.splitlines()
                if expecting_key and line is not None and 0 < line <= len(lines):
                    written = _LINE_KEY.match(lines[line - 1])
                    if written:
                        parts.append(written.group(1))
                break
            parts.append(str(step)[:60])
        # Inside an unfinished list, the list's own field is the one to look at.
        while parts and self.stack[len(parts) - 1][0] is False:
            parts.pop()
        return ".".join(parts) or None


_LINE_KEY = re.compile(r"\s*([A-Za-z_][\w-]*)\s*:")


def _check_events(text: str, path: str) -> None:
    """Syntax errors and nesting past `MAX_DEPTH`, found on the events (which the parser makes
    without recursion), each with its line and the field it was in."""
    position = _Position()
    try:
        for event in yaml.parse(text, Loader=_LOADER):
            position.feed(event)
            if len(position.stack) > MAX_DEPTH:
                mark = event.start_mark
                raise IssueFileError(
                    path, f"nested deeper than {MAX_DEPTH} levels: an issue file needs a few",
                    field=position.field(text, None), line=mark.line + 1 if mark else None,
                )  # fmt: skip
    except yaml.MarkedYAMLError as err:
        raise _syntax_error(err, text, path, position) from err
    except yaml.YAMLError as err:
        raise IssueFileError(path, f"not valid YAML: {err}") from err


def _syntax_error(
    err: yaml.MarkedYAMLError, text: str, path: str, position: _Position | None
) -> IssueFileError:
    mark = err.problem_mark or err.context_mark
    problem = err.problem or err.context or "syntax error"
    line = mark.line + 1 if mark else None
    field = position.field(text, line) if position is not None else None
    return IssueFileError(
        path, f"not valid YAML: {problem}{_advice(problem, text, line)}", field=field, line=line
    )


def _advice(problem: str, text: str, line: int | None) -> str:
    """What to do about the commonest slips, in the words of the person editing the file."""
    if problem.startswith("mapping values are not allowed") and line is not None:
        lines = text.splitlines()
        shown = lines[line - 1].strip() if line <= len(lines) else ""
        key, _, value = shown.partition(":")
        if key and value.strip() and not value.strip().startswith(('"', "'")):
            example = f'{key.strip()}: "{value.strip()}"'
            if len(example) <= 100:
                return f' (a value that contains ": " must be in quotes: {example})'
        return ' (a value that contains ": " must be in quotes: key: "text : more text")'
    return ""


@dataclass
class _Walk:
    """One conversion: the file's name, where lines go, and what aliases have brought in."""

    path: str
    located: Located
    seen: set[int] = field(default_factory=set)
    aliased: int = 0

    def error(self, message: str, where: FieldPath, node: yaml.Node) -> IssueFileError:
        return IssueFileError(
            self.path, message, field=_dotted(where) or None, line=node.start_mark.line + 1
        )


def _convert(
    node: yaml.Node, where: FieldPath, walk: _Walk, depth: int = 0, via_alias: bool = False
) -> Any:
    if depth > MAX_DEPTH:
        raise walk.error(
            f"nested deeper than {MAX_DEPTH} levels (an alias that contains itself?)", where, node
        )
    # A node met a second time is one an alias (*name) brings in again.
    if id(node) in walk.seen:
        via_alias = True
    elif isinstance(node, yaml.CollectionNode):
        walk.seen.add(id(node))
    if via_alias:
        walk.aliased += 1
        if walk.aliased > MAX_ALIAS_VALUES:
            raise walk.error(
                f"aliases (*name) bring in more than {MAX_ALIAS_VALUES:,} values: write the "
                "values out, or use fewer aliases", where, node,
            )  # fmt: skip
    located, path = walk.located, walk.path
    located.lines.setdefault(where, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise IssueFileError(
                    path, "a key must be a plain name", field=_dotted(where),
                    line=key_node.start_mark.line + 1,
                )  # fmt: skip
            key = str(key_node.value)
            child = (*where, key)
            if key in result:
                raise IssueFileError(
                    path,
                    f"key {key!r} appears twice (first on line {located.lines[child]})",
                    field=_dotted(child),
                    line=key_node.start_mark.line + 1,
                )
            located.lines[child] = key_node.start_mark.line + 1
            result[key] = _convert(value_node, child, walk, depth + 1, via_alias)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _convert(item, (*where, index), walk, depth + 1, via_alias)
            for index, item in enumerate(node.value)
        ]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    value = str(node.value)
    tag = node.tag.rsplit(":", 1)[-1]
    if tag == "null":
        return None
    if tag == "int":
        try:
            return int(value.replace("_", ""), 0)
        except ValueError:
            return value
    if tag == "float":
        try:
            return float(value.replace("_", ""))
        except ValueError:
            return value
    # YAML 1.1 reads yes/no/on/off as booleans; only true/false are, here ("no" is Norwegian).
    if tag == "bool":
        return _BOOL.get(value.lower(), value)
    return value


def _dotted(path: FieldPath) -> str:
    return ".".join(str(part) for part in path)
