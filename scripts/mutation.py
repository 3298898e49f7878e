"""Mutation testing of the safety-critical code: does the suite notice when it breaks?

For each module below, the functions that keep a promise (job bookkeeping and cancel, inpaint
compositing, secrets and settings persistence, URL normalisation, reading server answers) are
mutated one change at a time: a comparison flipped, ``and``/``or`` swapped, a condition negated,
a constant changed, a call or assignment deleted, a return value dropped. Each mutant runs the
module's tests (fastest first, stop at the first failure); a mutant the tests fail on (or that
hangs past the time limit) is killed. The report gives the share killed per module and lists
the survivors; ``EQUIVALENT`` names survivors that cannot change behaviour, with the reason.

It is a report, not part of ``.ci/run``: slow (minutes per module) and run by hand:

    .venv/bin/python scripts/mutation.py                 # every module
    .venv/bin/python scripts/mutation.py comfy/jobs.py   # one module (path under ai_diffusion/)
    .venv/bin/python scripts/mutation.py --list          # the mutants only, no tests
    .venv/bin/python scripts/mutation.py --json out.json

The work happens in a temporary copy of the tracked files; the checkout is never modified.
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Target:
    functions: tuple[str, ...]  # "name" or "Class.name"
    tests: tuple[str, ...]  # fastest first


TARGETS: dict[str, Target] = {
    "comfy/jobs.py": Target(
        ("JobTracker.add", "JobTracker.end", "JobTracker.on_message", "JobTracker._finish",
         "JobTracker.settle_from_history", "JobTracker.download_known_results",
         "JobTracker._mark_started"),
        ("tests/test_jobs_unit.py", "tests/test_comfy_jobs.py", "tests/test_delivered_once.py",
         "tests/test_comfy_faults.py", "tests/test_comfy_sockets.py"),
    ),
    "comfy/client.py": Target(
        ("ComfyClient.cancel", "ComfyClient.cancel_all", "ComfyClient.reconcile",
         "ComfyClient._poll_while_quiet", "ComfyClient._watch_jobs", "ComfyClient._queue_position",
         "ComfyClient._history"),
        ("tests/test_cancel_only_own.py", "tests/test_comfy_jobs.py",
         "tests/test_delivered_once.py", "tests/test_comfy_sockets.py",
         "tests/test_comfy_faults.py"),
    ),
    "comfy/answers.py": Target(
        ("system_stats", "prompt_answer", "Queue.position", "queue", "history_entry", "images",
         "output_images", "outcome"),
        ("tests/test_answers_unit.py", "tests/test_comfy_jobs.py", "tests/test_comfy_faults.py"),
    ),
    "workflow/builder.py": Target(
        ("_Builder.inpaint", "_Builder.soften_mask"),
        ("tests/test_workflow_build.py", "tests/test_executor.py"),
    ),
    "cli/request_args.py": Target(
        ("paste_result",),
        ("tests/test_executor.py", "tests/test_cli_workflows.py"),
    ),
    "comfy/config.py": Target(
        ("normalize_url", "split_credentials", "without_credentials",
         "ServerConfig.auth_headers"),
        ("tests/test_config_unit.py", "tests/test_comfy_connect.py", "tests/test_comfy_protocol.py"),
    ),
    "settings.py": Target(
        ("Settings.load", "Settings.save", "_without_userinfo"),
        ("tests/test_settings.py",),
    ),
    "secrets.py": Target(
        ("SecretStore.get", "SecretStore.set", "SecretStore.delete", "system_keyring"),
        ("tests/test_secrets.py",),
    ),
    "ui/docker_widget.py": Target(
        ("DockerWidget.take_login_from_address", "DockerWidget.save_settings",
         "DockerWidget._load_settings"),
        ("tests/widgets/test_docker_flow.py", "tests/widgets/test_secrets_cycle.py"),
    ),
}  # fmt: skip

# Survivors that cannot change what a user sees, with the reason (module, line text, change).
EQUIVALENT: dict[tuple[str, str, str], str] = {
    ("settings.py", 'tmp.write_text(json.dumps(values, indent=2), encoding="utf-8")', "2 -> 3"):
        "only the indentation of the JSON file",
    ("settings.py", "return f\"{scheme}{sep}{authority.rsplit('@', 1)[-1]}{slash}{path}\"",
     "1 -> 2"): "the part after the last '@' is the same for any maxsplit of 1 or more",
    ("secrets.py", 'if isinstance(backend, fail.Keyring) or type(backend).__module__ == '
     '"keyring.backends.null":', "Or -> And"):
        "the fail and null backends have a priority of 0 or less: the next check refuses them",
    ("secrets.py", 'if float(getattr(backend, "priority", 1)) <= 0:', "1 -> 2"):
        "any positive default priority means usable",
    ("secrets.py", "if value is None and self._keyring is not None:", "And -> Or"):
        "memory and the store hold the same value (set writes both); without a store the "
        "extra read fails inside the try and the value stays None",
    ("comfy/jobs.py", "await asyncio.sleep(delay)", "delete statement"):
        "only the pause between download retries (the tests take no timings)",
    ("comfy/jobs.py", "return False", "return None"): "the only caller tests truthiness",
    ("workflow/builder.py", "assert r.image is not None and r.mask is not None", "And -> Or"):
        "an assertion for the type checker: the request was validated before",
    ("comfy/client.py", "for _ in range(2):  # a second look, in case it started while being "
     "removed", "2 -> 3"): "a third look at the queue finds what the second found",
    ("comfy/client.py", "self._submitting.discard(job_id)", "delete statement"):
        "an id left behind is looked up again by the next cancel_all: not in the queue, "
        "nothing happens",
    ("comfy/client.py", "self._heard = asyncio.get_running_loop().time()", "delete statement"):
        "polls come earlier or more often; a poll settles only jobs that ended, exactly once",
    ("comfy/client.py", "await asyncio.sleep(self.quiet_poll - quiet)", "Sub -> Add"):
        "the poll comes later (timing only; the tests take no timings)",
    ("comfy/client.py", "return 0", "return None"):
        "an unknown queue position: None and 0 both read as no jobs ahead (docker and CLI)",
    ("comfy/answers.py", "details=repr(body)[:300],", "300 -> 301"):
        "one character more of technical details for the log",
}  # fmt: skip


@dataclass
class Mutant:
    module: str
    function: str
    line: int
    change: str
    source_line: str
    outcome: str = ""  # killed, survived, timeout, equivalent


# --- generating mutants ----------------------------------------------------------------------

FLIP = {
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Lt: ast.GtE, ast.GtE: ast.Lt, ast.Gt: ast.LtE,
    ast.LtE: ast.Gt, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
}  # fmt: skip
ARITH = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult}


def _functions(tree: ast.Module, wanted: tuple[str, ...]) -> Iterator[tuple[str, ast.AST]]:
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in wanted:
            yield node.name, node
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                name = f"{node.name}.{getattr(item, 'name', '')}"
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and name in wanted:
                    yield name, item


def _is_docstring(node: ast.AST, parent: ast.AST | None) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def _changes(node: ast.AST) -> Iterator[tuple[str, callable]]:  # type: ignore[valid-type]
    """(description, apply) for each mutation of ``node`` itself; apply edits a copy."""
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in FLIP:
                new = FLIP[type(op)]

                def flip(n: ast.Compare, i: int = i, new: type = new) -> None:
                    n.ops[i] = new()

                yield f"{type(op).__name__} -> {new.__name__}", flip
    elif isinstance(node, ast.BoolOp):
        other = ast.Or if isinstance(node.op, ast.And) else ast.And

        def swap(n: ast.BoolOp, other: type = other) -> None:
            n.op = other()

        yield f"{type(node.op).__name__} -> {other.__name__}", swap
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield "drop not", "unwrap"
    elif isinstance(node, ast.BinOp) and type(node.op) in ARITH:
        new_op = ARITH[type(node.op)]

        def arith(n: ast.BinOp, new_op: type = new_op) -> None:
            n.op = new_op()

        yield f"{type(node.op).__name__} -> {new_op.__name__}", arith
    elif isinstance(node, ast.Constant) and not isinstance(node.value, str):
        value = node.value
        if isinstance(value, bool):
            yield f"{value} -> {not value}", lambda n: setattr(n, "value", not n.value)
        elif isinstance(value, (int, float)):
            yield f"{value} -> {value + 1}", lambda n: setattr(n, "value", n.value + 1)
    elif isinstance(node, ast.Return) and node.value is not None:
        if not (isinstance(node.value, ast.Constant) and node.value.value is None):
            yield "return None", lambda n: setattr(n, "value", ast.Constant(None))
    elif isinstance(node, (ast.If, ast.While)):

        def negate(n: ast.If | ast.While) -> None:
            n.test = ast.UnaryOp(ast.Not(), n.test)

        yield "negate condition", negate
    # Deleting a call or a change of state (an attribute, an item). Deleting the assignment of
    # a local name is left out: it only raises NameError, which any test notices.
    state = isinstance(node, (ast.Assign, ast.AugAssign)) and not all(
        isinstance(t, ast.Name) for t in getattr(node, "targets", [getattr(node, "target", None)])
    )
    if (isinstance(node, ast.Expr) and not _is_docstring(node, None)) or state:
        yield "delete statement", "delete"


def mutants_of(module: str, target: Target, root: Path = ROOT) -> Iterator[tuple[Mutant, str]]:
    path = root / "ai_diffusion" / module
    source = path.read_text()
    lines = source.splitlines()
    tree = ast.parse(source)
    for name, function in _functions(tree, target.functions):
        body_nodes = [n for stmt in function.body for n in ast.walk(stmt)]  # type: ignore[attr-defined]
        for index, node in enumerate(body_nodes):
            for change, apply in _changes(node):
                mutated_tree = copy.deepcopy(tree)
                mutated_fn = next(f for n, f in _functions(mutated_tree, (name,)))
                twin = [n for stmt in mutated_fn.body for n in ast.walk(stmt)][index]  # type: ignore[attr-defined]
                if apply == "delete":
                    if not _replace(mutated_fn, twin, ast.Pass()):
                        continue
                elif apply == "unwrap":
                    if not _replace(mutated_fn, twin, twin.operand):  # type: ignore[attr-defined]
                        continue
                else:
                    apply(twin)
                ast.fix_missing_locations(mutated_tree)
                line = getattr(node, "lineno", function.lineno)  # type: ignore[attr-defined]
                mutant = Mutant(module, name, line, change, lines[line - 1].strip())
                yield mutant, ast.unparse(mutated_tree)


def _replace(root: ast.AST, old: ast.AST, new: ast.AST) -> bool:
    for parent in ast.walk(root):
        for field, value in ast.iter_fields(parent):
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if item is old:
                        value[i] = new
                        return True
            elif value is old:
                setattr(parent, field, new)
                return True
    return False


# --- running them ---------------------------------------------------------------------------


def _copy_tree(destination: Path) -> None:
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    for name in files:
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


PRELOAD = ("aiohttp", "aiohttp.web", "websockets", "keyring", "numpy", "PIL.Image",
           "hypothesis", "pytest_asyncio", "pytestqt.plugin", "pytest_timeout", "qasync")  # fmt: skip


def _preload() -> None:
    """Third-party imports done once, before forking a child per mutant (the project's own
    modules are never imported here, so each child imports the mutated file)."""
    import importlib

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:
            pass


def _pytest(work: Path, tests: tuple[str, ...], timeout: float) -> tuple[bool, float]:
    """(passed, seconds): pytest in a forked child of this (preloaded) process."""
    if not hasattr(os, "fork"):
        return _pytest_process(work, tests, timeout)
    args = ["-x", "-q", "-p", "no:cacheprovider", "-o", "addopts=", "--timeout",
            str(int(timeout)), *tests]  # fmt: skip
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child: run the tests in the copy, report by exit status
        code = 3
        try:
            os.chdir(work)
            sys.path.insert(0, str(work))
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            import pytest

            code = int(pytest.main(args))
        finally:
            os._exit(code)
    deadline = start + timeout + 30
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status) == 0, time.monotonic() - start
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            return False, time.monotonic() - start
        time.sleep(0.05)


def _pytest_process(work: Path, tests: tuple[str, ...], timeout: float) -> tuple[bool, float]:
    """(passed, seconds)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONDONTWRITEBYTECODE": "1"}
    env.setdefault("AI_DIFFUSION_QT", "5")
    env.setdefault("PYTEST_QT_API", "pyqt5")
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
               "-o", "addopts=", "--timeout", str(int(timeout)), *tests]  # fmt: skip
    start = time.monotonic()
    try:
        result = subprocess.run(
            command, cwd=work, env=env, capture_output=True, timeout=timeout + 30
        )
    except subprocess.TimeoutExpired:
        return False, time.monotonic() - start
    return result.returncode == 0, time.monotonic() - start


