//! The AWS region codes a spec may name (commercial, GovCloud and China partitions).
//!
//! Kept as data so validation stays offline; update when AWS opens a region.

pub const AWS_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "cn-north-1",
    "cn-northwest-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-west-1",
    "us-west-2",
];

/// Whether `code` is a region AWS operates.
pub fn is_aws_region(code: &str) -> bool {
    AWS_REGIONS.contains(&code)
}

/// Regions disabled in every account until enabled (AWS: Regions introduced after 20 March 2019).
/// https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-regions.html
pub const OPT_IN_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-south-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-west-1",
    "eu-central-2",
    "eu-south-1",
    "eu-south-2",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
];

/// Whether `code` is an opt-in Region (disabled until `account:EnableRegion`).
pub fn is_opt_in(code: &str) -> bool {
    OPT_IN_REGIONS.contains(&code)
}

/// Regions where AWS Config cannot record the global IAM resource types (users, groups, roles,
/// customer managed policies): those AWS Config supported after February 2022. The page lists
/// Hyderabad, Melbourne, Calgary, Spain, Zurich, Tel Aviv and UAE; Regions opened since
/// (Malaysia, New Zealand, Thailand, Mexico, Taipei) fall under the same rule.
/// https://docs.aws.amazon.com/config/latest/developerguide/select-resources.html#select-resources-all
/// https://docs.aws.amazon.com/config/latest/APIReference/API_ExclusionByResourceTypes.html
pub const CONFIG_WITHOUT_GLOBAL_TYPES: &[&str] = &[
    "ap-south-2",
    "ap-southeast-4",
    "ca-west-1",
    "eu-south-2",
    "eu-central-2",
    "il-central-1",
    "me-central-1",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "mx-central-1",
    "ap-east-2",
];

/// The Region AWS Config records the global IAM resource types in: the home Region (the first of
/// `regions`) when it can, else the first of `regions` that can; None when none can.
pub fn config_global_types_region(regions: &[String]) -> Option<&str> {
    regions.iter().map(String::as_str).find(|region| !CONFIG_WITHOUT_GLOBAL_TYPES.contains(region))
}

/// The partition a Region belongs to (`aws`, `aws-us-gov`, `aws-cn`).
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("cn-") {
        "aws-cn"
    } else {
        "aws"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opt_in_and_config_lists_name_real_regions() {
        for region in OPT_IN_REGIONS.iter().chain(CONFIG_WITHOUT_GLOBAL_TYPES) {
            assert!(is_aws_region(region), "{region}");
        }
        assert!(is_opt_in("af-south-1") && !is_opt_in("us-east-1"));
    }

    #[test]
    fn global_types_go_to_the_first_region_that_records_them() {
        let regions = |list: &[&str]| list.iter().map(|region| region.to_string()).collect::<Vec<_>>();
        assert_eq!(config_global_types_region(&regions(&["eu-west-1", "us-east-1"])), Some("eu-west-1"));
        assert_eq!(config_global_types_region(&regions(&["ca-west-1", "ca-central-1"])), Some("ca-central-1"));
        assert_eq!(config_global_types_region(&regions(&["il-central-1", "eu-central-2"])), None);
    }
}
