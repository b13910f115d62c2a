"""A Ray cluster on this machine: a head and two worker nodes, each a `ray start` of its own,
with its own ports and temporary folder, to try `--engine ray --address` and a node's loss
without a cluster of machines. The head takes no runs (no CPUs); each worker node takes one
run per CPU.

    python benchmarks/ray_cluster.py            # prints the address; Ctrl-C stops the nodes
    python benchmarks/ray_cluster.py -- livereplay compare --learners pop,repeat \\
        --days 40-42 --engine ray --out on-cluster

After `--`, a command runs with $RAY_ADDRESS set to the cluster (so `--engine ray` finds it
without `--address`); the nodes stop when it ends and the script exits with its status.
Each node is a `ray start --block` child of this script, stopped by SIGTERM, so that other
Ray instances of the machine are left alone (`ray stop` would end them too). Where Ray has
token authentication, the nodes and the command use it (RAY_AUTH_MODE=token, the token in
~/.ray/auth_token, made if missing) unless $RAY_AUTH_MODE says otherwise; a driver started
elsewhere then needs RAY_AUTH_MODE=token too.
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RAY = [sys.executable, "-m", "ray.scripts.scripts"]
ADDRESS_FILE = "ray_current_cluster"  # where `ray start` writes the address, in its temp folder


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("", 0))
        return probe.getsockname()[1]


def auth_mode() -> dict[str, str]:
    """RAY_AUTH_MODE for the nodes and their drivers: the caller's; else ``token`` where this
    Ray knows token authentication (the token made if missing); else none."""
    if "RAY_AUTH_MODE" in os.environ:
        return {"RAY_AUTH_MODE": os.environ["RAY_AUTH_MODE"]}
    token = subprocess.run([*RAY, "get-auth-token", "--generate"], capture_output=True)
    return {"RAY_AUTH_MODE": "token"} if token.returncode == 0 else {}


def start_node(folder: Path, options: list[str], timeout: float,
               env: dict[str, str]) -> subprocess.Popen:
    """`ray start --block` with ``options``, its temp folder ``folder`` and its log in
    ``folder/start.log``, once it has started (its address file is written)."""
    folder.mkdir()
    with open(folder / "start.log", "w") as log:
        node = subprocess.Popen([*RAY, "start", "--block", "--temp-dir", str(folder),
                                 "--disable-usage-stats", "--min-worker-port", "0",
                                 "--max-worker-port", "0",
                                 "--dashboard-agent-listen-port", str(free_port()), *options],
                                stdout=log, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + timeout
    while not (folder / ADDRESS_FILE).exists():
        if node.poll() is not None or time.monotonic() > deadline:
            stop([node])
            sys.exit(f"a Ray node did not start; its log: {folder / 'start.log'}\n"
                     + (folder / "start.log").read_text()[-2000:])
        time.sleep(0.2)
    return node


def stop(nodes: list[subprocess.Popen], timeout: float = 30) -> None:
    """SIGTERM to each node, workers first (each ends its Ray processes), then SIGKILL to a
    node still running after ``timeout`` seconds."""
    for node in reversed(nodes):
        if node.poll() is None:
            node.terminate()
    deadline = time.monotonic() + timeout
    for node in reversed(nodes):
        try:
            node.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            node.kill()
            node.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     usage="%(prog)s [options] [-- COMMAND ...]")
    parser.add_argument("--workers", type=int, default=2, help="worker nodes (default: 2)")
    parser.add_argument("--cpus", type=int, default=1, help="CPUs of each worker node "
                                                            "(default: 1)")
    parser.add_argument("--object-store-mb", type=int, default=100,
                        help="each node's object store, MB (default: 100; Ray's least: 75)")
    parser.add_argument("--timeout", type=float, default=120,
                        help="seconds a node may take to start (default: 120)")
    argv = sys.argv[1:]
    command = argv[argv.index("--") + 1:] if "--" in argv else []
    args = parser.parse_args(argv[:argv.index("--")] if "--" in argv else argv)

    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))  # stop nodes
    folder = Path(tempfile.mkdtemp(prefix="lr-ray-"))  # short: Ray's socket paths are limited
    store = ["--object-store-memory", str(args.object_store_mb << 20)]
    nodes: list[subprocess.Popen] = []
    status = 0
    try:
        began = time.perf_counter()
        auth = auth_mode()
        env = {**os.environ, **auth}
        nodes.append(start_node(folder / "head", [
            "--head", "--port", str(free_port()), "--ray-client-server-port", str(free_port()),
            "--include-dashboard", "false", "--num-cpus", "0", *store], args.timeout, env))
        address = (folder / "head" / ADDRESS_FILE).read_text().strip()
        for number in range(1, args.workers + 1):
            nodes.append(start_node(folder / f"worker-{number}", [
                "--address", address, "--num-cpus", str(args.cpus), *store], args.timeout,
                env))
        print(f"Ray cluster at {address}: a head without CPUs and {args.workers} worker "
              f"node(s) of {args.cpus} CPU(s), started in {time.perf_counter() - began:.1f} s; "
              f"logs under {folder}", flush=True)
        if command:
            status = subprocess.run(command, env={**env, "RAY_ADDRESS": address}).returncode
        else:
            needs = "".join(f"{name}={value} " for name, value in auth.items())
            print(f"use {needs}livereplay ... --engine ray --address {address}; Ctrl-C stops "
                  "the nodes", flush=True)
            while all(node.poll() is None for node in nodes):
                time.sleep(1)
            status = 1
            print(f"a Ray node stopped; logs: {folder}/*/start.log", file=sys.stderr)
    except KeyboardInterrupt:
        status = 130
    finally:
        stop(nodes)
        shutil.rmtree(folder, ignore_errors=True)
    sys.exit(status)


if __name__ == "__main__":
    main()
