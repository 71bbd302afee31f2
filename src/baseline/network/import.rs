//! `import` of `network:`: the Transit Gateways and VPCs landing-zone made (found by the tags the
//! plan finds them by) in the imported accounts and regions, rebuilt into the spec's shape, and
//! the gateways' AWS RAM shares as `share_with`. Only what the plan of the imported spec leaves as
//! it is gets written: each VPC is read back through the plan's own reader (`vpc::read`) with the
//! attributes its rebuilt entry asks for, and left out, with a note naming it (account, region,
//! VPC id), when the two differ. A VPC without landing-zone's tags is never adopted by the plan,
//! so it is never written (a note names it). Reads only.

use std::collections::BTreeMap;

use anyhow::Result;
use aws_sdk_ec2::types::Subnet;
use aws_sdk_ram::types::ResourceShareAssociationType;

use super::super::attributes::encode;
use super::super::import::{per_account, ImportScope, ImportedTopLevel, OwnSection};
use super::super::vpcs::{ec2_client, vpcs};
use super::super::Context;
use super::cidr::Ipv4Cidr;
use super::sharing::{associated, find_share, ram_client, share_key, unit_arns, RAM_SERVICE};
use super::transit_gateway::{all as all_gateways, asn_of, GATEWAY_TAG};
use super::validate::{covers, is_private_asn, zone_bound, LARGEST_PREFIX, SMALLEST_PREFIX};
use super::vpc::{attached_gateways, owned, subnets, tag_value, TIER_TAG, VPC_TAG};
use crate::plan::control::ControlKey;
use crate::spec::model::{NetworkSpec, SubnetTier, SubnetsSpec, TransitGatewaySpec, VpcSpec};
use crate::spec::Targets;

/// A Transit Gateway landing-zone made, as import finds it.
#[derive(Debug, Clone)]
struct FoundGateway {
    /// Its [`GATEWAY_TAG`] value: its spec name.
    name: String,
    id: String,
    arn: Option<String>,
    /// The account's spec name.
    account: String,
    region: String,
    asn: u64,
}

/// A VPC landing-zone made, as import finds it.
#[derive(Debug, Clone)]
struct FoundVpc {
    /// Its [`VPC_TAG`] value: its spec name.
    name: String,
    id: String,
    /// The account's spec name.
    account: String,
    region: String,
    cidr: String,
    /// Its tier-tagged subnets landing-zone made, each tier by zone then block.
    subnets: SubnetsSpec,
    /// The gateways it is attached to.
    gateway_ids: Vec<String>,
}

/// What one account has, in every region of the imported spec.
#[derive(Debug, Default)]
struct InAccount {
    gateways: Vec<FoundGateway>,
    vpcs: Vec<FoundVpc>,
    notes: Vec<String>,
}

/// The gateways and VPCs landing-zone made in `account`, region by region; the other VPCs
/// (default ones aside: `baseline.default_vpcs` is theirs) named in notes.
async fn read_account(context: &Context<'_>, scope: &ImportScope, account: String) -> Result<Option<InAccount>> {
    let mut found = InAccount::default();
    for region in &scope.regions {
        let ec2 = ec2_client(context, &ControlKey::new(super::vpc::PREFIX, &account, Some(region))).await?;
        for gateway in all_gateways(&ec2).await? {
            let (Some(name), Some(id)) = (tag_value(gateway.tags(), GATEWAY_TAG), gateway.transit_gateway_id()) else {
                continue;
            };
            found.gateways.push(FoundGateway {
                name: name.to_string(),
                id: id.to_string(),
                arn: gateway.transit_gateway_arn().map(str::to_string),
                account: account.clone(),
                region: region.clone(),
                asn: asn_of(&gateway),
            });
        }
        for vpc in vpcs(&ec2, false).await? {
            let Some(id) = vpc.vpc_id().map(str::to_string) else { continue };
            // `isDefault` (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Vpc.html):
            // the default VPC is `baseline.default_vpcs`'s, never one of `network.vpcs`.
            if vpc.is_default() == Some(true) {
                continue;
            }
            let name = if owned(vpc.tags()) { tag_value(vpc.tags(), VPC_TAG) } else { None };
            let Some(name) = name else {
                found.notes.push(format!(
                    "VPC {id} in account `{account}` ({region}) is not tagged as landing-zone's (`landing-zone:managed-by` and `{VPC_TAG}`): left out of `network.vpcs`, which adopts only the VPCs landing-zone made"
                ));
                continue;
            };
            let mut tiers = SubnetsSpec::default();
            let mut made: Vec<Subnet> = subnets(&ec2, &id).await?.into_iter().filter(|s| owned(s.tags())).collect();
            // As the plan's reader orders a tier's subnets: by zone, then block.
            made.sort_by_key(|subnet| {
                (subnet.availability_zone().map(str::to_string), subnet.cidr_block().map(str::to_string))
            });
            for subnet in &made {
                let tier = tag_value(subnet.tags(), TIER_TAG).and_then(SubnetTier::from_tag);
                let (Some(tier), Some(cidr)) = (tier, subnet.cidr_block()) else { continue };
                match tier {
                    SubnetTier::Private => tiers.private.push(cidr.to_string()),
                    SubnetTier::Public => tiers.public.push(cidr.to_string()),
                }
            }
            found.vpcs.push(FoundVpc {
                name: name.to_string(),
                gateway_ids: attached_gateways(&ec2, &id).await?,
                id,
                account: account.clone(),
                region: region.clone(),
                cidr: vpc.cidr_block().unwrap_or_default().to_string(),
                subnets: tiers,
            });
        }
    }
    Ok(Some(found))
}

