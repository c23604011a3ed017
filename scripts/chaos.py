#!/usr/bin/env python3
"""Chaos soak of the fleet: runs in flight while service processes are killed (-9) and restarted,
Redis is restarted without its data, and Postgres is restarted; then checks nothing was lost or
done twice.

The fleet is split into four `reelforge serve --only …` processes on a private database, a
private Redis (its own port, so restarting it disturbs nothing else) and a shared media
directory. Holds when: every run ends `succeeded`; no video rendered twice for one attempt; the
usage ledger equals the usage entries recorded (none lost, none charged twice); dead letters are
exactly the poison entries injected; each restarted process (and the whole fleet after a Redis
or Postgres restart) is ready again within --ready-limit seconds.

Usage: scripts/chaos.py --bin target/debug/reelforge [--runs 100] [--kills 20] ...
Exit status 0 when every property holds; the report is printed either way.
"""

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter

GROUPS = {
    "control": "orchestrator,billing",
    "words": "story,tts",
    "pictures": "image,music",
    "finish": "moderation,video",
}
TERMINAL = {"succeeded", "failed", "cancelled"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log(message):
    print(f"[chaos {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def psql(sql, database):
    out = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-At", "-d", database, "-c", sql],
        capture_output=True, text=True, check=True,
    )
    return out.stdout.strip()


class Redis:
    """A private redis-server without persistence, restartable at will."""

    def __init__(self, workdir):
        self.port = free_port()
        self.workdir = workdir
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.workdir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            if subprocess.run(["redis-cli", "-p", str(self.port), "ping"],
                              capture_output=True).returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError("redis did not start")

    def restart(self):
        self.process.kill()
        self.process.wait()
        time.sleep(1)
        self.start()

    def cli(self, *args):
        return subprocess.run(["redis-cli", "-p", str(self.port), *args],
                              capture_output=True, text=True).stdout.strip()

    def stop(self):
        if self.process:
            self.process.kill()
            self.process.wait()


class Service:
    """One `reelforge serve --only …` process, its port and its log."""

    def __init__(self, name, only, binary, config, workdir):
        self.name, self.only, self.binary, self.config = name, only, binary, config
        self.port = free_port()
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.process = None

    def start(self):
        log_file = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [self.binary, "serve", "--only", self.only, "--config", self.config,
             "--listen", f"127.0.0.1:{self.port}"],
            stdout=log_file, stderr=log_file, start_new_session=True,
        )

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def ready(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health/ready", timeout=2) as r:
                return r.status == 200
        except (urllib.error.URLError, OSError):
            return False


def rss_mib(pid):
    """Resident memory of `pid` in MiB, or 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def child_pids(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def alive(pid):
    """Whether `pid` runs (a zombie has exited; only its entry waits to be reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return ") Z " not in f.read()
    except OSError:
        return False


def wait_ready(services, limit):
    """Seconds until every service answers ready, or None after `limit` × 3."""
    started = time.monotonic()
    while time.monotonic() - started < limit * 3:
        if all(s.ready() for s in services):
            return time.monotonic() - started
        time.sleep(0.1)
    return None


def api(port, token, method, path, body=None):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")
    except (urllib.error.URLError, OSError) as error:
        return 0, {"detail": str(error)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", required=True)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--redis-restarts", type=int, default=2)
    parser.add_argument("--postgres-restarts", type=int, default=1)
    parser.add_argument("--poison", type=int, default=3)
    parser.add_argument("--ready-limit", type=float, default=10.0)
    parser.add_argument("--deadline", type=int, default=1800, help="seconds for every run to end")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--keep", action="store_true", help="keep the logs and the database")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    workdir = tempfile.mkdtemp(prefix="reelforge-chaos-")
    database = f"reelforge_chaos_{uuid.uuid4().hex[:12]}"
    redis = Redis(workdir)
    redis.start()
    config = os.path.join(workdir, "chaos.toml")
    with open(config, "w") as f:
        f.write(f"""
database_url = "postgres://postgres@127.0.0.1:5432/{database}"
redis_url = "redis://127.0.0.1:{redis.port}"
data_dir = "{workdir}/data"
jwt_secret = "chaos-{uuid.uuid4().hex}"
shutdown_grace_secs = 5
[bus]
prefix = "chaos"
reclaim_idle_ms = 3000
[rate_limit]
enabled = false
[services.orchestrator]
max_attempts = 6
backoff_base_ms = 200
[services.orchestrator.timeouts_secs]
story = 20
speech = 30
images = 30
music = 30
moderation = 30
video = 240
""")
    services = {name: Service(name, only, args.bin, config, workdir) for name, only in GROUPS.items()}
    control = services["control"]
    with open(config, "a") as f:
        f.write(f'[services.orchestrator.billing]\nurl = "http://127.0.0.1:{control.port}"\n')
        f.write(f'[providers.billing]\nurl = "http://127.0.0.1:{control.port}"\n')
    report = {"seed": args.seed, "runs": args.runs, "workdir": workdir, "database": database}
    failures = []
    try:
        subprocess.run([args.bin, "migrate", "--config", config], check=True,
                       stdout=subprocess.DEVNULL)
        for service in services.values():
            service.start()
        startup = wait_ready(services.values(), 60)
        if startup is None:
            raise RuntimeError("the fleet never became ready; see the logs in " + workdir)
        token = subprocess.run(
            [args.bin, "token", "--config", config, "--role", "operator", "--subject", "chaos",
             "--tenant", "chaos", "--ttl", "6h"], capture_output=True, text=True, check=True,
        ).stdout.strip()
        runs = []
        for n in range(args.runs):
            status, created = api(control.port, token, "POST", "/v1/runs", {
                "topic": f"chaos run {n}", "length_seconds": 10, "formats": ["9:16"], "seed": n,
            })
            if status != 201:
                raise RuntimeError(f"run {n} was refused: {status} {created}")
            runs.append(created["id"])
        log(f"{len(runs)} runs submitted")

        faults = (["kill"] * args.kills + ["redis"] * args.redis_restarts
                  + ["postgres"] * args.postgres_restarts)
        rng.shuffle(faults)
        ready_after = {"kill": [], "redis": [], "postgres": []}
        poisoned = 0
        children_seen = orphans = 0
        started = time.monotonic()
        pause = max(1.0, min(10.0, args.runs * 0.6 / max(1, len(faults))))
        for fault in faults:
            time.sleep(rng.uniform(pause * 0.5, pause * 1.5))
            if fault == "kill":
                victim = rng.choice(list(services.values()))
                log(f"kill -9 {victim.name} ({victim.only})")
                children = child_pids(victim.process.pid)
                victim.kill()
                # FFmpeg and espeak-ng die with their service (parent-death signal).
                time.sleep(0.5)
                children_seen += len(children)
                orphans += sum(alive(pid) for pid in children)
                time.sleep(rng.uniform(0.2, 2.0))
                victim.start()
                took = wait_ready([victim], args.ready_limit)
            elif fault == "redis":
                log("restarting Redis (its data is gone)")
                redis.restart()
                took = wait_ready(services.values(), args.ready_limit)
                # Poison arrives after the restart, so the dead letters it leaves are countable
                # (a restart also wipes the dead letters of poison injected before it).
                for _ in range(args.poison):
                    redis.cli("XADD", "{chaos:jobs.story}", "*", "envelope", "not json at all")
                poisoned = args.poison
            else:
                log("restarting Postgres")
                cluster = sorted(os.listdir("/etc/postgresql"))[-1]
                subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", cluster, "main",
                                "restart", "-m", "fast"], check=True)
                took = wait_ready(services.values(), args.ready_limit)
            ready_after[fault].append(took)
            log(f"  ready again after {took:.1f} s" if took is not None else "  NOT ready again")
        if not args.redis_restarts and args.poison:
            for _ in range(args.poison):
                redis.cli("XADD", "{chaos:jobs.story}", "*", "envelope", "not json at all")
            poisoned = args.poison
        log(f"faults done after {time.monotonic() - started:.0f} s; waiting for the runs")

        states = {}
        peak_rss = {name: 0.0 for name in services}
        deadline = time.monotonic() + args.deadline
        while time.monotonic() < deadline:
            for name, service in services.items():
                peak_rss[name] = max(peak_rss[name], rss_mib(service.process.pid))
            pending = [r for r in runs if states.get(r, {}).get("state") not in TERMINAL]
            if not pending:
                break
            for run in pending:
                status, body = api(control.port, token, "GET", f"/v1/runs/{run}")
                if status == 200:
                    states[run] = body
            time.sleep(2)
        report["soak_seconds"] = round(time.monotonic() - started)
        # The serving processes alone (FFmpeg and espeak-ng run as their children).
        report["peak_rss_mib"] = {name: round(rss) for name, rss in peak_rss.items()}
        outcome = Counter(states.get(r, {}).get("state", "lost") for r in runs)
        report["outcome"] = dict(outcome)
        report["failed_reasons"] = sorted({states[r].get("error") for r in runs
                                           if states.get(r, {}).get("state") == "failed"})
        if outcome.get("succeeded", 0) != len(runs):
            failures.append(f"not every run succeeded: {dict(outcome)}")

        # Renders: one committed render per (run, attempt), as the video workers logged them.
        rendered = Counter()
        for service in services.values():
            with open(service.log_path, errors="replace") as f:
                for line in f:
                    if '"video rendered"' in line:
                        event = json.loads(line)
                        rendered[(event.get("run_id"), event.get("attempt"))] += 1
        duplicates = {k: v for k, v in rendered.items() if v > 1}
        report["renders"] = sum(rendered.values())
        report["duplicate_renders"] = len(duplicates)
        if duplicates:
            failures.append(f"renders done twice: {duplicates}")

        # Usage: every entry recorded reaches the ledger once, and the rollups count it once.
        for _ in range(60):
            # Distinct ids: a write retried after a dropped connection may leave a second row
            # of the same entry, which billing ingests once.
            recorded = int(psql("SELECT count(DISTINCT envelope->>'id') FROM fleet.outbox "
                                "WHERE stream = 'usage'", database))
            ledger = int(psql("SELECT count(*) FROM billing.ledger", database))
            if recorded == ledger:
                break
            time.sleep(1)
        rolled = int(psql("SELECT coalesce(sum(calls), 0) FROM billing.daily_rollups", database))
        report["usage"] = {"recorded": recorded, "ledger": ledger, "rolled_up": rolled}
        if not recorded == ledger == rolled:
            failures.append(f"usage recorded {recorded}, in the ledger {ledger}, rolled up {rolled}")

        dead = 0
        for stream in ["jobs.story", "jobs.tts", "jobs.image", "jobs.music", "jobs.moderation",
                       "jobs.video", "events", "usage"]:
            count = int(redis.cli("XLEN", f"{{chaos:{stream}}}:dead") or 0)
            dead += count
        report["dead_letters"] = {"found": dead, "poison_injected": poisoned}
        if dead != poisoned:
            failures.append(f"{dead} dead letters, {poisoned} poison entries injected")

        report["children_of_killed_services"] = {"seen": children_seen, "outlived": orphans}
        if orphans:
            failures.append(f"{orphans} child processes outlived their killed service")

        report["ready_after_seconds"] = {
            kind: {"count": len(times), "max": max((t for t in times if t is not None), default=None),
                   "never": sum(t is None for t in times)}
            for kind, times in ready_after.items()
        }
        for kind, times in ready_after.items():
            slow = [t for t in times if t is None or t > args.ready_limit]
            if slow:
                failures.append(f"not ready within {args.ready_limit} s after {kind}: {slow}")
    except Exception as error:  # the report must still be printed
        failures.append(f"harness error: {error}")
    finally:
        for service in services.values():
            service.stop()
        redis.stop()
        report["failures"] = failures
        print(json.dumps(report, indent=2))
        if not args.keep and not failures:
            shutil.rmtree(workdir, ignore_errors=True)
            subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-c",
                            f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'],
                           capture_output=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
