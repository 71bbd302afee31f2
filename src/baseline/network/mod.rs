//! The top-level `network:` section: the VPCs landing-zone builds (`network.vpcs`, [`vpc`]) and
//! the Transit Gateways they attach to (`network.transit_gateways`, [`transit_gateway`]), shared
//! through AWS RAM ([`sharing`]). One family, `network`, whose controls are named
//! `network/vpc/<name>`, `network/transit_gateway/<name>`, `network/transit_gateway_share/<name>`
//! and `network/ram_sharing`.
//!
//! Its offline rules are in [`validate`], the CIDR arithmetic they use in [`cidr`]; `import` writes
//! the section from what landing-zone made ([`import`]).

pub mod cidr;
pub mod import;
pub mod sharing;
pub mod transit_gateway;
pub mod validate;
pub mod vpc;

use std::collections::BTreeSet;

use anyhow::{bail, Result};
use serde_json::Value;

use super::{Actions, Baseline, BoxFuture, Context, Found, Ownership, Permissions, Places};
use crate::plan::control::{ControlKey, DesiredControl, Inputs};
use crate::spec::validate::Checker;

pub const FAMILY: &str = "network";

/// The `network:` section in the registry.
pub struct Network;

impl Baseline for Network {
    fn family(&self) -> &'static str {
        FAMILY
    }

    fn section(&self) -> &'static str {
        "network"
    }

    fn summary(&self) -> &'static str {
        "VPCs with their subnets, route tables and internet gateway, and Transit Gateways, tagged as landing-zone's (top-level `network:`)"
    }

    fn validate(&self, checker: &mut Checker<'_>) {
        validate::check(checker);
    }

    fn desired(&self, inputs: &Inputs<'_>) -> Vec<DesiredControl> {
        let mut controls = transit_gateway::desired(inputs);
        controls.extend(sharing::desired(inputs));
        controls.extend(vpc::desired(inputs));
        controls
    }

    fn audited_by_reader(&self) -> bool {
        true
    }

    fn permissions(&self) -> Permissions {
        // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html;
        // resources created with tags need ec2:CreateTags on them as well.
        Permissions {
            // https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsresourceaccessmanagerram.html
            // (EnableSharingWithAwsOrganization also needs iam:CreateServiceLinkedRole and
            // organizations:EnableAWSServiceAccess: https://docs.aws.amazon.com/ram/latest/APIReference/API_EnableSharingWithAwsOrganization.html).
            management: Actions {
                read: &[
                    "organizations:ListAWSServiceAccessForOrganization",
                    "organizations:DescribeOrganization",
                    "organizations:ListRoots",
                    "organizations:ListOrganizationalUnitsForParent",
                ],
                write: &[
                    "ram:EnableSharingWithAwsOrganization",
                    "iam:CreateServiceLinkedRole",
                    "organizations:EnableAWSServiceAccess",
                ],
            },
            in_account: Actions {
                read: &[
                    "ec2:DescribeVpcs",
                    "ec2:DescribeAvailabilityZones",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeRouteTables",
                    "ec2:DescribeInternetGateways",
                    "ec2:DescribeTransitGateways",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeTransitGatewayVpcAttachments",
                    "ram:GetResourceShares",
                    "ram:GetResourceShareAssociations",
                ],
                write: &[
                    "ec2:CreateVpc",
                    "ec2:CreateSubnet",
                    "ec2:DeleteSubnet",
                    "ec2:CreateRouteTable",
                    "ec2:AssociateRouteTable",
                    "ec2:ReplaceRouteTableAssociation",
                    "ec2:DisassociateRouteTable",
                    "ec2:CreateInternetGateway",
                    "ec2:AttachInternetGateway",
                    "ec2:CreateRoute",
                    "ec2:ReplaceRoute",
                    "ec2:DeleteRoute",
                    "ec2:CreateTransitGateway",
                    "ec2:ModifyTransitGateway",
                    "ec2:CreateTags",
                    "ec2:DetachInternetGateway",
                    "ec2:DeleteInternetGateway",
                    "ec2:DeleteRouteTable",
                    "ec2:DeleteVpc",
                    "ec2:CreateTransitGatewayVpcAttachment",
                    "ec2:AcceptTransitGatewayVpcAttachment",
                    "ram:CreateResourceShare",
                    "ram:TagResource",
                    "ram:AssociateResourceShare",
                    "ram:DisassociateResourceShare",
                ],
            },
        }
    }

    fn ownership(&self) -> Option<Ownership> {
        // VPCs it made and the spec no longer lists (`vpc::find`); Transit Gateways are left.
        Some(Ownership { places: Places::Regions })
    }

    fn import_top_level<'a>(
        &'a self,
        context: &'a Context<'_>,
        scope: &'a super::import::ImportScope,
    ) -> BoxFuture<'a, Result<Option<super::import::OwnSection>>> {
        Box::pin(import::import(context, scope))
    }

    fn find<'a>(
        &'a self,
        context: &'a Context<'_>,
        account: &'a str,
        region: Option<&'a str>,
        wanted: &'a BTreeSet<ControlKey>,
    ) -> BoxFuture<'a, Result<Vec<Found>>> {
        Box::pin(vpc::find(context, account, region, wanted))
    }

    fn remove<'a>(
        &'a self,
        context: &'a Context<'_>,
        key: &'a ControlKey,
        _before: &'a Value,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            if key.control.starts_with(vpc::PREFIX) {
                return vpc::remove(context, key).await;
            }
            bail!("{}: landing-zone does not remove this `network` resource", key.label())
        })
    }

    fn read<'a>(
        &'a self,
        context: &'a Context<'_>,
        key: &'a ControlKey,
        desired: &'a Value,
    ) -> BoxFuture<'a, Result<Option<Value>>> {
        Box::pin(async move {
            if key.control.starts_with(vpc::PREFIX) {
                return vpc::read(context, key, desired).await;
            }
            if key.control.starts_with(transit_gateway::PREFIX) {
                return transit_gateway::read(context, key, desired).await;
            }
            if key.control.starts_with(sharing::SHARE_PREFIX) {
                return sharing::read_share(context, key, desired).await;
            }
            if key.control == sharing::SHARING_CONTROL {
                return sharing::read_sharing(context).await;
            }
            bail!("{}: not a control of `network`", key.label())
        })
    }

    fn apply<'a>(
        &'a self,
        context: &'a Context<'_>,
        key: &'a ControlKey,
        attributes: &'a Value,
        _before: Option<&'a Value>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            if key.control.starts_with(vpc::PREFIX) {
                return vpc::apply(context, key, attributes).await;
            }
            if key.control.starts_with(transit_gateway::PREFIX) {
                return transit_gateway::apply(context, key, attributes).await;
            }
            if key.control.starts_with(sharing::SHARE_PREFIX) {
                return sharing::apply_share(context, key, attributes).await;
            }
            if key.control == sharing::SHARING_CONTROL {
                return sharing::apply_sharing(context, key, attributes).await;
            }
            bail!("{}: not a control of `network`", key.label())
        })
    }
}
