#!/usr/bin/env python3
"""Write a chain of N collector records straight into a local store directory, for the
chain-length benchmark (scripts/bench-chain.sh).

The chain grows at a daemon's pace: 120 records a day (five collectors hourly), the last
one an hour before now, so a chain of 100,000 records spans about 833 days and the last
calendar quarter holds about 11,000 of them whatever the length. Each record has one item;
the documents of a collector change once a day (identical state hashes to the same blob),
and the backup collector's restore-job documents are the ones the default catalog reads.

Records follow docs/FORMAT.md (format 2, canonical JSON: the documents here hold only
ASCII strings and integers, for which sorted keys and no whitespace are canonical), chained
by SHA-256 over b"evidenced/record/v1\\n" + bytes; `ids/backfill.json` marks a chain begun
at format 2. The calling script checks the result with `evidenced verify`.

usage: gen-chain.py STORE_DIR N
"""
import datetime
import hashlib
import json
import os
import sys

PER_DAY = 120
COLLECTORS = ["backup", "config", "cloudwatch", "s3", "alarms"]


def canon(v):
    return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def put(root, key, data):
    path = os.path.join(root, key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)


def stamp(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def document(collector, day, t):
    if collector == "backup":
        jobs = [{
            "restore_job_id": "%08x%04x" % (day, n),
            "status": "COMPLETED",
            "creation_date": stamp(t),
            "completion_date": stamp(t),
            "validation_status": "SUCCESSFUL",
            "resource_type": "RDS",
            "recovery_point_arn": "arn:aws:backup:us-east-1:111122223333:recovery-point:%08x%04x" % (day, n),
        } for n in range(2)]
        return ("backup/restore-jobs.json", "application/vnd.evidenced.aws.backup.restore-jobs+json",
                canon({"account": "111122223333", "region": "us-east-1", "restore_jobs": jobs}))
    return (f"{collector}/state.json", f"application/vnd.evidenced.aws.{collector}.state+json",
            canon({"account": "111122223333", "region": "us-east-1", "day": day, "collector": collector}))


def main():
    root, n = sys.argv[1], int(sys.argv[2])
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0, tzinfo=None)
    step = datetime.timedelta(seconds=86400 // PER_DAY)
    start = now - datetime.timedelta(hours=1) - step * n
    put(root, "ids/backfill.json", canon({"through_seq": 0}))
    prev = "sha256:" + "0" * 64
    written = set()
    for seq in range(1, n + 1):
        t = start + step * seq
        c = COLLECTORS[seq % len(COLLECTORS)]
        day = (t - datetime.datetime(2000, 1, 1)).days
        name, media, blob = document(c, day, t)
        digest = hashlib.sha256(blob).hexdigest()
        if digest not in written:
            put(root, f"blobs/sha256/{digest[:2]}/{digest}", blob)
            written.add(digest)
        record = {
            "format": 2,
            "seq": seq,
            "prev": prev,
            "recorded_at": stamp(t),
            "collector": c,
            "kind": c,
            "scope": {"account": "111122223333", "region": "us-east-1"},
            "status": "complete",
            "items": [{"name": name, "digest": "sha256:" + digest, "size": len(blob),
                       "media_type": media, "observed_at": stamp(t)}],
            "provenance": {"program": "gen-chain", "writer_nonce": "%032x" % seq},
        }
        rb = canon(record)
        put(root, "chain/records/%020d.json" % seq, rb)
        prev = "sha256:" + hashlib.sha256(b"evidenced/record/v1\n" + rb).hexdigest()
    print(f"{n} records, {len(written)} blobs, {stamp(start)} .. {stamp(start + step * n)}", file=sys.stderr)


if __name__ == "__main__":
    main()
