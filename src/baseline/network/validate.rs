//! Offline rules of `network:`, reported through `spec::validate::Checker` at each value's line
//! and column, all at once. Nothing here calls AWS.
//!
//! - CIDR blocks well-formed and canonical; a VPC's and a subnet's size `/16`-`/28`
//!   (https://docs.aws.amazon.com/vpc/latest/userguide/vpc-cidr-blocks.html,
//!   https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSubnet.html: "The allowed
//!   size for an IPv4 subnet is between a /28 netmask (16 IP addresses) and a /16 netmask").
//! - A VPC's block in RFC 1918's private ranges (the VPC CIDR blocks page recommends them; the
//!   spec requires them, so that no VPC shadows public addresses).
//! - Subnets inside their VPC and not overlapping one another (CreateSubnet: "A subnet CIDR block
//!   must not overlap the CIDR block of an existing subnet in the VPC"); VPCs attached to one
//!   Transit Gateway not overlapping (the gateway routes to each VPC by its block:
//!   https://docs.aws.amazon.com/vpc/latest/tgw/tgw-vpc-attachments.html).
//! - A gateway's ASN in AWS's private ranges, 64512-65534 and 4200000000-4294967294
//!   (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_TransitGatewayRequestOptions.html).
//! - Regions of the spec; a VPC's gateway in the VPC's Region (a VPC attaches only to a gateway
//!   of its own Region); the VPC's account the gateway's own or within its `share_with`.
//! - No more subnets of a tier than the Region has Availability Zones (one per zone, in order).
//!   The bound is conservative: three, the least any Region has ("Each Region has at least three
//!   Availability Zones", https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-availability-zones.html),
//!   except the Regions in [`ZONES_ABOVE_THREE`], whose zones that page lists. Apply checks the
//!   account's own zones (DescribeAvailabilityZones) again.

use std::collections::BTreeMap;

use super::cidr::{CidrError, Ipv4Cidr};
use crate::spec::model::{Targets, ROOT};
use crate::spec::validate::Checker;
use crate::spec::Spec;

/// Smallest and largest VPC and subnet blocks.
pub const LARGEST_PREFIX: u8 = 16;
pub const SMALLEST_PREFIX: u8 = 28;

/// AWS's private ASN ranges for a Transit Gateway's Amazon side.
pub const PRIVATE_ASN_RANGES: [(u64, u64); 2] = [(64_512, 65_534), (4_200_000_000, 4_294_967_294)];

/// Zones every Region has at least.
pub const LEAST_ZONES: usize = 3;

/// Regions with more zones than [`LEAST_ZONES`], by the AZ IDs the Availability Zones page lists
/// (use1-az1 to use1-az6; usw2-az1 to usw2-az4). An account may see fewer: apply checks its own.
pub const ZONES_ABOVE_THREE: [(&str, usize); 2] = [("us-east-1", 6), ("us-west-2", 4)];

/// The most subnets of one tier the spec accepts in a Region.
pub fn zone_bound(region: &str) -> usize {
    ZONES_ABOVE_THREE.iter().find(|(name, _)| *name == region).map_or(LEAST_ZONES, |(_, zones)| *zones)
}

/// Whether an ASN is in AWS's private ranges.
pub fn is_private_asn(asn: u64) -> bool {
    PRIVATE_ASN_RANGES.iter().any(|(low, high)| (*low..=*high).contains(&asn))
}

/// Whether `targets` covers the account `name` of the spec (units cover their subtree).
pub fn covers_account(spec: &Spec, targets: &Targets, name: &str) -> bool {
    let Some(account) = spec.accounts.get(name) else { return false };
    covers(targets, name, &account.unit)
}

/// Whether `targets` covers the account `name` that lives in the unit `unit` (a path, or `Root`).
pub fn covers(targets: &Targets, name: &str, unit: &str) -> bool {
    let under = |listed: &str| listed == ROOT || unit == listed || unit.starts_with(&format!("{listed}/"));
    let included =
        targets.accounts.iter().any(|listed| listed == name) || targets.units.iter().any(|listed| under(listed));
    let excluded = targets.exclude.iter().any(|excluded| excluded == name || (excluded != ROOT && under(excluded)));
    included && !excluded
}

