"""Login timing at the token endpoint: known user (right and wrong password), unknown
user, and a locked name, 20 requests each, medians and ratios from one run.

Starts the local server (debug build; bcrypt and its C crypto are optimised even
there, see Cargo.toml) at the given bcrypt cost, on a free port, with 21 users.

Usage: python3 scripts/login_timing.py [BCRYPT_COST]   (default 12, production's)
"""
import http.client
import statistics
import subprocess
import sys
import time
import urllib.parse

COST = sys.argv[1] if len(sys.argv) > 1 else "12"
RUNS = 20
PASSWORD = "timing-run-passphrase"


def start_server():
    users = [f"--user=user{i}:{PASSWORD}" for i in range(RUNS + 1)]
    server = subprocess.Popen(
        ["target/debug/local-server", "--port", "0", "--bcrypt-cost", COST, *users],
        stdout=subprocess.PIPE,
        text=True,
    )
    for line in server.stdout:
        if line.startswith("Listening on http://"):
            host, port = line.split("http://")[1].strip().split(":")
            return server, host, int(port)
    raise SystemExit("the local server did not start")


def login(host, port, username, password):
    body = urllib.parse.urlencode(
        {"grant_type": "password", "client_id": "local-app", "username": username, "password": password}
    )
    connection = http.client.HTTPConnection(host, port, timeout=30)
    started = time.perf_counter()
    connection.request("POST", "/token", body, {"Content-Type": "application/x-www-form-urlencoded"})
    response = connection.getresponse()
    response.read()
    elapsed = time.perf_counter() - started
    connection.close()
    return response.status, elapsed * 1000


def main():
    server, host, port = start_server()
    try:
        login(host, port, "user0", PASSWORD)  # warm-up
        samples = {
            "known user, right password (200)": [login(host, port, "user0", PASSWORD) for _ in range(RUNS)],
            "known user, wrong password (400)": [login(host, port, f"user{i + 1}", "wrong") for i in range(RUNS)],
            "unknown user (400)": [login(host, port, f"nobody{i}", "wrong") for i in range(RUNS)],
        }
        for _ in range(5):
            login(host, port, "user0", "wrong")
        samples["locked name, right password (400)"] = [login(host, port, "user0", PASSWORD) for _ in range(RUNS)]
    finally:
        server.terminate()
    base = statistics.median(t for _, t in samples["known user, wrong password (400)"])
    print(f"bcrypt cost {COST}, {RUNS} requests each, local server (debug build, in-memory store)")
    print("| case | statuses | median ms | p90 ms | / known-wrong |")
    print("| --- | --- | --- | --- | --- |")
    for name, results in samples.items():
        times = sorted(t for _, t in results)
        statuses = sorted({s for s, _ in results})
        median = statistics.median(times)
        p90 = times[int(len(times) * 0.9) - 1]
        print(f"| {name} | {statuses} | {median:.1f} | {p90:.1f} | {median / base:.2f} |")


if __name__ == "__main__":
    main()
