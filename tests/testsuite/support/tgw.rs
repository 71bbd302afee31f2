//! A VPC of one account attached to a Transit Gateway another account shares with it through AWS
//! RAM. moto 5.2.5 looks the gateway up in the caller's own account, so it refuses such an
//! attachment, and its route code knows no such gateway. The layer serves, from its own state per
//! account and Region (forgotten with moto's on `POST /moto-api/reset`), what moto lacks for a
//! gateway shared with the caller by another account (the RAM layer's shares, `ram.rs`); a
//! gateway of the caller's own account is left to moto:
//!
//! - CreateTransitGatewayVpcAttachment: the gateway must be shared with the caller (moto's own
//!   answer, InvalidTransitGatewayID.NotFound, otherwise); the VPC must be the caller's
//!   (`InvalidVpcID.NotFound`).
//!   The attachment is `pendingAcceptance` unless the gateway's `AutoAcceptSharedAttachments`
//!   ("Enable or disable automatic acceptance of attachment requests. Disabled by default.") is
//!   `enable` (read from moto in the owner's account), then `available`
//!   (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateTransitGatewayVpcAttachment.html,
//!   https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_TransitGatewayRequestOptions.html).
//! - DescribeTransitGatewayVpcAttachments / DescribeTransitGatewayAttachments: the attachment is
//!   listed in both accounts (the VPC's and the gateway's), with moto's own, filtered by
//!   `TransitGatewayAttachmentIds` and the filters landing-zone uses (`transit-gateway-id`,
//!   `vpc-id` / `resource-id`, `state`, `transit-gateway-attachment-id`, `resource-type`).
//!   https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeTransitGatewayVpcAttachments.html
//!   https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeTransitGatewayAttachments.html
//! - AcceptTransitGatewayVpcAttachment: by the gateway's owner, of an attachment in
//!   `pendingAcceptance` ("The VPC attachment must be in the `pendingAcceptance` state":
//!   `IncorrectState` otherwise), which becomes `available`; another caller
//!   does not find it (`InvalidTransitGatewayAttachmentID.NotFound`).
//!   https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_AcceptTransitGatewayVpcAttachment.html
//! - CreateRoute / DeleteRoute with such a gateway as target, by the VPC's account once it has an
//!   attachment to it (`RouteAlreadyExists` for a destination the layer holds; DeleteRoute of a
//!   route it does not hold is moto's), and the route in DescribeRouteTables (merged into moto's answer, `origin`
//!   `CreateRoute`, `state` `active`).
//!   https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateRoute.html
//!   https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteRoute.html
//!   https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeRouteTables.html
//!   https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Route.html
//!
//! Error codes: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html

use super::proxy::{error_response, forward, Protocol, Request, Response};

#[derive(Debug, Clone)]
struct Attachment {
    id: String,
    gateway_id: String,
    gateway_owner: String,
    vpc_id: String,
    vpc_owner: String,
    region: String,
    subnet_ids: Vec<String>,
    state: &'static str,
    tags: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
struct Route {
    account: String,
    region: String,
    table_id: String,
    destination: String,
    gateway_id: String,
}

#[derive(Default)]
pub struct TgwState {
    attachments: Vec<Attachment>,
    routes: Vec<Route>,
    made: u64,
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The query-protocol (form) parameters of a request.
fn form(request: &Request) -> Vec<(String, String)> {
    String::from_utf8_lossy(&request.body)
        .split('&')
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            Some((super::strict::percent_decode(key), super::strict::percent_decode(value)))
        })
        .collect()
}

fn parameter<'f>(form: &'f [(String, String)], name: &str) -> Option<&'f str> {
    form.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
}

/// `<prefix>.1`, `<prefix>.2`, … of the request.
fn list(form: &[(String, String)], prefix: &str) -> Vec<String> {
    (1..).map_while(|index| parameter(form, &format!("{prefix}.{index}")).map(str::to_string)).collect()
}

/// `Filter.N.Name` -> its `Filter.N.Value.M`.
fn filters(form: &[(String, String)]) -> Vec<(String, Vec<String>)> {
    (1..)
        .map_while(|index| {
            let name = parameter(form, &format!("Filter.{index}.Name"))?;
            Some((name.to_string(), list(form, &format!("Filter.{index}.Value"))))
        })
        .collect()
}