/// A spec path of owned segments, borrowed.
fn path(segments: &[String]) -> Vec<&str> {
    segments.iter().map(String::as_str).collect()
}

/// Parses the CIDR at `path`, reporting why it cannot be used; None then.
fn cidr(checker: &mut Checker<'_>, path: &[&str], text: &str, what: &str) -> Option<Ipv4Cidr> {
    match Ipv4Cidr::parse(text) {
        Ok(block) if !(LARGEST_PREFIX..=SMALLEST_PREFIX).contains(&block.prefix()) => {
            checker.error(
                path,
                format!("{what} `{text}` is a /{}: AWS allows /16 to /28", block.prefix()),
                Some("choose a block between /16 (65,536 addresses) and /28 (16 addresses)".to_string()),
            );
            None
        }
        Ok(block) => Some(block),
        Err(CidrError::Malformed) => {
            checker.error(
                path,
                format!("{what} `{text}` is not an IPv4 CIDR block"),
                Some("write it as `a.b.c.d/n`, for example `10.10.0.0/16`".to_string()),
            );
            None
        }
        Err(CidrError::NotCanonical(canonical)) => {
            checker.error(
                path,
                format!("{what} `{text}` has host bits set: AWS would store `{canonical}`"),
                Some(format!("write `{canonical}`")),
            );
            None
        }
    }
}

fn region(checker: &mut Checker<'_>, path: &[&str], region: &str) {
    let regions = &checker.spec().organization.regions;
    if !regions.iter().any(|listed| listed == region) {
        let listed = regions.join(", ");
        checker.error(
            path,
            format!("region `{region}` is not one of `organization.regions`"),
            Some(format!("use one of {listed}, or add `{region}` to `organization.regions`")),
        );
    }
}

