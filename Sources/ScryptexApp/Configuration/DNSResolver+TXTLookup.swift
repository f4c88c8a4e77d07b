public import ScryptexHTTP
public import ScryptexTenancy

/// The host's resolver answers domain verification's TXT lookups.
extension DNSResolver: TXTLookup {}
