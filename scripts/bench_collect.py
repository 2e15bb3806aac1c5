"""Collection benchmark fixtures and the serial boto3 peer.

  bench_collect.py gen DIR [ITEMS]
      write the responses of a large account into DIR, as the AWS wire formats. Without
      ITEMS: 50,000 backup jobs (50 ListBackupJobs pages of 1,000), 10,000 configuration
      items (100 ListDiscoveredResources pages, 100 BatchGetResourceConfig batches), 2,000
      alarms (20 DescribeAlarms pages of 100). With ITEMS: that many items in all, in the
      same proportions (50 : 10 : 2). DIR/counts.json records the counts.
  bench_collect.py scale BIN WORKDIR N [N ...]
      for each total N: generate the account, then three alternating runs of BIN (the
      evidenced benchmark example) and of the peer; print each median, the ratio, the time
      per 1,000 items, the peak RSS of each side, and the growth exponent of each side
      between the smallest and the largest N (1.0 is linear); each account's fixtures are
      deleted once measured
  bench_collect.py peer DIR
      page through the same responses serially with boto3 (the responses are injected at
      botocore's before-send hook, so botocore parses the same bytes the Rust SDK parses),
      and print wall time and peak RSS
"""
import json
import os
import resource
import sys
import time

ACCOUNT = "111122223333"
JOBS_PER_PAGE, CI_PER_PAGE, ALARMS_PER_PAGE = 1000, 100, 100
DEFAULT = {"jobs": 50000, "items": 10000, "alarms": 2000}
T0 = 1786000000  # 2026-08-06


def counts_for(total):
    """`total` items split 50 : 10 : 2 like the default account."""
    jobs = round(total * 50 / 62)
    items = round(total * 10 / 62)
    return {"jobs": jobs, "items": items, "alarms": total - jobs - items}