/// Checks `network:`, if the spec has it.
pub(super) fn check(checker: &mut Checker<'_>) {
    let spec = checker.spec();
    let Some(network) = &spec.network else { return };
    for (name, gateway) in &network.transit_gateways {
        let base = ["network", "transit_gateways", name.as_str()];
        checker.account_reference(&[&base[..], &["account"]].concat(), &gateway.account);
        region(checker, &[&base[..], &["region"]].concat(), &gateway.region);
        if !is_private_asn(gateway.asn) {
            checker.error(
                &[&base[..], &["asn"]].concat(),
                format!("ASN {} is not a private ASN", gateway.asn),
                Some(
                    "a Transit Gateway's Amazon-side ASN is 64512-65534 (16-bit) or 4200000000-4294967294 (32-bit)"
                        .to_string(),
                ),
            );
        }
        checker.targets(&[&base[..], &["share_with"]].concat(), &gateway.share_with, true);
        // A RAM share reaches every account of an OU it names: it has no exclusions.
        // https://docs.aws.amazon.com/ram/latest/APIReference/API_CreateResourceShare.html
        if !gateway.share_with.exclude.is_empty() {
            checker.error(
                &[&base[..], &["share_with", "exclude"]].concat(),
                "`exclude` does not apply to `share_with`: an AWS RAM share with an OU reaches every account below it"
                    .to_string(),
                Some("share with the child OUs or accounts the gateway should reach instead".to_string()),
            );
        }
        // Sharing with OUs needs RAM's sharing with the organization on, enabled from the
        // management account (`sharing`).
        if !gateway.share_with.is_empty() && spec.organization.management_account.is_none() {
            checker.error_at(
                &[&base[..], &["share_with"]].concat(),
                true,
                "sharing a transit gateway through AWS RAM is enabled from the management account: `organization.management_account` must name it".to_string(),
                Some("add `management_account: <name of the management account entry>` under `organization`".to_string()),
            );
        }
    }
    // Blocks of the VPCs attached to each gateway, to find overlaps: gateway -> (VPC, block).
    let mut attached: BTreeMap<&str, Vec<(&str, Ipv4Cidr)>> = BTreeMap::new();
    for (name, vpc) in &network.vpcs {
        let base = ["network", "vpcs", name.as_str()];
        let at = |rest: &[&'static str]| -> Vec<String> {
            base.iter().chain(rest.iter()).map(|segment| segment.to_string()).collect()
        };
        let account_path = at(&["account"]);
        checker.account_reference(&path(&account_path), &vpc.account);
        let region_path = at(&["region"]);
        region(checker, &path(&region_path), &vpc.region);
        let cidr_path = at(&["cidr"]);
        let block = cidr(checker, &path(&cidr_path), &vpc.cidr, "the VPC's CIDR");
        if let Some(block) = block.filter(|block| !block.is_private()) {
            checker.error(
                &path(&cidr_path),
                format!("the VPC's CIDR `{block}` is not in a private (RFC 1918) range"),
                Some("use a block inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16".to_string()),
            );
        }
        let mut subnets: Vec<(String, Ipv4Cidr)> = Vec::new();
        for (tier, cidrs) in vpc.subnets.tiers() {
            let bound = zone_bound(&vpc.region);
            if cidrs.len() > bound {
                let tier_path = at(&["subnets", tier.as_str()]);
                checker.error(
                    &path(&tier_path),
                    format!(
                        "{} {} subnets in {}, which has {bound} Availability Zones landing-zone can count on",
                        cidrs.len(),
                        tier.as_str(),
                        vpc.region
                    ),
                    Some(format!("list at most {bound}: one subnet per Availability Zone")),
                );
            }
            for (index, text) in cidrs.iter().enumerate() {
                let item: Vec<String> =
                    at(&["subnets", tier.as_str()]).into_iter().chain([index.to_string()]).collect();
                let Some(subnet) = cidr(checker, &path(&item), text, "the subnet's CIDR") else { continue };
                if let Some(block) = block.filter(|block| !block.contains(subnet)) {
                    checker.error(
                        &path(&item),
                        format!("subnet `{subnet}` is not inside its VPC's `{block}`"),
                        Some(format!("choose a block inside `{block}`")),
                    );
                }
                if let Some((other, _)) = subnets.iter().find(|(_, other)| other.overlaps(subnet)) {
                    checker.error(
                        &path(&item),
                        format!("subnet `{subnet}` overlaps subnet `{other}` of the same VPC"),
                        Some("subnets of one VPC must not share addresses".to_string()),
                    );
                }
                subnets.push((subnet.to_string(), subnet));
            }
        }
        let Some(gateway_name) = &vpc.transit_gateway else { continue };
        let gateway_path = at(&["transit_gateway"]);
        let Some(gateway) = network.transit_gateways.get(gateway_name) else {
            let hint = crate::spec::diagnostic::did_you_mean(
                gateway_name,
                network.transit_gateways.keys().map(String::as_str),
            )
            .or_else(|| Some("name a key of `network.transit_gateways`".to_string()));
            checker.error(
                &path(&gateway_path),
                format!("transit gateway `{gateway_name}` does not exist in the spec"),
                hint,
            );
            continue;
        };
        if gateway.region != vpc.region {
            checker.error(
                &path(&gateway_path),
                format!(
                    "transit gateway `{gateway_name}` is in {}, and the VPC in {}: a VPC attaches only to a gateway of its own Region",
                    gateway.region, vpc.region
                ),
                Some("attach it to a gateway in its Region, or peer the gateways".to_string()),
            );
        }
        if vpc.account != gateway.account && !covers_account(spec, &gateway.share_with, &vpc.account) {
            checker.error(
                &path(&gateway_path),
                format!(
                    "account `{}` is not within transit gateway `{gateway_name}`'s `share_with`: it cannot attach to it",
                    vpc.account
                ),
                Some(format!(
                    "add `{}` (or its unit) to `network.transit_gateways.{gateway_name}.share_with`",
                    vpc.account
                )),
            );
        }
        if vpc.subnets.private.is_empty() {
            checker.error(
                &path(&gateway_path),
                "the VPC attaches to a transit gateway but has no private subnets to attach it on".to_string(),
                Some("list the VPC's `subnets.private`".to_string()),
            );
        }
        if let Some(block) = block {
            let others = attached.entry(gateway_name.as_str()).or_default();
            if let Some((other, other_block)) = others.iter().find(|(_, other)| other.overlaps(block)) {
                checker.error(
                    &path(&cidr_path),
                    format!(
                        "the VPC's CIDR `{block}` overlaps VPC `{other}`'s `{other_block}`, and both attach to transit gateway `{gateway_name}`"
                    ),
                    Some("VPCs attached to one gateway need blocks that do not overlap".to_string()),
                );
            }
            others.push((name.as_str(), block));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::validate::messages;

    const HEAD: &str = "version: 1
organization:
  management_account: network
  regions: [us-east-1, eu-west-1]
units:
  Workloads: {}
  Sandbox: {}
accounts:
  network: { email: aws+network@example.com }
  app-prod: { email: aws+app-prod@example.com, unit: Workloads }
  play: { email: aws+play@example.com, unit: Sandbox }
";

    fn check(network: &str) -> Vec<String> {
        messages(&format!("{HEAD}network:\n{network}"))
    }

    fn one(network: &str, expected: &str) -> String {
        let found = check(network);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].contains(expected), "{found:#?}");
        found[0].clone()
    }

    const HUB: &str = "  transit_gateways:
    hub: { account: network, region: us-east-1, asn: 64512, share_with: { units: [Workloads] } }
";

    #[test]
    fn a_sound_section_passes() {
        let found = check(&format!(
            "{HUB}  vpcs:
    app-prod-main:
      account: app-prod
      region: us-east-1
      cidr: 10.10.0.0/16
      subnets: {{ private: [10.10.0.0/20, 10.10.16.0/20], public: [10.10.32.0/24] }}
      transit_gateway: hub
    hub-vpc: {{ account: network, region: us-east-1, cidr: 10.0.0.0/16, subnets: {{ private: [10.0.0.0/24] }}, transit_gateway: hub }}
"
        ));
        assert!(found.is_empty(), "{found:#?}");
    }

    #[test]
    fn cidrs_must_be_well_formed_canonical_and_sized() {
        let vpc = |cidr: &str| format!("  vpcs:\n    v: {{ account: app-prod, region: us-east-1, cidr: {cidr} }}\n");
        let found = one(&vpc("10.10.0.0"), "is not an IPv4 CIDR block");
        // The diagnostic points at the value: line 14 (`v:`), column 54 (the CIDR).
        assert!(found.contains("line: 14, column: 54"), "{found}");
        one(&vpc("10.10.1.0/16"), "AWS would store `10.10.0.0/16`");
        one(&vpc("10.0.0.0/8"), "is a /8: AWS allows /16 to /28");
        one(&vpc("10.0.0.0/29"), "is a /29");
    }

    #[test]
    fn a_vpc_uses_a_private_range() {
        one(
            "  vpcs:\n    v: { account: app-prod, region: us-east-1, cidr: 100.64.0.0/16 }\n",
            "not in a private (RFC 1918) range",
        );
    }

    #[test]
    fn subnets_lie_inside_their_vpc_and_apart() {
        one(
            "  vpcs:\n    v: { account: app-prod, region: us-east-1, cidr: 10.10.0.0/16, subnets: { private: [10.11.0.0/20] } }\n",
            "is not inside its VPC's `10.10.0.0/16`",
        );
        one(
            "  vpcs:\n    v: { account: app-prod, region: us-east-1, cidr: 10.10.0.0/16, subnets: { private: [10.10.0.0/20], public: [10.10.8.0/24] } }\n",
            "overlaps subnet `10.10.0.0/20`",
        );
    }

    #[test]
    fn no_more_subnets_of_a_tier_than_the_region_has_zones() {
        let found = one(
            "  vpcs:\n    v: { account: app-prod, region: eu-west-1, cidr: 10.10.0.0/16, subnets: { public: [10.10.0.0/24, 10.10.1.0/24, 10.10.2.0/24, 10.10.3.0/24] } }\n",
            "4 public subnets in eu-west-1",
        );
        assert!(found.contains("at most 3"), "{found}");
        // us-east-1 has six.
        assert!(check("  vpcs:\n    v: { account: app-prod, region: us-east-1, cidr: 10.10.0.0/16, subnets: { public: [10.10.0.0/24, 10.10.1.0/24, 10.10.2.0/24, 10.10.3.0/24] } }\n").is_empty());
        assert_eq!(zone_bound("us-east-1"), 6);
        assert_eq!(zone_bound("ap-south-2"), LEAST_ZONES);
    }

    #[test]
    fn a_gateway_asn_is_private_and_its_region_and_account_exist() {
        one(
            "  transit_gateways:\n    hub: { account: network, region: us-east-1, asn: 65535 }\n",
            "ASN 65535 is not a private ASN",
        );
        one(
            "  transit_gateways:\n    hub: { account: network, region: us-east-1, asn: 4294967295 }\n",
            "not a private ASN",
        );
        assert!(check("  transit_gateways:\n    hub: { account: network, region: us-east-1, asn: 4200000000 }\n")
            .is_empty());
        one(
            "  transit_gateways:\n    hub: { account: network, region: us-west-2 }\n",
            "region `us-west-2` is not one of `organization.regions`",
        );
        one(
            "  transit_gateways:\n    hub: { account: netwrk, region: us-east-1 }\n",
            "account `netwrk` does not exist",
        );
        one("  transit_gateways:\n    hub: { account: network, region: us-east-1, share_with: { units: [Workload] } }\n", "unit `Workload` does not exist");
        assert!(is_private_asn(64512) && is_private_asn(65534) && !is_private_asn(64511));
    }

    #[test]
    fn sharing_needs_the_management_account_and_takes_no_exclusions() {
        one(
            "  transit_gateways:\n    hub: { account: network, region: us-east-1, share_with: { units: [Workloads], exclude: [app-prod] } }\n",
            "`exclude` does not apply to `share_with`",
        );
        let spec = format!("{}network:\n{HUB}", HEAD.replace("  management_account: network\n", ""));
        let found = messages(&spec);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].contains("`organization.management_account` must name it"), "{found:#?}");
        // Without `share_with`, no management account is needed.
        let unshared = "  transit_gateways:\n    hub: { account: network, region: us-east-1 }\n";
        assert!(messages(&format!("{}network:\n{unshared}", HEAD.replace("  management_account: network\n", "")))
            .is_empty());
    }

    #[test]
    fn a_vpc_attaches_to_a_known_gateway_of_its_region_shared_with_its_account() {
        one(&format!("{HUB}  vpcs:\n    v: {{ account: app-prod, region: us-east-1, cidr: 10.10.0.0/16, subnets: {{ private: [10.10.0.0/20] }}, transit_gateway: hb }}\n"), "transit gateway `hb` does not exist");
        let other_region = check(&format!("{HUB}  vpcs:\n    v: {{ account: app-prod, region: eu-west-1, cidr: 10.10.0.0/16, subnets: {{ private: [10.10.0.0/20] }}, transit_gateway: hub }}\n"));
        assert!(
            other_region.iter().any(|message| message.contains("a VPC attaches only to a gateway of its own Region")),
            "{other_region:#?}"
        );
        one(&format!("{HUB}  vpcs:\n    v: {{ account: play, region: us-east-1, cidr: 10.10.0.0/16, subnets: {{ private: [10.10.0.0/20] }}, transit_gateway: hub }}\n"), "account `play` is not within transit gateway `hub`'s `share_with`");
        one(&format!("{HUB}  vpcs:\n    v: {{ account: app-prod, region: us-east-1, cidr: 10.10.0.0/16, transit_gateway: hub }}\n"), "has no private subnets");
    }

    #[test]
    fn vpcs_on_one_gateway_do_not_overlap() {
        one(
            &format!("{HUB}  vpcs:\n    a: {{ account: app-prod, region: us-east-1, cidr: 10.10.0.0/16, subnets: {{ private: [10.10.0.0/20] }}, transit_gateway: hub }}\n    b: {{ account: network, region: us-east-1, cidr: 10.10.0.0/20, subnets: {{ private: [10.10.0.0/24] }}, transit_gateway: hub }}\n"),
            "overlaps VPC `a`'s `10.10.0.0/16`",
        );
        // Apart from a gateway, two VPCs may reuse a block.
        assert!(check("  vpcs:\n    a: { account: app-prod, region: us-east-1, cidr: 10.10.0.0/16 }\n    b: { account: play, region: us-east-1, cidr: 10.10.0.0/16 }\n").is_empty());
    }

    #[test]
    fn the_vpc_account_and_region_exist() {
        one(
            "  vpcs:\n    v: { account: app-prd, region: us-east-1, cidr: 10.10.0.0/16 }\n",
            "account `app-prd` does not exist",
        );
        one("  vpcs:\n    v: { account: app-prod, region: us-east-2, cidr: 10.10.0.0/16 }\n", "region `us-east-2`");
    }
}
