"""Reading an issue file's YAML into plain data plus the line of every field path.

PyYAML's node tree keeps positions that its constructed objects lose, so the file is composed
into nodes and converted here. Timestamps stay strings: pydantic parses them and can then say
that a datetime lacks its zone, instead of PyYAML silently producing a naive one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from newsletter.errors import IssueFileError

FieldPath = tuple[str | int, ...]

_BOOL = {"true": True, "false": False}


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
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        problem = err.problem or err.context or "syntax error"
        raise IssueFileError(
            path, f"not valid YAML: {problem}", line=mark.line + 1 if mark else None
        ) from err
    except yaml.YAMLError as err:
        raise IssueFileError(path, f"not valid YAML: {err}") from err
    if node is None:
        raise IssueFileError(path, "the file is empty: an issue file is a YAML mapping", line=1)
    located = Located(data=None)
    located.data = _convert(node, (), located, path)
    return located


def _convert(node: yaml.Node, where: FieldPath, located: Located, path: str) -> Any:
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
            result[key] = _convert(value_node, child, located, path)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _convert(item, (*where, index), located, path) for index, item in enumerate(node.value)
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