def pages(count, per_page):
    """(page number, first index, size) of each page; one empty page for no items."""
    n = max(1, -(-count // per_page))
    return [(p, p * per_page, max(0, min(per_page, count - p * per_page))) for p in range(n)]


def gen(d, total=None):
    os.makedirs(d, exist_ok=True)
    counts = DEFAULT if total is None else counts_for(int(total))
    write(d, "counts.json", json.dumps(counts))
    job_pages = pages(counts["jobs"], JOBS_PER_PAGE)
    for p, first, size in job_pages:
        jobs = []
        for j in range(size):
            n = first + j
            jobs.append({
                "BackupJobId": f"{n:08X}-1A2B-4C3D-8E9F-0A1B2C3D4E5F",
                "AccountId": ACCOUNT,
                "BackupVaultName": "primary",
                "BackupVaultArn": f"arn:aws:backup:us-east-1:{ACCOUNT}:backup-vault:primary",
                "RecoveryPointArn": f"arn:aws:ec2:us-east-1::snapshot/snap-{n:017x}",
                "ResourceArn": f"arn:aws:ec2:us-east-1:{ACCOUNT}:volume/vol-{n % 5000:017x}",
                "CreationDate": T0 + n * 30,
                "CompletionDate": T0 + n * 30 + 900,
                "State": "COMPLETED",
                "PercentDone": "100.0",
                "BackupSizeInBytes": 8589934592,
                "IamRoleArn": f"arn:aws:iam::{ACCOUNT}:role/service-role/AWSBackupDefaultServiceRole",
                "CreatedBy": {"BackupPlanId": "8d2e6f1a-1111-2222-3333-444455556666", "BackupPlanArn": f"arn:aws:backup:us-east-1:{ACCOUNT}:backup-plan:8d2e6f1a", "BackupPlanVersion": "NmQ1", "BackupRuleId": "7f6e5d4c-aaaa-bbbb-cccc-ddddeeeeffff"},
                "ResourceType": "EBS",
                "BackupType": "",
                "IsParent": False,
                "ResourceName": f"data-{n % 5000}",
            })
        body = {"BackupJobs": jobs}
        if p + 1 < len(job_pages):
            body["NextToken"] = f"p{p + 1}"
        write(d, f"backup-jobs-{p}.json", json.dumps(body))
    ci_pages = pages(counts["items"], CI_PER_PAGE)
    for p, first, size in ci_pages:
        ids = [{"resourceType": "AWS::EC2::Volume", "resourceId": f"vol-{first + i:017x}"} for i in range(size)]
        body = {"resourceIdentifiers": ids}
        if p + 1 < len(ci_pages):
            body["nextToken"] = f"p{p + 1}"
        write(d, f"config-list-{p}.json", json.dumps(body))
        items = []
        for i in range(size):
            n = first + i
            vid = f"vol-{n:017x}"
            conf = {"attachments": [{"attachTime": "2026-01-01T00:00:00.000Z", "device": "/dev/xvda", "instanceId": f"i-{n:017x}", "state": "attached", "volumeId": vid, "deleteOnTermination": True}],
                    "availabilityZone": "us-east-1a", "createTime": "2026-01-01T00:00:00.000Z", "encrypted": True, "kmsKeyId": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd", "size": 100, "snapshotId": "", "state": "in-use", "volumeId": vid, "iops": 3000, "tags": [{"key": "app", "value": "orders"}], "volumeType": "gp3", "throughput": 125}
            items.append({"version": "1.3", "accountId": ACCOUNT, "configurationItemCaptureTime": T0 + n, "configurationItemStatus": "OK", "configurationStateId": str(T0 + n),
                          "arn": f"arn:aws:ec2:us-east-1:{ACCOUNT}:volume/{vid}", "resourceType": "AWS::EC2::Volume", "resourceId": vid, "awsRegion": "us-east-1", "availabilityZone": "us-east-1a",
                          "resourceCreationTime": T0, "configuration": json.dumps(conf), "supplementaryConfiguration": {}})
        write(d, f"config-batch-{p}.json", json.dumps({"baseConfigurationItems": items, "unprocessedResourceKeys": []}))
    alarm_pages = pages(counts["alarms"], ALARMS_PER_PAGE)
    for p, first, size in alarm_pages:
        members = []
        for i in range(size):
            n = first + i
            members.append(
                f"<member><AlarmName>alarm-{n:05d}</AlarmName><AlarmArn>arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:alarm-{n:05d}</AlarmArn>"
                f"<AlarmDescription>CPU high on i-{n:017x}</AlarmDescription><ActionsEnabled>true</ActionsEnabled>"
                f"<OKActions><member>arn:aws:sns:us-east-1:{ACCOUNT}:oncall</member></OKActions><AlarmActions><member>arn:aws:sns:us-east-1:{ACCOUNT}:oncall</member></AlarmActions><InsufficientDataActions/>"
                f"<StateValue>OK</StateValue><StateReason>Threshold Crossed</StateReason><StateUpdatedTimestamp>2026-08-01T00:00:00.000Z</StateUpdatedTimestamp>"
                f"<MetricName>CPUUtilization</MetricName><Namespace>AWS/EC2</Namespace><Statistic>Average</Statistic><Dimensions><member><Name>InstanceId</Name><Value>i-{n:017x}</Value></member></Dimensions>"
                f"<Period>300</Period><EvaluationPeriods>3</EvaluationPeriods><DatapointsToAlarm>2</DatapointsToAlarm><Threshold>80.0</Threshold><ComparisonOperator>GreaterThanThreshold</ComparisonOperator><TreatMissingData>missing</TreatMissingData></member>")
        token = f"<NextToken>p{p + 1}</NextToken>" if p + 1 < len(alarm_pages) else ""
        xml = ('<DescribeAlarmsResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><DescribeAlarmsResult>'
               f"<MetricAlarms>{''.join(members)}</MetricAlarms><CompositeAlarms/>{token}</DescribeAlarmsResult>"
               "<ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata></DescribeAlarmsResponse>")
        write(d, f"alarms-{p}.xml", xml)


def write(d, name, text):
    with open(os.path.join(d, name), "w") as f:
        f.write(text)


def peer(d):
    import botocore.session
    from botocore.awsrequest import AWSResponse
    from urllib.parse import parse_qs, urlparse

    class Raw:
        def __init__(self, b):
            self.b = b

        def stream(self, **_):
            yield self.b

    def respond(name, ctype):
        with open(os.path.join(d, name), "rb") as f:
            return AWSResponse("https://x", 200, {"Content-Type": ctype, "x-amzn-RequestId": "bench"}, Raw(f.read()))

    session = botocore.session.get_session()
    loader = session.get_component("data_loader")
    original = loader.load_service_model

    def query_protocol(service_name, type_name, api_version=None):
        # The same protocol the collector speaks to CloudWatch (Query XML).
        m = original(service_name, type_name, api_version)
        if service_name == "cloudwatch" and type_name == "service-2":
            m["metadata"]["protocol"] = "query"
            m["metadata"]["protocols"] = ["query"]
        return m

    loader.load_service_model = query_protocol
    kw = dict(region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    backup = session.create_client("backup", **kw)
    config = session.create_client("config", **kw)
    cw = session.create_client("cloudwatch", **kw)

    def page_of(token):
        return int(token[1:]) if token else 0

    backup.meta.events.register("before-send.backup.ListBackupJobs", lambda request, **_: respond(
        f"backup-jobs-{page_of(parse_qs(urlparse(request.url).query).get('nextToken', [None])[0])}.json", "application/json"))
    config.meta.events.register("before-send.config-service.ListDiscoveredResources", lambda request, **_: respond(
        f"config-list-{page_of(json.loads(request.body).get('nextToken'))}.json", "application/x-amz-json-1.1"))
    config.meta.events.register("before-send.config-service.BatchGetResourceConfig", lambda request, **_: respond(
        f"config-batch-{int(json.loads(request.body)['resourceKeys'][0]['resourceId'][4:], 16) // CI_PER_PAGE}.json", "application/x-amz-json-1.1"))
    cw.meta.events.register("before-send.cloudwatch.DescribeAlarms", lambda request, **_: respond(
        f"alarms-{page_of(parse_qs(request.body.decode() if isinstance(request.body, bytes) else request.body).get('NextToken', [None])[0])}.xml", "text/xml"))

    start = time.monotonic()
    jobs = []
    for page in backup.get_paginator("list_backup_jobs").paginate(ByCreatedAfter=0):
        jobs.extend(page["BackupJobs"])
    keys = []
    for page in config.get_paginator("list_discovered_resources").paginate(resourceType="AWS::EC2::Volume"):
        keys.extend(page["resourceIdentifiers"])
    items = []
    for i in range(0, len(keys), 100):
        batch = [{"resourceType": k["resourceType"], "resourceId": k["resourceId"]} for k in keys[i:i + 100]]
        items.extend(config.batch_get_resource_config(resourceKeys=batch)["baseConfigurationItems"])
    alarms = []
    for page in cw.get_paginator("describe_alarms").paginate():
        alarms.extend(page["MetricAlarms"])
    wall = time.monotonic() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with open(os.path.join(d, "counts.json")) as f:
        counts = json.load(f)
    expected = (counts["jobs"], counts["items"], counts["alarms"])
    assert (len(jobs), len(items), len(alarms)) == expected, (len(jobs), len(items), len(alarms))
    print(f"boto3 serial: {len(jobs)} jobs, {len(items)} configuration items, {len(alarms)} alarms: wall {wall:.3f} s, peak RSS {rss:.1f} MiB")


def scale(binary, work, *sizes):
    import math
    import re
    import statistics
    import subprocess

    def wall(cmd):
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        m = re.search(r"wall ([0-9.]+) s, peak RSS ([0-9.]+) MiB", out)
        assert m, out
        return float(m.group(1)), float(m.group(2))

    rows = []
    for n in map(int, sizes):
        d = os.path.join(work, f"scale-{n}")
        gen(d, n)
        ours, peers = [], []
        for _ in range(3):
            ours.append(wall([binary, d]))
            peers.append(wall([sys.executable, __file__, "peer", d]))
        o = statistics.median(w for w, _ in ours)
        p = statistics.median(w for w, _ in peers)
        rss = max(r for _, r in ours)
        prss = max(r for _, r in peers)
        rows.append((n, o, p, rss, prss))
        print(f"{n} items: evidenced {o:.3f} s (peak RSS {rss:.1f} MiB), boto3 {p:.3f} s (peak RSS {prss:.1f} MiB), {p / o:.1f}x", flush=True)
        subprocess.run(["rm", "-rf", d], check=True)
    print()
    print("| items | evidenced (median of 3) | per 1,000 items | boto3 serial (median of 3) | per 1,000 items | ratio | evidenced peak RSS (max of 3) | boto3 peak RSS (max of 3) |")
    print("|---|---|---|---|---|---|---|---|")
    for n, o, p, rss, prss in rows:
        print(f"| {n:,} | {o:.3f} s | {1000 * o / n * 1000:.1f} ms | {p:.3f} s | {1000 * p / n * 1000:.1f} ms | {p / o:.1f}x | {rss:.1f} MiB | {prss:.1f} MiB |")
    (n0, o0, p0, _, _), (n1, o1, p1, _, _) = rows[0], rows[-1]
    k = math.log(n1 / n0)
    print()
    print(f"growth exponent from {n0:,} to {n1:,} items (time ~ items^k; k = 1 is linear): "
          f"evidenced k = {math.log(o1 / o0) / k:.2f}, boto3 k = {math.log(p1 / p0) / k:.2f}")


if __name__ == "__main__":
    {"gen": gen, "peer": peer, "scale": scale}[sys.argv[1]](*sys.argv[2:])