/// The `network:` section with its notes; the section None when landing-zone made no gateway
/// and no VPC the spec can write.
pub async fn import(context: &Context<'_>, scope: &ImportScope) -> Result<Option<OwnSection>> {
    let found = per_account(scope, |account| read_account(context, scope, account)).await?;
    let mut notes = Vec::new();
    let mut gateways = Vec::new();
    let mut found_vpcs = Vec::new();
    // Accounts by name, regions in the spec's order, resources by id: the first of two with one
    // name is the one written.
    for (_, in_account) in found {
        notes.extend(in_account.notes);
        gateways.extend(in_account.gateways);
        found_vpcs.extend(in_account.vpcs);
    }
    let mut network = NetworkSpec::default();
    let gateway_names = transit_gateways(&mut network, gateways, &mut notes);
    shares(context, scope, &mut network, &gateway_names, &mut notes).await?;
    vpcs_of(context, scope, &mut network, found_vpcs, &gateway_names, &mut notes).await?;
    if network.transit_gateways.is_empty() && network.vpcs.is_empty() {
        return Ok(Some(OwnSection { found: None, notes }));
    }
    let section =
        ImportedTopLevel { key: "network", section: serde_json::to_value(&network)?, documents: BTreeMap::new() };
    Ok(Some(OwnSection { found: Some(section), notes }))
}

/// The gateways as `network.transit_gateways` (without `share_with` yet); returns id -> the
/// gateway as found, for those written.
fn transit_gateways(
    network: &mut NetworkSpec,
    gateways: Vec<FoundGateway>,
    notes: &mut Vec<String>,
) -> BTreeMap<String, FoundGateway> {
    let mut written = BTreeMap::new();
    for gateway in gateways {
        let place = format!(
            "transit gateway {} (`{}`) in account `{}` ({})",
            gateway.id, gateway.name, gateway.account, gateway.region
        );
        if let Some(other) = network.transit_gateways.get(&gateway.name) {
            notes.push(format!(
                "{place} is left out: `network.transit_gateways.{}` is the one in account `{}` ({})",
                gateway.name, other.account, other.region
            ));
            continue;
        }
        // The spec accepts only AWS's private ASNs (`validate`).
        if !is_private_asn(gateway.asn) {
            notes.push(format!("{place} is left out: its ASN {} is not a private ASN", gateway.asn));
            continue;
        }
        network.transit_gateways.insert(
            gateway.name.clone(),
            TransitGatewaySpec {
                account: gateway.account.clone(),
                region: gateway.region.clone(),
                asn: gateway.asn,
                share_with: Targets::default(),
            },
        );
        written.insert(gateway.id.clone(), gateway);
    }
    written
}

