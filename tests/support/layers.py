"""The house rules of ragbench's imports, read from the source (AST), never by importing it.

Rules (DESIGN.md, docs/architecture.md):

1. The core (``ragbench/`` except ``ragbench/cli/``) imports none of ``api``, ``indexers``,
   ``rankers`` and nothing of the CLI.
2. ``indexers`` never imports ``rankers``.
3. No module imports another package's underscore names: ``from pkg.mod import _name`` or
   ``import pkg._mod`` is allowed only inside ``pkg`` (a package's own private modules).
4. Nothing changes the process environment at import time (``os.environ[...] = ``,
   ``os.environ.setdefault/update/pop/clear``, ``os.putenv``, ``os.unsetenv`` outside a function).
5. The core imports nothing heavy at module level (torch, Ray, the JVM, FAISS, transformers,
   the web stack; SQLAlchemy and Alembic only inside ``ragbench/store``).
6. No import circle anywhere in the house (imports inside functions count; ``TYPE_CHECKING``
   blocks do not, they never run).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGES = ("ragbench", "api", "indexers", "rankers")
ADAPTERS = ("api", "indexers", "rankers")
HEAVY = ("torch", "ray", "jnius", "pyserini", "faiss", "sentence_transformers", "transformers",
         "litestar", "uvicorn", "onnxruntime", "sqlalchemy", "alembic", "httpx")  # fmt: skip
STORE_MAY = ("sqlalchemy", "alembic")
ENV_METHODS = {"setdefault", "update", "pop", "clear", "popitem", "__setitem__", "__delitem__"}


@dataclass(frozen=True, order=True)
class Violation:
    path: str
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: [{self.rule}] {self.message}"


@dataclass(frozen=True)
class Import:
    target: str  # the module named (``a.b`` for ``from a.b import c``)
    names: tuple[str, ...]  # names taken from it (empty for ``import a.b``)
    line: int
    top_level: bool  # executed when the module is imported (not inside a function)
    type_checking: bool  # inside ``if TYPE_CHECKING:``


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files(root: Path) -> Iterator[Path]:
    for package in PACKAGES:
        folder = root / package
        if folder.is_dir():
            yield from sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports_of(tree: ast.Module, module: str, is_package: bool) -> list[Import]:
    found: list[Import] = []

    def visit(node: ast.AST, top: bool, checking: bool) -> None:
        if isinstance(node, ast.Import):
            found.extend(Import(a.name, (), node.lineno, top, checking) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            names = tuple(a.name for a in node.names)
            found.append(Import(_resolve(module, is_package, node), names, node.lineno, top, checking))
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, top, True)
            for child in node.orelse:
                visit(child, top, checking)
            return
        inner = top and not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        for child in ast.iter_child_nodes(node):
            visit(child, inner, checking)

    visit(tree, True, False)
    return found


def _env_changes(tree: ast.Module) -> Iterator[int]:
    """Lines that change ``os.environ`` (or call putenv/unsetenv) outside any function."""

    def is_environ(node: ast.AST) -> bool:
        return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
            isinstance(node, ast.Name) and node.id == "environ"
        )

    def walk(node: ast.AST) -> Iterator[int]:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            return
        if isinstance(node, ast.Assign | ast.AugAssign | ast.Delete):
            targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
            if any(isinstance(t, ast.Subscript) and is_environ(t.value) for t in targets):
                yield node.lineno
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            func = node.func
            if func.attr in ENV_METHODS and is_environ(func.value):
                yield node.lineno
            if func.attr in ("putenv", "unsetenv"):
                yield node.lineno
        for child in ast.iter_child_nodes(node):
            yield from walk(child)

    yield from walk(tree)


def _in_house(name: str) -> bool:
    return name.split(".", maxsplit=1)[0] in PACKAGES


def _private_owner(target: str, names: tuple[str, ...]) -> str | None:
    """The package whose private name or module this import reaches, if it reaches one."""
    parts = target.split(".")
    for i, part in enumerate(parts):
        if part.startswith("_") and not part.startswith("__"):
            return ".".join(parts[:i])
    if any(n.startswith("_") and not n.startswith("__") for n in names):
        return target  # a private name of the module ``target`` (or of the package ``target``)
    return None


def check(root: Path) -> list[Violation]:
    """Every violation of the rules above in the tree at ``root``."""
    root = Path(root)
    modules: dict[str, tuple[Path, list[Import]]] = {}
    violations: list[Violation] = []
    for path in source_files(root):
        name = module_name(root, path)
        rel = str(path.relative_to(root))
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
        found = imports_of(tree, name, path.name == "__init__.py")
        modules[name] = (path, found)
        core = name.split(".")[0] == "ragbench" and not name.startswith("ragbench.cli")
        for line in _env_changes(tree):
            violations.append(Violation(rel, line, "environ", "changes the process environment at import"))
        for imp in found:
            top = imp.target.split(".")[0]
            if core and (top in ADAPTERS or imp.target.startswith("ragbench.cli")):
                violations.append(Violation(rel, imp.line, "core", f"the core imports {imp.target}"))
            if name.split(".")[0] == "indexers" and top == "rankers":
                violations.append(Violation(rel, imp.line, "indexers", f"indexers imports {imp.target}"))
            owner = _private_owner(imp.target, imp.names) if _in_house(imp.target) else None
            if owner is not None and not (name == owner or name.startswith(owner + ".")):
                what = ", ".join(imp.names) if imp.names else imp.target
                violations.append(
                    Violation(
                        rel, imp.line, "private", f"imports {what} from {imp.target}, private to {owner}"
                    )
                )
            in_store = name.startswith("ragbench.store")
            heavy = top in HEAVY and not (in_store and top in STORE_MAY)
            if core and imp.top_level and not imp.type_checking and heavy:
                violations.append(Violation(rel, imp.line, "heavy", f"imports {imp.target} at import time"))
    extensions = {
        module_name(root, c.with_suffix(".py"))
        for p in PACKAGES
        if (root / p).is_dir()
        for c in (root / p).rglob("*.c")
    }
    violations.extend(_cycles(root, modules, extensions))
    return sorted(violations)


def _edges(modules: dict[str, tuple[Path, list[Import]]], extensions: set[str]) -> dict[str, set[str]]:
    """Module -> the in-house modules it imports (a name taken from a package that is one of its
    modules counts as that module; C extensions import nothing of the house)."""
    edges: dict[str, set[str]] = {name: set() for name in modules}
    for name, (_, found) in modules.items():
        for imp in found:
            if imp.type_checking or not _in_house(imp.target):
                continue
            submodules = {f"{imp.target}.{n}" for n in imp.names} & (set(modules) | extensions)
            targets = [t for t in submodules if t in modules]
            if len(submodules) < len(imp.names) or not imp.names:
                targets.append(imp.target)
            edges[name].update(t for t in targets if t in modules and t != name)
    return edges


def _cycles(
    root: Path, modules: dict[str, tuple[Path, list[Import]]], extensions: set[str]
) -> list[Violation]:
    """Strongly connected components of more than one module (Tarjan), as violations."""
    edges = _edges(modules, extensions)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0

    def connect(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges[node]):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            connect(node)
    found = []
    for component in components:
        first = component[0]
        path = modules[first][0].relative_to(root)
        found.append(Violation(str(path), 1, "circle", "import circle: " + " -> ".join([*component, first])))
    return found
