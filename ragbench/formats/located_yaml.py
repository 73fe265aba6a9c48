"""YAML files whose every key path knows its line, so that errors name the file, line and key.

Shared by the readers of ragbench's YAML files (pipeline configs, suite files)::

    doc = LocatedYaml(path, "pipeline config")
    doc.data                         # the parsed document (yaml.safe_load)
    doc.where("retrievers[0].k1")    # 'pipeline.yaml:7: retrievers[0].k1'
    raise doc.fail("depth", "expected a positive whole number")

Key paths join mapping keys with ``.`` and list items with ``[i]``. A key that is not in the file
(a default, a value filled in by the program) is located at its nearest parent that is.
:meth:`LocatedYaml.scope` gives a view of a nested mapping whose key paths are relative to it, so a
reader written for a whole file also reads a section of another one (a suite file's conditions are
pipeline configs) and its messages still name the full key path.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ragbench.errors import InputError


class LocatedYaml:
    """A YAML document with the line of every key path (see the module docstring).

    Attributes:
        name: The file name used in messages.
        data: The parsed document (or, for a :meth:`scope`, the nested value).
        prefix: The key path of this view inside the document ("" for the whole file).
    """

    def __init__(self, path: str | os.PathLike[str], what: str = "YAML file") -> None:
        """Read and parse ``path``.

        Raises:
            InputError: the file is missing, unreadable, not UTF-8 or not valid YAML (with the line).
        """
        import yaml

        source = Path(path)
        self.name = str(path)
        self.prefix = ""
        try:
            text = source.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputError(f"{path}: no such {what}") from None
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not UTF-8 (byte {exc.start})") from None
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
        self.lines: dict[str, int] = {}
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            self.data: Any = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f":{mark.line + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise InputError(f"{path}{line}: not valid YAML: {problem}") from None
        if node is not None:
            self._walk(node, "")

    def _walk(self, node: Any, prefix: str) -> None:
        import yaml

        self.lines.setdefault(prefix, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                path = f"{prefix}.{key.value}" if prefix else str(key.value)
                self.lines[path] = key.start_mark.line + 1
                self._walk(value, path)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._walk(item, f"{prefix}[{index}]")

    def full_key(self, key: str) -> str:
        """``key`` (relative to this view) as a key path of the whole document."""
        if not self.prefix:
            return key
        if not key:
            return self.prefix
        return f"{self.prefix}{key}" if key.startswith("[") else f"{self.prefix}.{key}"

    def line(self, key: str) -> int:
        """The line of ``key``, or of its nearest parent in the file (1 when none is)."""
        probe = self.full_key(key)
        while probe and probe not in self.lines:
            parent = probe.rpartition(".")[0]
            probe = parent if len(parent) < len(probe.rpartition("[")[0]) else probe.rpartition("[")[0]
        return self.lines.get(probe, 1)

    def where(self, key: str) -> str:
        """``file:line: key`` for messages (``file:line`` for the document itself)."""
        full = self.full_key(key)
        return f"{self.name}:{self.line(key)}: {full}" if full else f"{self.name}:1"

    def fail(self, key: str, message: str) -> InputError:
        """An :class:`InputError` ``file:line: key: message`` (the caller raises it)."""
        return InputError(f"{self.where(key)}: {message}")

    def scope(self, key: str, data: Any = None) -> LocatedYaml:
        """A view of the value at ``key`` (or of ``data``, standing for it): its key paths are
        relative to ``key``, its messages name the full path."""
        view = object.__new__(LocatedYaml)
        view.name = self.name
        view.lines = self.lines
        view.prefix = self.full_key(key)
        view.data = data
        return view
