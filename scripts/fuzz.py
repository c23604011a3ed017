#!/usr/bin/env python3
"""API fuzzing: schemathesis over every service's OpenAPI document against a fleet served by
`reelforge serve` on a private database and Redis prefix, with an admin token. Holds when no
response is a 5xx and every response matches its documented status codes and schema.

Usage: scripts/fuzz.py --bin target/debug/reelforge [--examples 25] [--seed 1]
"""

import argparse
import glob
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
import xml.etree.ElementTree as ElementTree


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", required=True)
    parser.add_argument("--examples", type=int, default=25, help="test cases per operation")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="reelforge-fuzz-")
    database = f"reelforge_fuzz_{uuid.uuid4().hex[:12]}"
    port = free_port()
    config = os.path.join(workdir, "fuzz.toml")
    with open(config, "w") as f:
        f.write(f"""
database_url = "postgres://postgres@127.0.0.1:5432/{database}"
data_dir = "{workdir}/data"
jwt_secret = "fuzz-{uuid.uuid4().hex}"
shutdown_grace_secs = 5
[bus]
prefix = "fuzz-{uuid.uuid4().hex[:8]}"
[rate_limit]
enabled = false
""")
    documents = os.path.join(workdir, "openapi")
    subprocess.run([args.bin, "openapi", "--out", documents], check=True, stdout=subprocess.DEVNULL)
    log = open(os.path.join(workdir, "serve.log"), "wb")
    fleet = subprocess.Popen([args.bin, "serve", "--config", config, "--listen", f"127.0.0.1:{port}"],
                             stdout=log, stderr=log)
    failures = []
    totals = {"operations": 0, "cases": 0, "failures": 0}
    try:
        for _ in range(600):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            time.sleep(0.2)
        else:
            raise RuntimeError("the fleet never became ready")
        token = subprocess.run(
            [args.bin, "token", "--config", config, "--role", "admin", "--subject", "fuzz",
             "--tenant", "fuzz", "--ttl", "2h"], capture_output=True, text=True, check=True,
        ).stdout.strip()
        for document in sorted(glob.glob(os.path.join(documents, "*.json"))):
            name = os.path.basename(document)[:-5]
            junit = os.path.join(workdir, f"{name}.xml")
            run = subprocess.run(
                ["st", "run", document, "--url", f"http://127.0.0.1:{port}",
                 "--header", f"Authorization: Bearer {token}",
                 "--checks", "not_a_server_error,status_code_conformance,"
                             "content_type_conformance,response_schema_conformance",
                 "--max-examples", str(args.examples), "--seed", str(args.seed),
                 "--phases", "examples,coverage,fuzzing", "--generation-database", "none",
                 "--workers", "1", "--request-timeout", "30", "--no-color",
                 "--report", "junit", "--report-junit-path", junit],
                capture_output=True, text=True,
            )
            operations = failed = 0
            if os.path.exists(junit):
                root = ElementTree.parse(junit).getroot()
                for case in root.iter("testcase"):
                    operations += 1
                    if case.find("failure") is not None or case.find("error") is not None:
                        failed += 1
            generated = re.search(r"(\d+) generated", run.stdout)
            cases = int(generated.group(1)) if generated else 0
            totals["operations"] += operations
            totals["cases"] += cases
            totals["failures"] += failed
            status = "PASS" if run.returncode == 0 else "FAIL"
            print(f"{status}  fuzz {name}: {operations} operations, {cases} cases, {failed} failing",
                  file=sys.stderr)
            if run.returncode != 0:
                failures.append(name)
                print(run.stdout[-6000:], file=sys.stderr)
    finally:
        fleet.terminate()
        try:
            fleet.wait(timeout=30)
        except subprocess.TimeoutExpired:
            fleet.kill()
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-c",
                        f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'], capture_output=True)
    print(json.dumps({"totals": totals, "failing_documents": failures}))
    if not failures:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"logs kept in {workdir}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
