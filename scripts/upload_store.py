#!/usr/bin/env python3
"""Copy a local store directory into a new versioned bucket of an S3 endpoint (moto), under
the prefix `ev/`, sixteen objects at a time: the S3 stores of the benchmarks
(scripts/bench-chain.sh, scripts/bench-s3-sync.sh).

usage: upload_store.py ENDPOINT BUCKET STORE_DIR
"""
import concurrent.futures
import os
import sys

import boto3


def main():
    endpoint, bucket, src = sys.argv[1:4]
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    files = [os.path.join(d, f) for d, _, fs in os.walk(src) for f in fs]

    def up(p):
        with open(p, "rb") as f:
            s3.put_object(Bucket=bucket, Key="ev/" + os.path.relpath(p, src), Body=f.read())

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(up, files))


if __name__ == "__main__":
    main()