/// Each written gateway's share landing-zone made (found by its tags, as the plan finds it), as
/// its `share_with`: OUs by their path (`Root`: the organization), accounts by their spec name.
/// A share the spec cannot write as it is (one without the gateway, a principal outside the
/// imported organization, sharing with the organization off) leaves `share_with` empty, so the
/// plan has no share control and leaves the share as it is; a note says why.
async fn shares(
    context: &Context<'_>,
    scope: &ImportScope,
    network: &mut NetworkSpec,
    found: &BTreeMap<String, FoundGateway>,
    notes: &mut Vec<String>,
) -> Result<()> {
    let mut units_by_arn: Option<BTreeMap<String, String>> = None;
    for gateway in found.values() {
        let Some(spec) = network.transit_gateways.get_mut(&gateway.name) else { continue };
        let ram = ram_client(context, &share_key(&gateway.name, spec)).await?;
        let Some(share) = find_share(&ram, &gateway.name).await? else { continue };
        let place = format!("resource share {share} of transit gateway `{}`", gateway.name);
        let resources = associated(&ram, &share, ResourceShareAssociationType::Resource).await?;
        if !gateway.arn.as_ref().is_some_and(|arn| resources.contains(arn)) {
            notes.push(format!("{place} does not hold the gateway: `share_with` left out"));
            continue;
        }
        // The plan's `network/ram_sharing` control, in the management account, wants sharing
        // with the organization on (read as RAM's trusted access, `sharing::read_sharing`).
        if scope.management.is_none() || !scope.trusted_services.contains(RAM_SERVICE) {
            notes.push(format!(
                "{place}: resource sharing with the organization is off (no trusted access for `{RAM_SERVICE}`), which `share_with` turns on: `share_with` left out"
            ));
            continue;
        }
        let principals = associated(&ram, &share, ResourceShareAssociationType::Principal).await?;
        if principals.is_empty() {
            continue;
        }
        // The organization's units, read once, and only when a share is found.
        if units_by_arn.is_none() {
            units_by_arn = Some(unit_arns(context).await?.into_iter().map(|(path, arn)| (arn, path)).collect());
        }
        let Some(units) = &units_by_arn else { continue };
        // A principal is an account id, the organization's or an OU's ARN, or an IAM role's or
        // user's ARN (`associatedEntity`,
        // https://docs.aws.amazon.com/ram/latest/APIReference/API_ResourceShareAssociation.html);
        // `share_with` names only the first three.
        let mut share_with = Targets::default();
        let mut unknown = Vec::new();
        for principal in principals {
            match (units.get(&principal), scope.name_of(&principal)) {
                (Some(path), _) => share_with.units.push(path.clone()),
                (None, Some(account)) => share_with.accounts.push(account.to_string()),
                (None, None) => unknown.push(principal),
            }
        }
        if !unknown.is_empty() {
            notes.push(format!(
                "{place} is shared with {}, which the spec cannot name (not an OU or an imported account): `share_with` left out",
                unknown.join(", ")
            ));
            continue;
        }
        spec.share_with = share_with;
    }
    Ok(())
}

/// Why the spec's offline rules (`validate`) would refuse the VPC as found; None: they accept it.
fn refused(vpc: &FoundVpc) -> Option<String> {
    let sized = |text: &str| {
        Ipv4Cidr::parse(text).ok().filter(|block| (LARGEST_PREFIX..=SMALLEST_PREFIX).contains(&block.prefix()))
    };
    let Some(block) = sized(&vpc.cidr).filter(|block| block.is_private()) else {
        return Some(format!("its block {} is not a private /16-/28 block", vpc.cidr));
    };
    let mut seen: Vec<Ipv4Cidr> = Vec::new();
    for (tier, cidrs) in vpc.subnets.tiers() {
        if cidrs.len() > zone_bound(&vpc.region) {
            return Some(format!(
                "it has {} {} subnets, more than the spec lists in {}",
                cidrs.len(),
                tier.as_str(),
                vpc.region
            ));
        }
        for text in cidrs {
            let Some(subnet) = sized(text).filter(|subnet| block.contains(*subnet)) else {
                return Some(format!("its subnet {text} is not a /16-/28 block inside {block}"));
            };
            if seen.iter().any(|other| other.overlaps(subnet)) {
                return Some(format!("its subnet {text} overlaps another"));
            }
            seen.push(subnet);
        }
    }
    None
}

