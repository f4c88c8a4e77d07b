public import ScryptexHTTP
public import ScryptexTradFi

/// A FIX session's transport over the host's outbound stream (TCP or TLS on an event loop).
public struct OutboundStreamTransport: FIXTransport {
    private let stream: OutboundStream
    public let events: AsyncStream<FIXTransportEvent>

    public init(_ stream: OutboundStream) {
        self.stream = stream
        let (events, continuation) = AsyncStream.makeStream(of: FIXTransportEvent.self)
        self.events = events
        Task {
            for await event in stream.events {
                switch event {
                case .connected: continuation.yield(.connected)
                case .received(let bytes): continuation.yield(.received(bytes))
                case .closed(let reason): continuation.yield(.closed(reason))
                }
            }
            continuation.finish()
        }
    }

    public func write(_ bytes: [UInt8]) { stream.write(bytes) }
    public func close(_ reason: String) { stream.close(reason) }
}
