"""Seeds moto with a benchmark organization and prints its shape and read floor as JSON.

    bench_seed.py ENDPOINT [full|small] [ACCOUNTS]

full (the benchmark of issue 6): 1,000 accounts (the management account included) in 60 OUs, 4
levels deep, and 40 customer SCPs attached to 1-3 targets each. small (the benchmark's smoke run
under `cargo test`): 40 accounts in 9 OUs, 5 SCPs. ACCOUNTS (the management account included)
changes how many accounts the same OUs and SCPs hold (the landing-zone case's BENCH_ACCOUNTS).

The read floor is docs/performance.md's, per operation, at AWS's page size of 20 items; no tags are
managed by the spec `landing-zone import` writes, so ListTagsForResource's term is 0.
"""
import json, math, random, sys
import boto3

endpoint = sys.argv[1]
size = sys.argv[2] if len(sys.argv) > 2 else "full"
if size == "full":
    # (children per parent at each level, how many parents of the level above get children)
    levels, accounts, policies = [(5, None), (3, None), (2, None), (1, 10)], 1000, 40
elif size == "small":
    levels, accounts, policies = [(2, None), (2, None), (1, 2), (1, 1)], 40, 5
else:
    sys.exit(f"unknown size {size!r}: full or small")
if len(sys.argv) > 3:
    accounts = int(sys.argv[3])

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

units, parents = [], [root]
for depth, (fanout, limit) in enumerate(levels, start=1):
    level = [ou(parent, f"L{depth}-{p}-{j}") for p, parent in enumerate(parents[:limit]) for j in range(fanout)]
    units += level
    parents = level

containers = [root] + units
accounts_in = {c: 0 for c in containers}
account_ids = []
for n in range(accounts - 1):  # + the management account
    status = org.create_account(AccountName=f"acct-{n:04d}", Email=f"acct-{n:04d}@example.com")["CreateAccountStatus"]
    account = status["AccountId"]
    target = containers[n % len(containers)]
    if target != root:
        org.move_account(AccountId=account, SourceParentId=root, DestinationParentId=target)
    accounts_in[target] += 1
    account_ids.append(account)
accounts_in[root] += 1

targets_of = []
for p in range(policies):
    doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": f"service{p}:*", "Resource": "*"}]})
    policy = org.create_policy(Name=f"guardrail-{p:02d}", Description=f"guardrail {p}", Content=doc, Type="SERVICE_CONTROL_POLICY")
    policy_id = policy["Policy"]["PolicySummary"]["Id"]
    chosen = random.sample(units + account_ids, random.randint(1, 3))
    for target in chosen:
        org.attach_policy(PolicyId=policy_id, TargetId=target)
    targets_of.append(len(chosen))

pages = lambda items: math.ceil(max(items, 1) / 20)
# FullAWSAccess is attached to the root, every OU and every account.
full_access_targets = 1 + len(units) + accounts
floor = {
    "DescribeOrganization": 1,
    "ListRoots": 1,
    "ListOrganizationalUnitsForParent": sum(pages(len(children[c])) for c in containers),
    "ListAccountsForParent": sum(pages(accounts_in[c]) for c in containers),
    "ListPolicies": pages(policies + 1),  # one policy type; FullAWSAccess included
    "DescribePolicy": policies,  # customer-managed only: AWS-managed content is known
    "ListTargetsForPolicy": sum(pages(t) for t in targets_of) + pages(full_access_targets),
    "ListTagsForResource": 0,
}
print(json.dumps({"accounts": accounts, "units": len(units), "policies": policies,
                  "read_floor": sum(floor.values()), "floor": floor}))
