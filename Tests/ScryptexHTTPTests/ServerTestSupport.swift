import Foundation
import Glibc
import ScryptexCore
import ScryptexCrypto
import ScryptexTestSupport
import Synchronization
import Testing

@testable import ScryptexHTTP

/// Starts a server on 127.0.0.1 with a test application, runs `body`, and shuts it down.
func withTestServer<Result>(
    tls: CertificateStore? = nil,
    timeouts: HTTPServer.Timeouts = .init(),
    limits: HTTPRequestDecoder.Limits = .init(),
    _ body: (HTTPServer) async throws -> Result
) async throws -> Result {
    var router = Router()
    router.get("/healthz") { _, _ in .json(#"{"status":"ok"}"#) }
    router.post("/echo") { request, _ in
        HTTPResponse(status: .ok, contentType: "application/octet-stream", body: request.body)
    }
    router.get("/slow") { _, _ in
        try await Task.sleep(for: .milliseconds(700))
        return .json(#"{"slow":true}"#)
    }
    // 320 chunks of 64 KiB (20 MiB), byte i of the body being i % 251; counts what it wrote.
    router.get("/stream") { _, _ in
        .streaming(contentType: "application/octet-stream") { writer in
            let pattern = (0..<(65_536 + 251)).map { UInt8($0 % 251) }
            var offset = 0
            do {
                for _ in 0..<StreamProbe.chunks {
                    // Each chunk continues the pattern where the last one stopped.
                    let start = offset % 251
                    try await writer.write(Array(pattern[start..<(start + 65_536)]))
                    offset += 65_536
                    StreamProbe.written.add(1, ordering: .relaxed)
                }
            } catch {
                StreamProbe.failed.store(true, ordering: .relaxed)
                throw error
            }
        }
    }
    router.get("/whoami") { _, context in
        .json("{\"sni\":\(JSONString.quoted(context.serverName ?? "")),\"secure\":\(context.isSecure)}")
    }
    let server = HTTPServer(
        configuration: .init(
            host: "127.0.0.1", port: 0, eventLoopCount: 2, tls: tls, limits: limits, timeouts: timeouts),
        application: HTTPApplication(router: router),
        logger: Logger(label: "test.http", minimumLevel: .warning)
    )
    try server.start()
    do {
        let result = try await body(server)
        await server.shutdown(gracePeriod: .seconds(2))
        return result
    } catch {
        await server.shutdown(gracePeriod: .seconds(2))
        throw error
    }
}

/// What the `/stream` route has done, for tests that watch its back-pressure.
enum StreamProbe {
    static let chunks = 320
    static let written = Atomic<Int>(0)
    static let failed = Atomic<Bool>(false)
}

/// Runs a command-line client (curl, openssl) and returns its exit status and output.
func runClient(_ executable: String, _ arguments: [String]) async throws -> (status: Int32?, output: String) {
    let process = try ChildProcess(executable, arguments)
    let status = await process.waitForExit(timeout: .seconds(20))
    return (status, process.output)
}
