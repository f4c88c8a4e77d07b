import ScryptexEventLoops
import ScryptexHTTP
import ScryptexTradFi

/// Connects broker sessions over the host's outbound streams: TCP on an event loop, with TLS 1.2+
/// verified against the session's own authorities (or the system's) when the session asks for it.
/// Brokers are often reached over private links, so private addresses are allowed.
struct OutboundBrokerConnector: BrokerConnector {
    let loops: EventLoopGroup

    func connect(to endpoint: BrokerEndpoint) async throws -> any FIXTransport {
        var context: TLSClientContext?
        if endpoint.tls {
            context =
                if let pem = endpoint.trustedCertificates {
                    try TLSClientContext(trustedCertificatesPEM: pem)
                } else {
                    try TLSClientContext(trustedCertificatesFile: nil)
                }
        }
        let stream = try await OutboundStream.connect(
            host: endpoint.host, port: endpoint.port, tls: context, publicOnly: false, on: loops.next())
        return OutboundStreamTransport(stream)
    }
}