fn tags(form: &[(String, String)]) -> Vec<(String, String)> {
    (1..)
        .map_while(|index| {
            let key = parameter(form, &format!("TagSpecification.1.Tag.{index}.Key"))?;
            let value = parameter(form, &format!("TagSpecification.1.Tag.{index}.Value")).unwrap_or_default();
            Some((key.to_string(), value.to_string()))
        })
        .collect()
}

fn xml(action: &str, inner: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{action}Response xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>strict-layer</requestId>{inner}</{action}Response>"
    );
    Response {
        status: 200,
        headers: vec![("content-type".to_string(), "text/xml".to_string())],
        body: body.into_bytes(),
    }
}

fn error(code: &str, message: &str) -> Response {
    error_response(Protocol::Ec2, 400, code, message)
}

const CREATED: &str = "2026-12-01T00:00:00.000Z";

fn tag_set(tags: &[(String, String)]) -> String {
    let items: String =
        tags.iter().map(|(key, value)| format!("<item><key>{key}</key><value>{value}</value></item>")).collect();
    format!("<tagSet>{items}</tagSet>")
}

fn vpc_attachment_xml(attachment: &Attachment) -> String {
    let subnets: String = attachment.subnet_ids.iter().map(|id| format!("<item>{id}</item>")).collect();
    format!(
        "<transitGatewayAttachmentId>{}</transitGatewayAttachmentId><transitGatewayId>{}</transitGatewayId><vpcId>{}</vpcId><vpcOwnerId>{}</vpcOwnerId><state>{}</state><subnetIds>{subnets}</subnetIds><creationTime>{CREATED}</creationTime><options><dnsSupport>enable</dnsSupport><ipv6Support>disable</ipv6Support><applianceModeSupport>disable</applianceModeSupport></options>{}",
        attachment.id,
        attachment.gateway_id,
        attachment.vpc_id,
        attachment.vpc_owner,
        attachment.state,
        tag_set(&attachment.tags)
    )
}

fn attachment_xml(attachment: &Attachment) -> String {
    format!(
        "<transitGatewayAttachmentId>{}</transitGatewayAttachmentId><transitGatewayId>{}</transitGatewayId><transitGatewayOwnerId>{}</transitGatewayOwnerId><resourceOwnerId>{}</resourceOwnerId><resourceType>vpc</resourceType><resourceId>{}</resourceId><state>{}</state><creationTime>{CREATED}</creationTime>{}",
        attachment.id,
        attachment.gateway_id,
        attachment.gateway_owner,
        attachment.vpc_owner,
        attachment.vpc_id,
        attachment.state,
        tag_set(&attachment.tags)
    )
}

/// Puts `items` into the list element `set` of moto's XML answer.
fn merge(body: &str, set: &str, items: &str) -> String {
    let open = format!("<{set}>");
    if let Some(at) = body.find(&open) {
        return format!("{}{items}{}", &body[..at + open.len()], &body[at + open.len()..]);
    }
    let empty = format!("<{set}/>");
    if body.contains(&empty) {
        return body.replacen(&empty, &format!("<{set}>{items}</{set}>"), 1);
    }
    match body.rfind("</") {
        Some(at) => format!("{}<{set}>{items}</{set}>{}", &body[..at], &body[at..]),
        None => body.to_string(),
    }
}

/// An EC2 request of the layer's own to moto, as `account` in `region`.
async fn ec2_as(upstream_port: u16, account: &str, region: &str, body: String) -> Option<String> {
    let request = Request {
        method: "POST".to_string(),
        target: "/".to_string(),
        headers: vec![
            ("host".to_string(), format!("127.0.0.1:{upstream_port}")),
            ("content-type".to_string(), "application/x-www-form-urlencoded".to_string()),
            (
                "authorization".to_string(),
                format!("AWS4-HMAC-SHA256 Credential=testing/20260101/{region}/ec2/aws4_request, SignedHeaders=host, Signature=00"),
            ),
            ("x-moto-account-id".to_string(), account.to_string()),
        ],
        body: body.into_bytes(),
    };
    let response = forward(upstream_port, &request).await.ok()?;
    Some(String::from_utf8_lossy(&response.body).into_owned())
}