/// The VPCs as `network.vpcs`: each one whose rebuilt entry the plan's reader finds exactly as
/// wanted; the others named in notes ([`LEFT_OUT_VPC`]).
async fn vpcs_of(
    context: &Context<'_>,
    scope: &ImportScope,
    network: &mut NetworkSpec,
    found: Vec<FoundVpc>,
    gateways: &BTreeMap<String, FoundGateway>,
    notes: &mut Vec<String>,
) -> Result<()> {
    // What is left out, each noted with what the plan of the imported spec then says of it.
    let mut left = Vec::new();
    // Blocks of the VPCs written on each gateway: the spec refuses two that overlap.
    let mut on_gateway: BTreeMap<String, Vec<(String, Ipv4Cidr)>> = BTreeMap::new();
    for vpc in found {
        let place = format!("VPC {} (`{}`) in account `{}` ({})", vpc.id, vpc.name, vpc.account, vpc.region);
        if let Some(other) = network.vpcs.get(&vpc.name) {
            if other.account == vpc.account && other.region == vpc.region {
                // The plan finds the VPC of a name by its tags, the first by id (`vpc::read`): this
                // one it never sees, so it never changes it.
                notes.push(format!(
                    "{place} is left out: it carries the name of `network.vpcs.{}`, another VPC of its account and Region, which is the one the plan manages",
                    vpc.name
                ));
                continue;
            }
            left.push(format!(
                "{place} is left out: `network.vpcs.{}` is the one in account `{}` ({})",
                vpc.name, other.account, other.region
            ));
            continue;
        }
        if let Some(why) = refused(&vpc) {
            left.push(format!("{place} is left out: {why}"));
            continue;
        }
        let gateway = match vpc.gateway_ids.as_slice() {
            [] => None,
            [id] => match gateways.get(id) {
                Some(gateway) => Some(gateway.name.clone()),
                None => {
                    left.push(format!(
                        "{place} is left out: it is attached to transit gateway {id}, which is not one `network.transit_gateways` names"
                    ));
                    continue;
                }
            },
            many => {
                left.push(format!(
                    "{place} is left out: it is attached to {} transit gateways ({}), the spec to one",
                    many.len(),
                    many.join(", ")
                ));
                continue;
            }
        };
        let spec = VpcSpec {
            account: vpc.account.clone(),
            region: vpc.region.clone(),
            cidr: vpc.cidr.clone(),
            subnets: vpc.subnets.clone(),
            transit_gateway: gateway.clone(),
        };
        // As `vpc::attached_gateway` decides for the spec: a gateway of the VPC's Region, in its
        // account or shared with it.
        let unit = scope.account_units.get(&vpc.account).map_or(crate::spec::ROOT, String::as_str);
        let attached =
            gateway.as_deref().and_then(|name| network.transit_gateways.get_key_value(name)).filter(|(_, gateway)| {
                gateway.region == vpc.region
                    && (gateway.account == vpc.account || covers(&gateway.share_with, &vpc.account, unit))
            });
        if let Some(name) = gateway.as_deref().filter(|_| attached.is_none()) {
            left.push(format!(
                "{place} is left out: it is attached to transit gateway `{name}`, which the spec does not share with its account"
            ));
            continue;
        }
        if attached.is_some() && vpc.subnets.private.is_empty() {
            left.push(format!("{place} is left out: it is attached to a transit gateway without private subnets"));
            continue;
        }
        let block = Ipv4Cidr::parse(&vpc.cidr).ok();
        if let (Some(name), Some(block)) = (&gateway, block) {
            let others = on_gateway.get(name).map(Vec::as_slice).unwrap_or_default();
            if let Some((other, _)) = others.iter().find(|(_, other)| other.overlaps(block)) {
                left.push(format!(
                    "{place} is left out: its block overlaps VPC `{other}`'s, and both attach to transit gateway `{name}`"
                ));
                continue;
            }
        }
        let (name, attached) = (vpc.name.as_str(), attached.map(|(name, gateway)| (name.as_str(), gateway)));
        let wanted = encode(&super::vpc::wanted(name, &spec, attached));
        let live = super::vpc::read(context, &super::vpc::key(name, &spec), &wanted).await?;
        if live.as_ref() != Some(&wanted) {
            left.push(format!(
                "{place} is left out: it is not as `network.vpcs` builds one (one subnet of a tier per Availability Zone in zone order, each tier's route table holding exactly its subnets, a public tier routed to its internet gateway, a private one to its transit gateway or nowhere), so the plan would change it"
            ));
            continue;
        }
        if let (Some(gateway), Some(block)) = (gateway, block) {
            on_gateway.entry(gateway).or_default().push((vpc.name.clone(), block));
        }
        network.vpcs.insert(vpc.name.clone(), spec);
    }
    notes.extend(left.into_iter().map(|note| format!("{note}; {LEFT_OUT_VPC}")));
    Ok(())
}

