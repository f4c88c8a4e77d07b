import Dispatch
import Glibc
import ScryptexCore
import ScryptexPostgres
import Synchronization

/// The running host: database ready and migrated, connection pool open, serving until a
/// termination signal, then shut down in order.
struct HostService: Sendable {
    let configuration: Configuration
    let logger: Logger

    func run() async throws -> Int32 {
        let database = try await DatabaseSetup.prepare(configuration, logger: logger)
        let pool = PostgresConnectionPool(
            configuration: database.configuration,
            options: .init(maximumConnections: 20, acquireTimeout: .seconds(10)),
            logger: logger.child(label: "scryptex.postgres.pool")
        )
        do {
            // The database may still be starting (or restarting): wait for it, within bounds.
            let first = try await PostgresConnection.connect(
                configuration: database.configuration, retryingFor: .seconds(30), logger: logger
            )
            await first.close()
            let outcome = try await pool.withConnection { connection in
                try await SchemaMigrations(logger: logger).migrateAll(on: connection)
            }
            for line in outcome.lines { logger.info(line) }
        } catch {
            await pool.close()
            await database.finish(logger: logger)
            throw error
        }
        logger.info(
            "scryptex host ready",
            [
                "version": ScryptexCommands.version, "database": database.configuration.redactedDescription,
                "platform_domain": configuration.platformDomain,
            ]
        )
        let signal = await TerminationSignal.next()
        logger.info("shutting down", ["signal": signal == SIGINT ? "SIGINT" : "SIGTERM"])
        await pool.close()
        await database.finish(logger: logger)
        logger.info("stopped")
        return 0
    }
}

/// Waits for SIGINT or SIGTERM.
enum TerminationSignal {
    /// Dispatch sources are thread-safe (they may be resumed and cancelled from any thread), and
    /// this box only keeps them alive until the first signal arrives.
    private final class Sources: @unchecked Sendable {
        var sources: [any DispatchSourceSignal] = []
    }

    /// Returns the number of the first termination signal received.
    static func next() async -> Int32 {
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let box = Sources()
        let delivered = Atomic<Bool>(false)
        return await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
            for number in [SIGINT, SIGTERM] {
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler {
                    guard
                        delivered.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing)
                            .exchanged
                    else { return }
                    box.sources.forEach { $0.cancel() }
                    continuation.resume(returning: number)
                }
                box.sources.append(source)
                source.resume()
            }
        }
    }
}
