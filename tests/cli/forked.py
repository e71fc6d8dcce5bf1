"""`gateway` commands run side by side as forks of one process that imported the gateway once.

Each command is still a process of its own, with its own environment, working directory, stdout and
stderr, exit status and PKCS#11 state (nothing is initialised before the fork): what a fresh
`python -m gateway.cli` would do, without paying a second or so of imports for each one.

Run as `python -m tests.cli.forked`: a JSON list of `{"argv", "env", "cwd"}` on stdin, a JSON list
of `{"returncode", "stdout", "stderr"}` in the same order on stdout."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import traceback

import gateway.app  # noqa: F401  (imported once, before the forks: what every command imports)
import gateway.cli
import gateway.server  # noqa: F401


def _child(command: dict, stdout: int, stderr: int) -> None:
    """In the fork: the command's environment and files, then `gateway.cli.main`; never returns."""
    os.dup2(stdout, 1)
    os.dup2(stderr, 2)
    os.environ.clear()
    os.environ.update(command["env"])
    os.chdir(command["cwd"])
    try:
        status = gateway.cli.main(command["argv"])
    except SystemExit as exited:  # argparse, or a command's own exit
        status = exited.code if isinstance(exited.code, int) else 1
    except BaseException:  # as the interpreter would: the traceback on stderr, status 1
        traceback.print_exc()
        status = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def run(commands: list[dict]) -> list[dict]:
    sys.stdout.flush()
    sys.stderr.flush()
    with tempfile.TemporaryDirectory() as directory:
        outputs, children = [], {}
        for index, command in enumerate(commands):
            files = [os.open(os.path.join(directory, f"{index}.{name}"), os.O_RDWR | os.O_CREAT, 0o600) for name in ("out", "err")]
            pid = os.fork()
            if pid == 0:
                _child(command, *files)
            children[pid] = index
            outputs.append(files)
        statuses = {}
        while children:
            pid, status = os.wait()
            statuses[children.pop(pid)] = os.waitstatus_to_exitcode(status)
        results = []
        for index, files in enumerate(outputs):
            texts = []
            for descriptor in files:
                os.lseek(descriptor, 0, os.SEEK_SET)
                with os.fdopen(descriptor, encoding="utf-8", errors="replace") as handle:
                    texts.append(handle.read())
            results.append({"returncode": statuses[index], "stdout": texts[0], "stderr": texts[1]})
        return results


if __name__ == "__main__":
    json.dump(run(json.load(sys.stdin)), sys.stdout)
