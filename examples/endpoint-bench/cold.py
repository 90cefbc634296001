#!/usr/bin/env python3
"""cold.py BIN SQLITE_FILE [RUNS]: milliseconds from spawning `BIN serve` on the file to the
first 200 from /healthz, RUNS times (3 by default), each process stopped before the next."""
import os
import subprocess
import sys
import time
import urllib.request

USAGE = "usage: cold.py BIN SQLITE_FILE [RUNS] (BIN an executable, SQLITE_FILE a file, RUNS 1 or more)"
if not 3 <= len(sys.argv) <= 4 or not os.access(sys.argv[1], os.X_OK) or not os.path.isfile(sys.argv[2]):
    sys.exit(USAGE)
if len(sys.argv) == 4 and not (sys.argv[3].isdigit() and int(sys.argv[3]) > 0):
    sys.exit(USAGE)
binary, db = sys.argv[1], os.path.abspath(sys.argv[2])
runs = int(sys.argv[3]) if len(sys.argv) == 4 else 3
root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
env = dict(
    os.environ,
    DISCORD_APPLICATION_ID="1",
    DISCORD_PUBLIC_KEY="d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737",
    DEALGATE_PLAYBOOK=os.path.join(root, "tests/fixtures/three-stages.toml"),
    DATABASE_URL="sqlite://" + db,
    RUST_LOG="warn",
)
for _ in range(runs):
    started = time.perf_counter()
    server = subprocess.Popen(
        [binary, "serve", "--http", "127.0.0.1:8150"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while True:
        if server.poll() is not None:
            sys.exit(f"{binary} exited with {server.returncode} before answering /healthz")
        try:
            urllib.request.urlopen("http://127.0.0.1:8150/healthz", timeout=1).read()
            break
        except OSError:
            time.sleep(0.0005)
    print(f"cold start to /healthz 200: {(time.perf_counter() - started) * 1000:.1f} ms")
    server.terminate()
    server.wait()
