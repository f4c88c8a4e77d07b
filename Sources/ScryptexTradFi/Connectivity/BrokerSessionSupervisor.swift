public import Foundation
public import ScryptexCompliance
public import ScryptexCore
public import ScryptexInstitutional
public import ScryptexPostgres
public import ScryptexTenancy
import Synchronization

/// Where a broker session connects.
public struct BrokerEndpoint: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var tls: Bool
    /// PEM of the authorities that sign the broker's certificate; nil: the system's.
    public var trustedCertificates: String?
}

/// Opens the byte stream a broker session runs over (the composition root supplies one on the
/// host's event loops and OpenSSL).
public protocol BrokerConnector: Sendable {
    func connect(to endpoint: BrokerEndpoint) async throws -> any FIXTransport
}

/// Keeps every enabled broker session of every tenant with `tradfi` connected, from whichever
/// host holds it: a host claims a session with a lease in `tradfi_broker_sessions` (renewed
/// while it runs, taken over by another host when it lapses), connects, logs on, sends the
/// session's due orders and cancels when woken (`NOTIFY scryptex_tradfi`) or every two seconds,
/// and books what the broker sends back. A lost connection is retried with back-off (1 s
/// doubling to 60 s); `status` and `status_detail` say where each session stands.
public actor BrokerSessionSupervisor {
    public struct Options: Sendable {
        /// How long a claim holds without renewal.
        public var leaseSeconds = 30
        /// How often sessions are claimed, renewed and checked.
        public var scanInterval: Duration = .seconds(5)
        /// How often a logged-on session looks for due orders without being woken.
        public var sweepInterval: Duration = .seconds(2)
        /// How long a Logon may go unanswered.
        public var logonTimeout: Duration = .seconds(30)
        public var longestBackOff: Duration = .seconds(60)
        /// How often every credit line's margin is reviewed (prices move what lines have in use;
        /// fills and changes to a line review it at once), and approved withdrawals a host left
        /// unsent are sent.
        public var marginReviewInterval: Duration = .seconds(60)

        public init() {}
    }

    private struct Running {
        var tenant: UUID
        var task: Task<Void, Never>
        var wake: WakeSignal
    }

    /// Wakes a session's sender; each connection listens on a stream of its own (a stream ends
    /// with the task that read it).
    final class WakeSignal: Sendable {
        private let continuation = Mutex<AsyncStream<Void>.Continuation?>(nil)

        /// A new stream for a new connection (the previous one ends).
        func stream() -> AsyncStream<Void> {
            let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
            self.continuation.withLock {
                $0?.finish()
                $0 = continuation
            }
            return stream
        }

        func fire() { _ = continuation.withLock { $0?.yield() } }
    }

    private let pool: PostgresConnectionPool
    private let connector: any BrokerConnector
    private let owner: String
    private let audit: @Sendable (Tenant) -> any AuditSink
    private let desk: BrokerExecutionDesk
    private let options: Options
    private let custody: CustodyService
    private let logger: Logger
    private var running: [UUID: Running] = [:]
    private var lastMarginReview: ContinuousClock.Instant?

    /// - Parameters:
    ///   - owner: This host's name in the leases (unique among the hosts sharing the database).
    ///   - audit: The audit sink of a tenant's background actions.
    public init(
        pool: PostgresConnectionPool, connector: any BrokerConnector, owner: String,
        monitoring: MonitoringService = MonitoringService(), custodians: Custodians = .development,
        options: Options = Options(), logger: Logger, audit: @escaping @Sendable (Tenant) -> any AuditSink
    ) {
        self.custody = CustodyService(custodians: custodians)
        self.pool = pool
        self.connector = connector
        self.owner = owner
        self.audit = audit
        self.desk = BrokerExecutionDesk(monitoring: monitoring)
        self.options = options
        self.logger = logger
    }

    /// The sessions this host runs now.
    public var runningSessions: Set<UUID> { Set(running.keys) }

    /// Runs until cancelled: claims and runs sessions, follows wake-ups; on cancellation logs every
    /// session out and gives up its leases.
    public func run() async {
        let listener = try? PostgresNotificationListener(
            configuration: pool.configuration, channels: [BrokerOrderService.channel], logger: logger)
        let following = Task { [weak self] in
            guard let listener else { return }
            await withDiscardingTaskGroup { group in
                group.addTask { await listener.run() }
                for await event in listener.events {
                    if case .notification(let notification) = event, let id = UUID(uuidString: notification.payload) {
                        await self?.wake(id)
                    }
                }
            }
        }
        while !Task.isCancelled {
            // A scan is not cut off half way (its statements would fail): stopping waits for it.
            await Task { await self.scan() }.value
            try? await Task.sleep(for: options.scanInterval)
        }
        following.cancel()
        // Not in this (cancelled) task: the database refuses a cancelled task's statements.
        await Task { await self.stopAll() }.value
    }

    /// Wakes a running session's sender (its due orders go out now).
    public func wake(_ session: UUID) {
        running[session]?.wake.fire()
    }

    /// Claims and renews leases tenant by tenant; starts what it newly holds, stops what it no
    /// longer does.
    func scan() async {
        var held: [UUID: Tenant] = [:]
        var tenants: [Tenant] = []
        do {
            for tenant in try await TenantRegistry().tenants(statuses: [.active], from: pool) {
                guard try await TenantRegistry().featureFlags(of: tenant.id, from: pool)["tradfi"] == true else {
                    continue
                }
                tenants.append(tenant)
                let owner = owner
                let lease = options.leaseSeconds
                let now = Date()
                let ids = try await TenantScope(tenant: tenant, pool: pool).withTransaction { transaction in
                    try await transaction.execute(
                        "UPDATE tradfi_broker_sessions SET held_by = NULL, held_until = NULL WHERE held_by = \(owner) AND NOT enabled"
                    )
                    let claimed = try await transaction.query(
                        """
                        UPDATE tradfi_broker_sessions
                        SET held_by = \(owner), held_until = now() + make_interval(secs => \(lease))
                        WHERE enabled AND (held_by IS NULL OR held_by = \(owner) OR held_until < now())
                        RETURNING id, schedule
                        """
                    )
                    // Outside its schedule a session is not held: the host logs out and leaves it.
                    var open: [UUID] = []
                    var closed: [UUID] = []
                    for row in claimed {
                        let id = try row.decode("id", as: UUID.self)
                        let schedule = try row.decode("schedule", as: PostgresJSON?.self)?.decode(BrokerSchedule.self)
                        if schedule?.isOpen(at: now) ?? true { open.append(id) } else { closed.append(id) }
                    }
                    if !closed.isEmpty {
                        try await transaction.execute(
                            """
                            UPDATE tradfi_broker_sessions SET held_by = NULL, held_until = NULL, status = 'disconnected',
                                status_detail = 'outside its trading schedule', updated_at = now()
                            WHERE id = ANY(\(closed)::uuid[]) AND held_by = \(owner)
                            """)
                    }
                    return open
                }
                for id in ids { held[id] = tenant }
            }
        } catch {
            // Leases are kept only while renewed: a database away for long lets another host
            // take over, and this one stops below once it can tell.
            logger.warning("could not claim broker sessions", ["error": "\(error)"])
            return
        }
        for (id, entry) in running where held[id] == nil {
            entry.task.cancel()
            running[id] = nil
            logger.info("broker session released", ["session": id.uuidString.lowercased()])
        }
        for (id, tenant) in held where running[id] == nil {
            let wake = WakeSignal()
            let task = Task { [weak self] () -> Void in
                await self?.keepConnected(id, tenant: tenant, wake: wake)
            }
            running[id] = Running(tenant: tenant.id, task: task, wake: wake)
        }
        let now = ContinuousClock.now
        if lastMarginReview.map({ now - $0 >= options.marginReviewInterval }) ?? true {
            lastMarginReview = now
            await reviewMargins(of: tenants)
            await sendLeftWithdrawals(of: tenants)
        }
    }

    /// Sends the withdrawals approved more than a minute ago and never sent (the host that
    /// approved them stopped first), tenant by tenant.
    private func sendLeftWithdrawals(of tenants: [Tenant]) async {
        for tenant in tenants {
            do {
                let sent = try await custody.send(
                    scope: TenantScope(tenant: tenant, pool: pool), audit: audit(tenant))
                if !sent.isEmpty {
                    logger.info("sent withdrawals left unsent", ["tenant": "\(tenant.slug)", "count": "\(sent.count)"])
                }
            } catch {
                logger.warning(
                    "could not send approved withdrawals", ["tenant": "\(tenant.slug)", "error": "\(error)"])
            }
        }
    }

    /// Reviews every credit line's margin, tenant by tenant (a tenant that fails is logged and
    /// the others still reviewed).
    private func reviewMargins(of tenants: [Tenant]) async {
        for tenant in tenants {
            let audit = audit(tenant)
            do {
                try await TenantScope(tenant: tenant, pool: pool).withTransaction { transaction in
                    try await CreditLineService().reviewMargins(audit: audit, in: transaction)
                }
            } catch {
                logger.warning(
                    "could not review credit line margins", ["tenant": "\(tenant.slug)", "error": "\(error)"])
            }
        }
    }

    private func stopAll() async {
        let stopping = running
        running = [:]
        for entry in stopping.values { entry.task.cancel() }
        for entry in stopping.values { await entry.task.value }
        let owner = owner
        do {
            for tenant in try await TenantRegistry().tenants(statuses: [.active, .suspended], from: pool)
            where stopping.values.contains(where: { $0.tenant == tenant.id }) {
                try await TenantScope(tenant: tenant, pool: pool).withTransaction { transaction in
                    try await transaction.execute(
                        """
                        UPDATE tradfi_broker_sessions SET held_by = NULL, held_until = NULL, status = 'disconnected',
                            status_detail = 'the host stopped', updated_at = now()
                        WHERE held_by = \(owner)
                        """)
                }
            }
        } catch {
            logger.warning("could not give up the broker session leases", ["error": "\(error)"])
        }
    }

    /// One session's life on this host: connect, log on, send and book, reconnect with back-off.
    private nonisolated func keepConnected(_ id: UUID, tenant: Tenant, wake: WakeSignal) async {
        let scope = TenantScope(tenant: tenant, pool: pool)
        let logger = logger.child(label: "scryptex.tradfi")
        let fields = ["tenant": tenant.slug.value, "session": id.uuidString.lowercased()]
        var delay = Duration.seconds(1)
        while !Task.isCancelled {
            let started = ContinuousClock.now
            let reason: String
            do {
                reason = try await connectOnce(id, scope: scope, tenant: tenant, wake: wake)
                // Stopping: the supervisor records the sessions it let go.
                if Task.isCancelled { break }
                logger.info("broker session disconnected", fields.merging(["reason": reason]) { $1 })
                try? await setStatus(id, "disconnected", detail: reason, scope: scope)
            } catch {
                if Task.isCancelled { break }
                reason = "\(error)"
                logger.warning("broker session failed", fields.merging(["reason": reason]) { $1 })
                try? await setStatus(id, "failed", detail: reason, scope: scope)
            }
            if Task.isCancelled { break }
            // A session that stayed up a while starts its back-off again.
            if ContinuousClock.now - started > .seconds(60) { delay = .seconds(1) }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, options.longestBackOff)
        }
    }

    /// Connects, logs on and runs until the connection closes; returns why it closed.
    private nonisolated func connectOnce(
        _ id: UUID, scope: TenantScope, tenant: Tenant, wake: WakeSignal
    ) async throws -> String {
        guard
            let row = try await scope.withTransaction(
                readOnly: true,
                { transaction in
                    try await transaction.query(
                        """
                        SELECT host, port, tls, trusted_certificates, sender_comp_id, target_comp_id, heartbeat_seconds,
                               next_sender_seq, next_target_seq
                        FROM tradfi_broker_sessions WHERE id = \(id) AND enabled
                        """)
                }
            ).first
        else { return "the session is disabled" }
        try await setStatus(id, "connecting", detail: nil, scope: scope)
        let endpoint = BrokerEndpoint(
            host: try row.decode("host", as: String.self), port: try row.decode("port", as: Int.self),
            tls: try row.decode("tls", as: Bool.self),
            trustedCertificates: try row.decode("trusted_certificates", as: String?.self))
        let transport = try await connector.connect(to: endpoint)
        let store = PostgresFIXMessageStore(scope: scope, sessionID: id)
        let desk = desk
        let sink = audit(tenant)
        let runner = FIXSessionRunner(
            session: FIXSession(
                role: .initiator, senderCompID: try row.decode("sender_comp_id", as: String.self),
                targetCompID: try row.decode("target_comp_id", as: String.self),
                heartbeatInterval: try row.decode("heartbeat_seconds", as: Int.self),
                nextSenderSequence: try row.decode("next_sender_seq", as: Int.self),
                nextTargetSequence: try row.decode("next_target_seq", as: Int.self)),
            store: store, transport: transport
        ) { message in
            try await desk.handle(message, session: id, audit: sink) { body in
                try await scope.withTransaction { try await body($0) }
            }
        }
        let session = Task { await runner.run() }
        let timeout = options.logonTimeout
        let logonWatch = Task {
            try await Task.sleep(for: timeout)
            transport.close("no Logon answer within \(timeout)")
        }
        return await withTaskCancellationHandler {
            do {
                try await runner.waitUntilLoggedOn()
            } catch {
                logonWatch.cancel()
                return await session.value
            }
            logonWatch.cancel()
            try? await setStatus(id, "logged_on", detail: nil, scope: scope)
            // Due orders go out now, when woken, and every sweep interval.
            let wakes = wake.stream()
            wake.fire()
            let sweepInterval = options.sweepInterval
            let ticker = Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: sweepInterval)
                    wake.fire()
                }
            }
            let sender = Task {
                for await _ in wakes {
                    if Task.isCancelled { break }
                    do {
                        _ = try await scope.withTransaction { transaction in
                            try await BrokerOrderOutbox().sendDue(session: id, in: transaction) {
                                try await runner.send($0)
                            }
                        }
                    } catch {
                        // Not logged on any more, or the database away: the next sweep tries again.
                    }
                }
            }
            let reason = await session.value
            ticker.cancel()
            sender.cancel()
            return reason
        } onCancel: {
            Task {
                await runner.logout("the host is stopping")
                try? await Task.sleep(for: .seconds(2))
                transport.close("the host is stopping")
            }
        }
    }

    private nonisolated func setStatus(_ id: UUID, _ status: String, detail: String?, scope: TenantScope) async throws {
        try await scope.withTransaction { transaction in
            try await transaction.execute(
                """
                UPDATE tradfi_broker_sessions SET status = \(status), status_detail = \(detail.map { String($0.prefix(500)) }),
                    logged_on_at = CASE WHEN \(status) = 'logged_on' THEN now() ELSE logged_on_at END, updated_at = now()
                WHERE id = \(id)
                """)
        }
    }
}
