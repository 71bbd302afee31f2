//! IPv4 CIDR blocks as `network:` writes them: parsing (canonical form only), containment,
//! overlap, and AWS's private ranges. Pure; no I/O.

use std::fmt;
use std::net::Ipv4Addr;

/// An IPv4 CIDR block: a network address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ipv4Cidr {
    address: u32,
    prefix: u8,
}

/// Why a text is not a CIDR block the spec can use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CidrError {
    /// Not `a.b.c.d/n` with n in 0..=32.
    Malformed,
    /// Host bits set: AWS would store the canonical block instead (CreateVpc's `CidrBlock`: "We
    /// modify the specified CIDR block to its canonical form"), so the spec would never match.
    NotCanonical(Ipv4Cidr),
}

impl Ipv4Cidr {
    /// Parses `a.b.c.d/n`, refusing host bits set.
    pub fn parse(text: &str) -> Result<Ipv4Cidr, CidrError> {
        let (address, prefix) = text.split_once('/').ok_or(CidrError::Malformed)?;
        let address: Ipv4Addr = address.parse().map_err(|_| CidrError::Malformed)?;
        if prefix.is_empty() || prefix.len() > 2 || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CidrError::Malformed);
        }
        let prefix: u8 = prefix.parse().map_err(|_| CidrError::Malformed)?;
        if prefix > 32 {
            return Err(CidrError::Malformed);
        }
        let address = u32::from(address);
        let canonical = Ipv4Cidr { address: address & mask(prefix), prefix };
        if canonical.address != address {
            return Err(CidrError::NotCanonical(canonical));
        }
        Ok(canonical)
    }

    pub fn prefix(self) -> u8 {
        self.prefix
    }

    fn last(self) -> u32 {
        self.address | !mask(self.prefix)
    }

    /// Whether `other` lies wholly inside this block.
    pub fn contains(self, other: Ipv4Cidr) -> bool {
        other.prefix >= self.prefix && other.address & mask(self.prefix) == self.address
    }

    /// Whether the two blocks share an address.
    pub fn overlaps(self, other: Ipv4Cidr) -> bool {
        self.address <= other.last() && other.address <= self.last()
    }

    /// Whether the block lies in one of RFC 1918's private ranges.
    pub fn is_private(self) -> bool {
        PRIVATE_RANGES.iter().any(|range| range.contains(self))
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}/{}", Ipv4Addr::from(self.address), self.prefix)
    }
}

fn mask(prefix: u8) -> u32 {
    match prefix {
        0 => 0,
        bits => u32::MAX << (32 - u32::from(bits)),
    }
}

/// RFC 1918's private address ranges, which AWS asks VPCs to use: "we recommend that you specify
/// a CIDR block from the private IPv4 address ranges as specified in RFC 1918"
/// (https://docs.aws.amazon.com/vpc/latest/userguide/vpc-cidr-blocks.html).
pub const PRIVATE_RANGES: [Ipv4Cidr; 3] = [
    Ipv4Cidr { address: 0x0A00_0000, prefix: 8 },
    Ipv4Cidr { address: 0xAC10_0000, prefix: 12 },
    Ipv4Cidr { address: 0xC0A8_0000, prefix: 16 },
];

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(text: &str) -> Ipv4Cidr {
        Ipv4Cidr::parse(text).unwrap_or_else(|error| panic!("{text}: {error:?}"))
    }

    #[test]
    fn parses_only_canonical_blocks() {
        assert_eq!(cidr("10.10.0.0/16").to_string(), "10.10.0.0/16");
        assert_eq!(cidr("0.0.0.0/0").prefix(), 0);
        for bad in ["10.10.0.0", "10.10.0.0/33", "10.10.0/16", "10.10.0.0/", "10.10.0.0/+6", "x/16", "10.10.0.0/016"] {
            assert_eq!(Ipv4Cidr::parse(bad), Err(CidrError::Malformed), "{bad}");
        }
        assert_eq!(Ipv4Cidr::parse("10.10.1.0/16"), Err(CidrError::NotCanonical(cidr("10.10.0.0/16"))));
    }

    #[test]
    fn containment_and_overlap() {
        let vpc = cidr("10.10.0.0/16");
        assert!(vpc.contains(cidr("10.10.16.0/20")));
        assert!(vpc.contains(vpc));
        assert!(!vpc.contains(cidr("10.11.0.0/20")));
        assert!(!cidr("10.10.0.0/20").contains(vpc));
        assert!(cidr("10.10.0.0/20").overlaps(cidr("10.10.8.0/24")));
        assert!(!cidr("10.10.0.0/20").overlaps(cidr("10.10.16.0/20")));
        assert!(vpc.overlaps(cidr("10.0.0.0/8")));
    }

    #[test]
    fn private_ranges_are_rfc_1918() {
        assert!(cidr("10.10.0.0/16").is_private());
        assert!(cidr("172.31.0.0/16").is_private());
        assert!(cidr("192.168.4.0/24").is_private());
        assert!(!cidr("172.32.0.0/16").is_private());
        assert!(!cidr("8.8.0.0/16").is_private());
        assert!(!cidr("100.64.0.0/16").is_private());
    }
}