def run_module(module: str, target: Target, work: Path) -> list[Mutant]:
    tests = tuple(t for t in target.tests if (ROOT / t).exists())
    ok, baseline = _pytest(work, tests, 600)
    if not ok:
        raise SystemExit(f"{module}: its tests fail without any mutation; fix them first")
    limit = max(30.0, baseline * 3)
    path = work / "ai_diffusion" / module
    original = path.read_text()
    results = []
    try:
        for mutant, source in mutants_of(module, target, work):
            path.write_text(source)
            passed, seconds = _pytest(work, tests, limit)
            if not passed:
                mutant.outcome = "timeout" if seconds >= limit else "killed"
            else:
                key = (module, mutant.source_line, mutant.change)
                mutant.outcome = "equivalent" if key in EQUIVALENT else "survived"
            print(f"  {mutant.outcome:10} {module}:{mutant.line} {mutant.change:24} "
                  f"{mutant.source_line[:60]}", flush=True)  # fmt: skip
            results.append(mutant)
    finally:
        path.write_text(original)
    return results


def report(results: dict[str, list[Mutant]]) -> str:
    rows = ["| module | mutants | killed | equivalent | survived | killed share |",
            "| --- | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for module, mutants in results.items():
        killed = sum(m.outcome in ("killed", "timeout") for m in mutants)
        equivalent = sum(m.outcome == "equivalent" for m in mutants)
        survived = sum(m.outcome == "survived" for m in mutants)
        counted = len(mutants) - equivalent
        share = f"{100 * killed / counted:.0f} %" if counted else "–"
        rows.append(
            f"| {module} | {len(mutants)} | {killed} | {equivalent} | {survived} | {share} |"
        )
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="paths under ai_diffusion/ (default: all)")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    parser.add_argument(
        "--functions", nargs="+", help="only these functions (e.g. DockerWidget._load_settings)"
    )
    parser.add_argument("--json", type=Path, help="write every mutant and its outcome here")
    parser.add_argument(
        "--report", type=Path, nargs="+", help="print the table again from saved --json files"
    )
    args = parser.parse_args()
    if args.report:
        merged: dict[tuple[str, str], list[Mutant]] = {}
        for path in args.report:  # a later run of a function replaces its earlier runs
            runs: dict[tuple[str, str], list[Mutant]] = {}
            for items in json.loads(path.read_text()).values():
                for item in items:
                    m = Mutant(**item)
                    runs.setdefault((m.module, m.function), []).append(m)
            merged.update(runs)
        saved: dict[str, list[Mutant]] = {}
        for (module, _), mutants in merged.items():
            saved.setdefault(module, []).extend(mutants)
        for mutants in saved.values():
            for m in mutants:
                if m.outcome in ("survived", "equivalent"):
                    key = (m.module, m.source_line, m.change)
                    m.outcome = "equivalent" if key in EQUIVALENT else "survived"
        print(report(saved))
        return 0
    if args.functions:
        for name, target in TARGETS.items():
            wanted = tuple(f for f in target.functions if f in args.functions)
            TARGETS[name] = Target(wanted, target.tests)
    chosen = args.modules or list(TARGETS)
    unknown = [m for m in chosen if m not in TARGETS]
    if unknown:
        parser.error(f"not configured: {', '.join(unknown)} (choose from {', '.join(TARGETS)})")
    if args.list:
        for module in chosen:
            for mutant, _ in mutants_of(module, TARGETS[module]):
                print(f"{module}:{mutant.line} {mutant.function} {mutant.change}: "
                      f"{mutant.source_line}")  # fmt: skip
        return 0
    results: dict[str, list[Mutant]] = {}
    for name, value in (("QT_QPA_PLATFORM", "offscreen"), ("AI_DIFFUSION_QT", "5"),
                        ("PYTEST_QT_API", "pyqt5"), ("PYTHONDONTWRITEBYTECODE", "1")):  # fmt: skip
        os.environ.setdefault(name, value)
    _preload()
    with tempfile.TemporaryDirectory(prefix="aid-mutation-") as tmp:
        work = Path(tmp)
        _copy_tree(work)
        for module in chosen:
            print(f"== {module}", flush=True)
            results[module] = run_module(module, TARGETS[module], work)
    print()
    print(report(results))
    for module, mutants in results.items():
        for m in mutants:
            if m.outcome == "survived":
                print(f"survived: {module}:{m.line} ({m.function}) {m.change}: {m.source_line}")
    if args.json:
        data = {module: [asdict(m) for m in mutants] for module, mutants in results.items()}
        args.json.write_text(json.dumps(data, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
