"""Seed a moto server with a small, realistic account for the collectors demo.

Usage: seed_moto.py ENDPOINT_URL

Creates, in us-east-1: the evidence bucket (Object Lock in compliance mode, versioning,
SSE-KMS, Block Public Access, a deny-delete policy) and an application bucket; CloudWatch
metric alarms with actions; AWS Backup vaults (one with Vault Lock), a backup plan with a
cross-region copy, a report plan; an AWS Config recorder, delivery channel and rules.
"""
import json
import sys
import urllib.parse
import urllib.request

import boto3

ACCOUNT = "123456789012"
REGION = "us-east-1"
EVIDENCE_BUCKET = "demo-evidence"
APP_BUCKET = "demo-orders-data"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:oncall"


def client(endpoint, service):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def buckets(endpoint):
    s3 = client(endpoint, "s3")
    s3.create_bucket(Bucket=EVIDENCE_BUCKET, ObjectLockEnabledForBucket=True)
    s3.put_bucket_versioning(
        Bucket=EVIDENCE_BUCKET, VersioningConfiguration={"Status": "Enabled"}
    )
    s3.put_object_lock_configuration(
        Bucket=EVIDENCE_BUCKET,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 400}},
        },
    )
    s3.put_bucket_encryption(
        Bucket=EVIDENCE_BUCKET,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": "alias/evidence",
                    },
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )
    s3.put_public_access_block(
        Bucket=EVIDENCE_BUCKET,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_policy(
        Bucket=EVIDENCE_BUCKET,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "DenyDeletes",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion"],
                        "Resource": f"arn:aws:s3:::{EVIDENCE_BUCKET}/*",
                    }
                ],
            }
        ),
    )
    s3.create_bucket(Bucket=APP_BUCKET)


def query(endpoint, service, params):
    """A Query-protocol request (moto's CloudWatch does not speak RPCv2-CBOR)."""
    body = urllib.parse.urlencode(params).encode()
    req = urllib.request.Request(
        endpoint + "/",
        data=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": f"AWS4-HMAC-SHA256 Credential=testing/20260101/{REGION}/{service}/aws4_request, SignedHeaders=host, Signature=0",
        },
    )
    with urllib.request.urlopen(req) as resp:
        resp.read()


def alarms(endpoint):
    for name, ns, metric, threshold, dims in [
        ("orders-api-5xx", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", 10, [("LoadBalancer", "app/orders/50dc6c495c0c9188")]),
        ("orders-db-cpu", "AWS/RDS", "CPUUtilization", 80, [("DBInstanceIdentifier", "orders-db")]),
        ("backup-job-failed", "AWS/Backup", "NumberOfBackupJobsFailed", 0, []),
    ]:
        params = {
            "Action": "PutMetricAlarm",
            "Version": "2010-08-01",
            "AlarmName": name,
            "Namespace": ns,
            "MetricName": metric,
            "Statistic": "Maximum",
            "Period": "300",
            "EvaluationPeriods": "2",
            "Threshold": str(threshold),
            "ComparisonOperator": "GreaterThanThreshold",
            "ActionsEnabled": "true",
            "AlarmActions.member.1": TOPIC,
            "OKActions.member.1": TOPIC,
        }
        for i, (k, v) in enumerate(dims, start=1):
            params[f"Dimensions.member.{i}.Name"] = k
            params[f"Dimensions.member.{i}.Value"] = v
        query(endpoint, "monitoring", params)


def backup(endpoint):
    b = client(endpoint, "backup")
    b.create_backup_vault(BackupVaultName="primary")
    b.create_backup_vault(BackupVaultName="dr-copy")
    b.put_backup_vault_lock_configuration(
        BackupVaultName="primary", MinRetentionDays=7, MaxRetentionDays=400
    )
    b.create_backup_plan(
        BackupPlan={
            "BackupPlanName": "orders-nightly",
            "Rules": [
                {
                    "RuleName": "nightly",
                    "TargetBackupVaultName": "primary",
                    "ScheduleExpression": "cron(0 5 ? * * *)",
                    "StartWindowMinutes": 60,
                    "CompletionWindowMinutes": 240,
                    "Lifecycle": {"DeleteAfterDays": 35},
                    "CopyActions": [
                        {
                            "DestinationBackupVaultArn": f"arn:aws:backup:us-west-2:{ACCOUNT}:backup-vault:dr-copy",
                            "Lifecycle": {"DeleteAfterDays": 35},
                        }
                    ],
                }
            ],
        }
    )
    b.create_report_plan(
        ReportPlanName="daily_jobs",
        ReportPlanDescription="Backup and restore jobs, daily",
        ReportDeliveryChannel={"S3BucketName": EVIDENCE_BUCKET, "S3KeyPrefix": "backup-reports", "Formats": ["CSV"]},
        ReportSetting={"ReportTemplate": "RESTORE_JOB_REPORT"},
    )


def config(endpoint):
    c = client(endpoint, "config")
    c.put_configuration_recorder(
        ConfigurationRecorder={
            "name": "default",
            "roleARN": f"arn:aws:iam::{ACCOUNT}:role/aws-config",
            "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": True},
        }
    )
    c.put_delivery_channel(
        DeliveryChannel={"name": "default", "s3BucketName": EVIDENCE_BUCKET, "s3KeyPrefix": "config"}
    )
    c.start_configuration_recorder(ConfigurationRecorderName="default")
    for name, ident, types in [
        ("s3-bucket-versioning-enabled", "S3_BUCKET_VERSIONING_ENABLED", ["AWS::S3::Bucket"]),
        ("s3-bucket-public-read-prohibited", "S3_BUCKET_PUBLIC_READ_PROHIBITED", ["AWS::S3::Bucket"]),
        ("encrypted-volumes", "ENCRYPTED_VOLUMES", ["AWS::EC2::Volume"]),
    ]:
        c.put_config_rule(
            ConfigRule={
                "ConfigRuleName": name,
                "Scope": {"ComplianceResourceTypes": types},
                "Source": {"Owner": "AWS", "SourceIdentifier": ident},
            }
        )


def main():
    endpoint = sys.argv[1].rstrip("/")
    buckets(endpoint)
    alarms(endpoint)
    backup(endpoint)
    config(endpoint)
    print(f"seeded {endpoint}: 2 buckets, 3 alarms, 2 vaults, 1 backup plan, 1 report plan, Config recorder and 3 rules")


if __name__ == "__main__":
    main()
