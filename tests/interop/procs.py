"""Child processes of the interop tests: started in their own session, logs to a file, every wait
bounded, always stopped (SIGTERM, then SIGKILL to the whole process group)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


class ProcessFailed(AssertionError):
    pass


class ManagedProcess:
    def __init__(self, name: str, argv: list[str], log_path: Path, env: dict | None = None,
                 cwd: Path | None = None) -> None:
        self.name = name
        self.argv = [str(a) for a in argv]
        self.log_path = log_path
        self.env = env
        self.cwd = cwd
        self.proc: subprocess.Popen | None = None
        self.returncode: int | None = None
        self._log = None

    def start(self) -> "ManagedProcess":
        self._log = open(self.log_path, "wb")
        self._log.write(("$ " + " ".join(self.argv) + "\n").encode())
        self._log.flush()
        env = dict(os.environ)
        if self.env:
            env.update(self.env)
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=self.cwd,
            start_new_session=True,
        )
        return self

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def _fail(self, what: str) -> ProcessFailed:
        rc = self.proc.poll() if self.proc else None
        tail = self.log_text()[-4000:]
        return ProcessFailed(f"{self.name}: {what} (exit code {rc})\n--- {self.name} log tail ---\n{tail}")

    def wait_port(self, port: int, timeout: float = 30.0) -> None:
        """Wait until something accepts TCP connections on 127.0.0.1:port, and this process lives."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise self._fail(f"exited before listening on 127.0.0.1:{port}")
            if port_open(port):
                return
            time.sleep(0.05)
        raise self._fail(f"not listening on 127.0.0.1:{port} after {timeout}s")

    def wait_log(self, pattern: str, timeout: float = 30.0) -> None:
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if rx.search(self.log_text()):
                return
            if not self.alive():
                raise self._fail(f"exited before logging /{pattern}/")
            time.sleep(0.05)
        raise self._fail(f"did not log /{pattern}/ within {timeout}s")

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM and wait; SIGKILL the process group past the deadline. Returns the exit code
        (None when it had to be killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                self._close()
                return None
        self.returncode = self.proc.returncode
        self._kill_group()  # children it left behind, if any
        self._close()
        return self.returncode

    def kill(self) -> None:
        if self.proc is None:
            return
        self._kill_group()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass

    def _kill_group(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def _close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


class ProcessGroup:
    """The processes of one test. `stop_all` is the fixture teardown."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.procs: list[ManagedProcess] = []

    def start(self, name: str, argv: list, env: dict | None = None, cwd: Path | None = None) -> ManagedProcess:
        p = ManagedProcess(name, argv, self.log_dir / f"{name}.log", env=env, cwd=cwd)
        self.procs.append(p)
        return p.start()

    def stop_all(self) -> None:
        # Reverse start order: upstream senders stop before the receivers they feed.
        for p in reversed(self.procs):
            if p.alive():
                p.stop(timeout=10)
            else:
                p.kill()
                p._close()

    def logs(self) -> str:
        out = []
        for cfg in sorted(self.log_dir.glob("*.yaml")):
            out.append(f"===== config {cfg} =====\n{cfg.read_text(errors='replace')}")
        for p in self.procs:
            out.append(f"===== {p.name} (pid {p.proc.pid if p.proc else '-'}, exit {p.proc.poll() if p.proc else '-'}) "
                       f"log {p.log_path} =====\n{p.log_text()}")
        return "\n".join(out)
