#!/usr/bin/env python3
"""Write a synthetic year of evidence straight into a local store directory, for benchmarks.

Records follow docs/FORMAT.md: canonical JSON (RFC 8785; the documents here hold only ASCII
strings, integers and booleans, for which sorted keys and no whitespace are canonical),
chained by SHA-256 over b"evidenced/record/v1\\n" + bytes, blobs addressed by their SHA-256.
The result is checked with `evidenced verify` by the calling script, so a mistake here
cannot pass silently.

usage: gen-evidence.py STORE_DIR YEAR TARGET_MIB
"""
import datetime
import hashlib
import json
import os
import random
import sys


def canon(v):
    return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def put(root, key, data):
    path = os.path.join(root, key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)


def main():
    root, year, target_mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(42)
    collectors = ["backup", "config", "cloudwatch", "s3"]
    runs = 365 * len(collectors)
    # The backup collector's restore-jobs documents are small (the report reads them);
    # the bulk is configuration history, which bundles carry but evaluation does not read.
    per_blob = target_mib * 1024 * 1024 // (365 * (len(collectors) - 1))
    prev = "sha256:" + "0" * 64
    seq = 0
    total = 0
    for day in range(365):
        for c in collectors:
            seq += 1
            when = datetime.datetime(year, 1, 1) + datetime.timedelta(days=day, hours=collectors.index(c) + 1)
            t = when.strftime("%Y-%m-%dT%H:%M:%SZ")
            jobs = []
            size = 0
            limit = 2 * 330 if c == "backup" else per_blob
            while size < limit:
                j = {
                    "restore_job_id": "%032x" % rng.getrandbits(128),
                    "status": rng.choice(["COMPLETED", "COMPLETED", "FAILED", "RUNNING"]),
                    "creation_date": t,
                    "completion_date": t,
                    "validation_status": rng.choice(["SUCCESSFUL", "FAILED", "TIMED_OUT"]),
                    "resource_type": rng.choice(["RDS", "EBS", "DynamoDB", "EFS", "S3"]),
                    "recovery_point_arn": "arn:aws:backup:us-east-1:111122223333:recovery-point:%016x" % rng.getrandbits(64),
                    "expected_completion_time_minutes": rng.randrange(1, 500),
                }
                jobs.append(j)
                size += 330
            if c == "backup":
                media = "application/vnd.evidenced.aws.backup.restore-jobs+json"
                blob = canon({"account": "111122223333", "region": "us-east-1", "restore_jobs": jobs})
            else:
                media = f"application/vnd.evidenced.aws.{c}.history+json"
                blob = canon({"account": "111122223333", "region": "us-east-1", "items": jobs})
            digest = hashlib.sha256(blob).hexdigest()
            put(root, f"blobs/sha256/{digest[:2]}/{digest}", blob)
            total += len(blob)
            record = {
                "format": 1,
                "seq": seq,
                "prev": prev,
                "recorded_at": t,
                "collector": c,
                "kind": c,
                "scope": {"account": "111122223333", "region": "us-east-1"},
                "status": "complete",
                "items": [{
                    "name": f"{c}/history.json" if c != "backup" else "backup/restore-jobs.json",
                    "digest": "sha256:" + digest,
                    "size": len(blob),
                    "media_type": media,
                    "observed_at": t,
                }],
                "provenance": {"program": "gen-evidence", "writer_nonce": "%032x" % seq},
            }
            rb = canon(record)
            put(root, "chain/records/%020d.json" % seq, rb)
            prev = "sha256:" + hashlib.sha256(b"evidenced/record/v1\n" + rb).hexdigest()
    print(f"{seq} records, {total} blob bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
