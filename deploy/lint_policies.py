#!/usr/bin/env python3
"""Pull every IAM policy document out of the CloudFormation templates and run parliament on it.

parliament reads plain JSON policies, while the templates build theirs with intrinsic functions
(!Sub, !GetAtt, !ImportValue, !If, !Split ...). This script resolves those against placeholder
values (account 123456789012, region us-east-1, made-up ARNs of the right shape for each
resource type), so that parliament checks the actions, resource ARN formats and condition keys
exactly as written. A statement under !If is checked in both branches: each template is
resolved once with every condition true and once with every condition false.

It also checks that the member-account role grants exactly the collector read-only statements
of the task role, so that the two templates cannot drift apart.

Usage: lint_policies.py OUT_DIR ACCEPTED TEMPLATE... (run with the lint venv's python;
parliament is taken from the same venv). ACCEPTED (deploy/parliament-accepted.yaml) lists the
few findings accepted on purpose, each with its reason. Exits 1 on any other parliament
finding, on an acceptance that no longer matches anything, or on drift; 2 when a template
cannot be resolved or parliament itself fails.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import yaml
from cfnlint.decode import decode

ACCOUNT = "123456789012"
REGION = "us-east-1"
PARTITION = "aws"

PSEUDO = {
    "AWS::AccountId": ACCOUNT,
    "AWS::Region": REGION,
    "AWS::Partition": PARTITION,
    "AWS::StackName": "evidenced-stack",
    "AWS::URLSuffix": "amazonaws.com",
}

# Values of the bucket stack's exports, as the service stack imports them.
IMPORTS = {
    "BucketName": f"evidenced-evidence-{ACCOUNT}-{REGION}",
    "BucketArn": f"arn:aws:s3:::evidenced-evidence-{ACCOUNT}-{REGION}",
    "KeyArn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/00000000-0000-4000-8000-000000000001",
    "EvidencePrefix": "evidence",
    "InboxPrefix": "inbox",
    "InboxBucketName": f"evidenced-inbox-{ACCOUNT}-{REGION}",
    "InboxBucketArn": f"arn:aws:s3:::evidenced-inbox-{ACCOUNT}-{REGION}",
    "TaskRoleName": "evidenced-task",
}

# Parameters without a usable default.
PARAMETER_PLACEHOLDERS = {
    "CollectorAccountId": "210987654321",
    "ExternalId": "placeholder-external-id",
    "MemberAccountIds": "111111111111,222222222222",
    "ImageUri": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/evidenced@sha256:" + "0" * 64,
    "VpcId": "vpc-0123456789abcdef0",
    "SubnetIds": "subnet-0123456789abcdef0",
    "AlarmEmail": "ops@example.com",
    "MemberExternalId": "placeholder-external-id",
    "Regions": "us-east-1,eu-west-1",
    "ConfigAggregatorName": "org-aggregator",
    "CheckpointKeySecretArn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:evidenced-checkpoint-AbCdEf",
    "CheckpointKmsKeyArn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "WitnessBucket": "evidenced-witness-bucket",
    "AlarmTopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:on-call",
}


class Unresolvable(Exception):
    pass


class NoValue:
    """AWS::NoValue: the enclosing list item or key disappears."""


KEY_ID = "00000000-0000-4000-8000-000000000002"


def physical_name(logical: str) -> str:
    """Placeholder physical name of a resource created by the template."""
    return f"{logical.lower()}-placeholder"


def ref(logical: str, resources: dict) -> str:
    """What !Ref returns for the resource types the policies refer to."""
    kind = resources[logical]["Type"]
    if kind == "AWS::KMS::Key":
        return KEY_ID
    if kind == "AWS::SNS::Topic":
        return f"arn:aws:sns:{REGION}:{ACCOUNT}:{physical_name(logical)}"
    # Buckets, log groups, clusters, roles: their name.
    return physical_name(logical)


def get_att(logical: str, attr: str, resources: dict) -> str:
    kind = resources[logical]["Type"]
    name = physical_name(logical)
    arns = {
        "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
        "AWS::KMS::Key": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{KEY_ID}",
        "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT}:role/{name}",
        "AWS::SNS::Topic": f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}",
        "AWS::Logs::LogGroup": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}:*",
    }
    if attr == "Arn" and kind in arns:
        return arns[kind]
    if attr == "Name":
        return name
    raise Unresolvable(f"Fn::GetAtt {logical}.{attr} ({kind})")


class Resolver:
    def __init__(self, template: dict, conditions_true: bool):
        self.resources = template.get("Resources", {})
        self.conditions_true = conditions_true
        self.params = {}
        for name, spec in template.get("Parameters", {}).items():
            if name in PARAMETER_PLACEHOLDERS:
                self.params[name] = PARAMETER_PLACEHOLDERS[name]
            elif "Default" in spec and spec["Default"] != "":
                self.params[name] = str(spec["Default"])
            else:
                raise Unresolvable(f"parameter {name} has no default and no placeholder")

    def lookup(self, name: str) -> str:
        if name in PSEUDO:
            return PSEUDO[name]
        if name in self.params:
            return self.params[name]
        if "." in name:
            logical, attr = name.split(".", 1)
            return get_att(logical, attr, self.resources)
        if name in self.resources:
            return ref(name, self.resources)
        raise Unresolvable(f"${{{name}}}")

    def sub(self, text: str, extra: dict) -> str:
        def one(m: re.Match) -> str:
            key = m.group(1)
            if key.startswith("!"):
                return "${" + key[1:] + "}"
            if key in extra:
                return extra[key]
            return self.lookup(key)

        return re.sub(r"\$\{([^}]+)\}", one, text)

    def resolve(self, node):
        if isinstance(node, dict):
            if len(node) == 1:
                (key, arg), = node.items()
                if key == "Ref":
                    if arg == "AWS::NoValue":
                        return NoValue()
                    return self.lookup(arg)
                if key == "Fn::Sub":
                    if isinstance(arg, str):
                        return self.sub(arg, {})
                    text, variables = arg
                    return self.sub(text, {k: self.resolve(v) for k, v in variables.items()})
                if key == "Fn::GetAtt":
                    logical, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                    return get_att(logical, attr, self.resources)
                if key == "Fn::ImportValue":
                    export = self.resolve(arg)
                    suffix = export.rsplit("-", 1)[-1]
                    if suffix not in IMPORTS:
                        raise Unresolvable(f"Fn::ImportValue {export}")
                    return IMPORTS[suffix]
                if key == "Fn::If":
                    _, when_true, when_false = arg
                    return self.resolve(when_true if self.conditions_true else when_false)
                if key == "Fn::Join":
                    sep, items = arg
                    return sep.join(self.resolve(items))
                if key == "Fn::Split":
                    sep, text = arg
                    return self.resolve(text).split(sep)
                if key == "Fn::Select":
                    index, items = arg
                    return self.resolve(items)[int(self.resolve(index))]
                if key.startswith("Fn::"):
                    raise Unresolvable(key)
            out = {}
            for k, v in node.items():
                r = self.resolve(v)
                if not isinstance(r, NoValue):
                    out[k] = r
            return out
        if isinstance(node, list):
            return [r for r in (self.resolve(v) for v in node) if not isinstance(r, NoValue)]
        return node


def policy_documents(template: dict):
    """(label, document, implicit resource ARN or None) for every policy in the template.

    Two kinds of resource policy name their resource implicitly, which parliament cannot
    know: a role's trust policy has no Resource element (the resource is the role), and in a
    key policy "*" means "this key". For those the implicit ARN is returned so that the
    statements can be checked against the resource they actually govern.
    """
    resources = template.get("Resources", {})
    for logical, res in resources.items():
        kind, props = res.get("Type"), res.get("Properties", {})
        if kind == "AWS::IAM::Role":
            role_arn = get_att(logical, "Arn", resources)
            yield f"{logical}.AssumeRolePolicy", props["AssumeRolePolicyDocument"], role_arn
            for policy in props.get("Policies", []):
                yield f"{logical}.{policy['PolicyName']}", policy["PolicyDocument"], None
        elif kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            yield logical, props["PolicyDocument"], None
        elif kind in ("AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy"):
            yield logical, props["PolicyDocument"], None
        elif kind == "AWS::KMS::Key":
            yield f"{logical}.KeyPolicy", props["KeyPolicy"], get_att(logical, "Arn", resources)


def with_implicit_resource(doc: dict, arn: str | None) -> dict:
    if arn is None:
        return doc
    for statement in doc.get("Statement", []):
        if "Resource" not in statement and "NotResource" not in statement:
            statement["Resource"] = arn
        elif statement.get("Resource") == "*" and statement.get("Action") != "kms:*":
            # The account delegation statement (kms:*) stays as written: its actions
            # include ones on other resource types (aliases, CreateKey).
            statement["Resource"] = arn
    return doc


def extract(templates: list[Path], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.json"):
        old.unlink()
    written = []
    for path in templates:
        template, errors = decode(str(path))
        if errors or template is None:
            raise Unresolvable(f"{path}: cannot decode: {errors}")
        for variant, flag in (("conditions-true", True), ("conditions-false", False)):
            resolver = Resolver(template, flag)
            for label, doc, implicit in policy_documents(template):
                resolved = with_implicit_resource(resolver.resolve(doc), implicit)
                text = json.dumps(resolved, indent=2) + "\n"
                # A document that no condition changes is checked once.
                twin = out / f"{path.stem}.{label}.conditions-true.json"
                if not flag and twin.exists() and twin.read_text() == text:
                    continue
                target = out / f"{path.stem}.{label}.{variant}.json"
                target.write_text(text)
                written.append(target)
    return written


def run_parliament(out: Path) -> list[dict]:
    """parliament (with the community auditors) over the extracted documents: its findings."""
    parliament = Path(sys.executable).with_name("parliament")
    proc = subprocess.run(
        [
            str(parliament),
            "--directory",
            str(out),
            "--include_policy_extension",
            ".json",
            "--include-community-auditors",
            "--json",
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    findings = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode not in (0, 1) or (proc.returncode == 1 and not findings):
        raise Unresolvable(f"parliament failed (exit status {proc.returncode}): {proc.stderr}")
    return findings


def accepted(finding: dict, entries: list[dict]) -> int | None:
    """Index of the accepted-findings entry that covers this finding, if any."""
    location = dict(finding.get("location") or {})
    location["filepath"] = Path(str(location.get("filepath", ""))).name
    for index, entry in enumerate(entries):
        if all(
            re.fullmatch(pattern, str(location.get(key, "")), re.IGNORECASE)
            for key, pattern in entry.items()
        ):
            return index
    return None


def judge(findings: list[dict], accepted_path: Path) -> int:
    """Print every finding; fail on one not accepted, or on an acceptance that matched nothing."""
    config = yaml.safe_load(accepted_path.read_text()) or {}
    used = set()
    failures = 0
    for f in findings:
        entries = config.get(f["issue"], {}).get("ignore_locations", [])
        index = accepted(f, entries)
        where = Path(str(f["location"].get("filepath", ""))).name
        if index is None:
            failures += 1
            print(f"parliament: FINDING {f['severity']} {f['issue']} in {where}: {f['detail']}")
        else:
            used.add((f["issue"], index))
            print(f"parliament: accepted {f['issue']} in {where} ({accepted_path.name})")
    for issue, settings in config.items():
        for index, _ in enumerate(settings.get("ignore_locations", [])):
            if (issue, index) not in used:
                failures += 1
                print(f"parliament: stale acceptance {issue}[{index}] in {accepted_path.name}")
    return failures


def statements(path: Path, resource: str, policy: str) -> dict:
    template, _ = decode(str(path))
    role = template["Resources"][resource]["Properties"]
    doc = next(p["PolicyDocument"] for p in role["Policies"] if p["PolicyName"] == policy)
    return {
        s["Sid"]: json.dumps(s, sort_keys=True)
        for s in Resolver(template, True).resolve(doc)["Statement"]
    }


def check_member_role_matches(deploy: Path) -> int:
    """The member role must grant what the task role's collectors read, nothing more."""
    task = statements(deploy / "service.yaml", "TaskRole", "collect-read-only")
    member = statements(deploy / "member-role.yaml", "MemberRole", "collect-read-only")
    task.pop("AssumeMemberReadOnlyRoles", None)
    # Resources name the account of each role's own stack; the placeholders are identical.
    if task != member:
        only_task = sorted(set(task.items()) - set(member.items()))
        only_member = sorted(set(member.items()) - set(task.items()))
        print("drift: member-role.yaml collect-read-only differs from the task role's:")
        for sid, _ in only_task:
            print(f"  task role only (or different): {sid}")
        for sid, _ in only_member:
            print(f"  member role only (or different): {sid}")
        return 1
    print(f"drift: member role grants the task role's {len(task)} read-only statements: ok")
    return 0


def main(argv: list[str]) -> int:
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    out, accepted_path = Path(argv[1]), Path(argv[2])
    templates = [Path(a) for a in argv[3:]]
    try:
        files = extract(templates, out)
        drift = 0
        names = {t.name for t in templates}
        if {"service.yaml", "member-role.yaml"} <= names:
            drift = check_member_role_matches(
                next(t for t in templates if t.name == "service.yaml").parent
            )
        for f in files:
            print(f"parliament: checking {f.name}")
        failures = judge(run_parliament(out), accepted_path)
    except Unresolvable as e:
        print(f"lint_policies: {e}", file=sys.stderr)
        return 2
    print(f"parliament: {len(files)} policy documents, {failures} unaccepted findings")
    return 1 if failures or drift else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
