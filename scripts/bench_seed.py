"""Seeds moto with the benchmark organization: 1,000 accounts in 60 OUs (4 levels), 40 customer
SCPs attached to 1-3 targets each. Prints the shape needed for the read floor as JSON."""
import json, math, random, sys
import boto3

endpoint = sys.argv[1]
random.seed(7)
kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
org = boto3.client("organizations", **kw)
org.create_organization(FeatureSet="ALL")
root = org.list_roots()["Roots"][0]["Id"]
org.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")

children = {root: []}
def ou(parent, name):
    unit = org.create_organizational_unit(ParentId=parent, Name=name)["OrganizationalUnit"]["Id"]
    children[parent].append(unit)
    children[unit] = []
    return unit
level1 = [ou(root, f"L1-{i}") for i in range(5)]
level2 = [ou(p, f"L2-{i}-{j}") for i, p in enumerate(level1) for j in range(3)]
level3 = [ou(p, f"L3-{i}-{j}") for i, p in enumerate(level2) for j in range(2)]
level4 = [ou(p, f"L4-{i}") for i, p in enumerate(level3[:10])]
units = level1 + level2 + level3 + level4
assert len(units) == 60

containers = [root] + units
accounts_in = {c: 0 for c in containers}
account_ids = []
for n in range(999):  # + the management account = 1,000
    status = org.create_account(AccountName=f"acct-{n:04d}", Email=f"acct-{n:04d}@example.com")["CreateAccountStatus"]
    account = status["AccountId"]
    target = containers[n % len(containers)]
    if target != root:
        org.move_account(AccountId=account, SourceParentId=root, DestinationParentId=target)
    accounts_in[target] += 1
    account_ids.append(account)
accounts_in[root] += 1

targets_of = []
for p in range(40):
    doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": f"service{p}:*", "Resource": "*"}]})
    policy = org.create_policy(Name=f"guardrail-{p:02d}", Description=f"guardrail {p}", Content=doc, Type="SERVICE_CONTROL_POLICY")
    policy_id = policy["Policy"]["PolicySummary"]["Id"]
    chosen = random.sample(units + account_ids, random.randint(1, 3))
    for target in chosen:
        org.attach_policy(PolicyId=policy_id, TargetId=target)
    targets_of.append(len(chosen))

# FullAWSAccess is attached to the root, every OU and every account.
full_access_targets = 1 + len(units) + 1000
floor = 2
for c in containers:
    floor += math.ceil(max(len(children[c]), 1) / 20) + math.ceil(max(accounts_in[c], 1) / 20)
floor += math.ceil(41 / 20)                       # ListPolicies (1 type, 41 policies)
floor += 40                                       # DescribePolicy per customer policy
floor += sum(math.ceil(max(t, 1) / 20) for t in targets_of) + math.ceil(full_access_targets / 20)
print(json.dumps({"accounts": 1000, "units": len(units), "policies": 40, "read_floor": floor,
                  "floor_breakdown": {"hierarchy": floor - 40 - sum(math.ceil(max(t, 1) / 20) for t in targets_of) - math.ceil(full_access_targets / 20) - math.ceil(41/20)}}))