fn matches(filters: &[(String, Vec<String>)], attachment: &Attachment, vpc_names: bool) -> bool {
    filters.iter().all(|(name, values)| {
        let value = match name.as_str() {
            "transit-gateway-id" => attachment.gateway_id.as_str(),
            "transit-gateway-attachment-id" => attachment.id.as_str(),
            "state" => attachment.state,
            "vpc-id" if vpc_names => attachment.vpc_id.as_str(),
            "resource-id" if !vpc_names => attachment.vpc_id.as_str(),
            "resource-type" if !vpc_names => "vpc",
            "transit-gateway-owner-id" if !vpc_names => attachment.gateway_owner.as_str(),
            "resource-owner-id" if !vpc_names => attachment.vpc_owner.as_str(),
            // A filter the layer does not know matches none of its attachments.
            _ => return false,
        };
        values.iter().any(|wanted| wanted == value)
    })
}

/// Serves an EC2 request of `caller` in `region` that moto cannot answer for a shared gateway;
/// None lets it through to moto. `shared_owner`: for CreateTransitGatewayVpcAttachment, the
/// account that shares its gateway with the caller through RAM, if any (never the caller itself).
pub async fn before(
    state: &std::sync::Mutex<TgwState>,
    upstream_port: u16,
    caller: &str,
    region: &str,
    request: &Request,
    shared_owner: Option<String>,
) -> Option<Response> {
    let form = form(request);
    let action = parameter(&form, "Action")?.to_string();
    match action.as_str() {
        "CreateTransitGatewayVpcAttachment" => {
            let gateway_id = parameter(&form, "TransitGatewayId")?.to_string();
            let owner = shared_owner?;
            let vpc_id = parameter(&form, "VpcId").unwrap_or_default().to_string();
            // The gateway, from its owner's account: there, and whether it auto-accepts.
            let described = ec2_as(
                upstream_port,
                &owner,
                region,
                format!("Action=DescribeTransitGateways&Version=2016-11-15&TransitGatewayIds.1={gateway_id}"),
            )
            .await?;
            if !described.contains(&format!("<transitGatewayId>{gateway_id}</transitGatewayId>")) {
                return Some(error(
                    "InvalidTransitGatewayID.NotFound",
                    &format!("Transit Gateway {gateway_id} was deleted or does not exist."),
                ));
            }
            let vpcs = ec2_as(
                upstream_port,
                caller,
                region,
                format!("Action=DescribeVpcs&Version=2016-11-15&Filter.1.Name=vpc-id&Filter.1.Value.1={vpc_id}"),
            )
            .await?;
            if vpc_id.is_empty() || !vpcs.contains(&format!("<vpcId>{vpc_id}</vpcId>")) {
                return Some(error("InvalidVpcID.NotFound", &format!("The vpc ID '{vpc_id}' does not exist")));
            }
            let auto_accept = described.contains("<autoAcceptSharedAttachments>enable</autoAcceptSharedAttachments>");
            let mut state = lock(state);
            state.made += 1;
            let attachment = Attachment {
                id: format!("tgw-attach-5a{:015x}", state.made),
                gateway_id,
                gateway_owner: owner,
                vpc_id,
                vpc_owner: caller.to_string(),
                region: region.to_string(),
                subnet_ids: list(&form, "SubnetIds"),
                state: if auto_accept { "available" } else { "pendingAcceptance" },
                tags: tags(&form),
            };
            let shown = vpc_attachment_xml(&attachment);
            state.attachments.push(attachment);
            Some(xml(&action, &format!("<transitGatewayVpcAttachment>{shown}</transitGatewayVpcAttachment>")))
        }
        "DescribeTransitGatewayVpcAttachments" | "DescribeTransitGatewayAttachments" => {
            let vpc_names = action == "DescribeTransitGatewayVpcAttachments";
            let ids = list(&form, "TransitGatewayAttachmentIds");
            let filters = filters(&form);
            let (mine, ours_only) = {
                let state = lock(state);
                let visible: Vec<&Attachment> = state
                    .attachments
                    .iter()
                    .filter(|a| a.region == region && (a.vpc_owner == caller || a.gateway_owner == caller))
                    .collect();
                let ours_only = !ids.is_empty() && ids.iter().all(|id| visible.iter().any(|a| &a.id == id));
                let shown: String = visible
                    .iter()
                    .filter(|a| ids.is_empty() || ids.contains(&a.id))
                    .filter(|a| matches(&filters, a, vpc_names))
                    .map(|a| {
                        format!("<item>{}</item>", if vpc_names { vpc_attachment_xml(a) } else { attachment_xml(a) })
                    })
                    .collect();
                if visible.is_empty() {
                    return None;
                }
                (shown, ours_only)
            };
            let set = if vpc_names { "transitGatewayVpcAttachments" } else { "transitGatewayAttachments" };
            if ours_only {
                return Some(xml(&action, &format!("<{set}>{mine}</{set}>")));
            }
            let mut response = forward(upstream_port, request).await.ok()?;
            if response.status == 200 {
                response.body = merge(&String::from_utf8_lossy(&response.body), set, &mine).into_bytes();
            }
            Some(response)
        }
        "AcceptTransitGatewayVpcAttachment" => {
            let id = parameter(&form, "TransitGatewayAttachmentId")?;
            let mut state = lock(state);
            let attachment = state.attachments.iter_mut().find(|a| a.id == id && a.region == region)?;
            if attachment.gateway_owner != caller {
                return Some(error(
                    "InvalidTransitGatewayAttachmentID.NotFound",
                    &format!("Transit Gateway Attachment {id} not found."),
                ));
            }
            if attachment.state != "pendingAcceptance" {
                return Some(error(
                    "IncorrectState",
                    &format!("tgw-attachment {id} is in invalid state {}", attachment.state),
                ));
            }
            attachment.state = "available";
            let shown = vpc_attachment_xml(attachment);
            Some(xml(&action, &format!("<transitGatewayVpcAttachment>{shown}</transitGatewayVpcAttachment>")))
        }
        "CreateRoute" => {
            let gateway_id = parameter(&form, "TransitGatewayId")?.to_string();
            let mut state = lock(state);
            let attached = state.attachments.iter().any(|a| {
                a.gateway_id == gateway_id && a.vpc_owner == caller && a.region == region && a.gateway_owner != caller
            });
            if !attached {
                return None;
            }
            let table_id = parameter(&form, "RouteTableId").unwrap_or_default().to_string();
            let destination = parameter(&form, "DestinationCidrBlock").unwrap_or_default().to_string();
            let taken = state.routes.iter().any(|r| {
                r.account == caller && r.region == region && r.table_id == table_id && r.destination == destination
            });
            if taken {
                return Some(error(
                    "RouteAlreadyExists",
                    &format!("The route identified by {destination} already exists."),
                ));
            }
            state.routes.push(Route {
                account: caller.to_string(),
                region: region.to_string(),
                table_id,
                destination,
                gateway_id,
            });
            Some(xml(&action, "<return>true</return>"))
        }
        "DeleteRoute" => {
            let table_id = parameter(&form, "RouteTableId").unwrap_or_default();
            let destination = parameter(&form, "DestinationCidrBlock").unwrap_or_default();
            let mut state = lock(state);
            let at = state.routes.iter().position(|r| {
                r.account == caller && r.region == region && r.table_id == table_id && r.destination == destination
            })?;
            state.routes.remove(at);
            Some(xml(&action, ""))
        }
        "DescribeRouteTables" => {
            let routes: Vec<Route> =
                lock(state).routes.iter().filter(|r| r.account == caller && r.region == region).cloned().collect();
            if routes.is_empty() {
                return None;
            }
            let mut response = forward(upstream_port, request).await.ok()?;
            if response.status != 200 {
                return Some(response);
            }
            let mut body = String::from_utf8_lossy(&response.body).into_owned();
            for route in routes {
                // The table's own id comes before its routes in moto's answer.
                let Some(at) = body.find(&format!("<routeTableId>{}</routeTableId>", route.table_id)) else { continue };
                let item = format!(
                    "<item><destinationCidrBlock>{}</destinationCidrBlock><transitGatewayId>{}</transitGatewayId><origin>CreateRoute</origin><state>active</state></item>",
                    route.destination, route.gateway_id
                );
                let rest = &body[at..];
                let open = rest.find("<routeSet>").map(|i| (i, "<routeSet>".len(), false));
                let empty = rest.find("<routeSet/>").map(|i| (i, "<routeSet/>".len(), true));
                let place = match (open, empty) {
                    (Some(a), Some(b)) => Some(if a.0 < b.0 { a } else { b }),
                    (a, b) => a.or(b),
                };
                let Some((offset, length, is_empty)) = place else { continue };
                let start = at + offset;
                body = if is_empty {
                    format!("{}<routeSet>{item}</routeSet>{}", &body[..start], &body[start + length..])
                } else {
                    format!("{}{item}{}", &body[..start + length], &body[start + length..])
                };
            }
            response.body = body.into_bytes();
            response.headers.retain(|(name, _)| !name.eq_ignore_ascii_case("content-length"));
            Some(response)
        }
        _ => None,
    }
}