/// What the plan of the imported spec says of a VPC landing-zone made that import left out: the
/// spec does not list it, so its removal is planned (`vpc::find`), blocked without the opt-ins.
const LEFT_OUT_VPC: &str = "landing-zone made it, so the plan of the imported spec lists its removal, blocked unless `organization.allow.delete_baseline_data` is set and `--allow-destructive` given: write it under `network.vpcs` as it should be to have it repaired instead";

#[cfg(test)]
mod tests {
    use super::*;

    fn vpc(cidr: &str, private: &[&str], public: &[&str]) -> FoundVpc {
        FoundVpc {
            name: "main".to_string(),
            id: "vpc-1".to_string(),
            account: "app".to_string(),
            region: "eu-west-1".to_string(),
            cidr: cidr.to_string(),
            subnets: SubnetsSpec {
                private: private.iter().map(|cidr| cidr.to_string()).collect(),
                public: public.iter().map(|cidr| cidr.to_string()).collect(),
            },
            gateway_ids: Vec::new(),
        }
    }

    /// What `validate` would refuse is never written: the imported spec validates.
    #[test]
    fn a_vpc_the_spec_rules_refuse_is_not_written() {
        assert_eq!(refused(&vpc("10.0.0.0/16", &["10.0.0.0/20", "10.0.16.0/20"], &["10.0.32.0/24"])), None);
        let refusal = |found: FoundVpc| refused(&found).unwrap_or_default();
        assert!(refusal(vpc("8.8.0.0/16", &[], &[])).contains("not a private /16-/28 block"));
        assert!(refusal(vpc("10.0.0.0/8", &[], &[])).contains("not a private /16-/28 block"));
        assert!(refusal(vpc("10.0.0.0/16", &["10.1.0.0/20"], &[])).contains("not a /16-/28 block inside 10.0.0.0/16"));
        assert!(refusal(vpc("10.0.0.0/16", &["10.0.0.0/20"], &["10.0.8.0/24"])).contains("overlaps another"));
        let four = ["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"];
        assert!(refusal(vpc("10.0.0.0/16", &four, &[]))
            .contains("4 private subnets, more than the spec lists in eu-west-1"));
    }

    fn gateway(name: &str, id: &str, account: &str, asn: u64) -> FoundGateway {
        FoundGateway {
            name: name.to_string(),
            id: id.to_string(),
            arn: None,
            account: account.to_string(),
            region: "us-east-1".to_string(),
            asn,
        }
    }

    /// Two gateways tagged with one name: the first (by account, then id) is written, the other
    /// named in a note; one with a public ASN is left out.
    #[test]
    fn one_gateway_per_name_with_a_private_asn() {
        let mut network = NetworkSpec::default();
        let mut notes = Vec::new();
        let found = vec![
            gateway("hub", "tgw-1", "network", 64512),
            gateway("hub", "tgw-2", "other", 64513),
            gateway("edge", "tgw-3", "network", 100),
        ];
        let written = transit_gateways(&mut network, found, &mut notes);
        assert_eq!(written.keys().collect::<Vec<_>>(), ["tgw-1"]);
        assert_eq!(network.transit_gateways["hub"].account, "network");
        assert_eq!(network.transit_gateways.len(), 1);
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].contains("transit gateway tgw-2 (`hub`) in account `other` (us-east-1) is left out"));
        assert!(notes[1].contains("its ASN 100 is not a private ASN"), "{notes:?}");
    }
}
