import Foundation
import ScryptexCore
import ScryptexHTTP
import ScryptexPostgres
import ScryptexTenancy

/// What every tenant answers: its branding (public) and the state of its jobs.
public struct TenantRoutes: RouteCollection {
    let pool: PostgresConnectionPool

    public init(services: APIServices) {
        pool = services.pool
    }

    public func add(to routes: inout SecuredRoutes) {
        routes.group("/api/enterprise/branding", as: PublicTenantCall.self) { branding in
            branding.get(use: self.branding)
        }
        routes.group("/api/enterprise/jobs", as: TenantCall.self, permission: .jobsRead) { jobs in
            jobs.get(":id", use: job)
        }
    }

    @Sendable func branding(_ request: HTTPRequest, _ call: PublicTenantCall) async throws -> HTTPResponse {
        guard let stored = try await TenantBranding.load(for: call.tenant.id, from: pool) else {
            throw HTTPProblem.notFound("this tenant has no branding yet")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let branding = Branding(displayName: call.tenant.displayName, branding: stored)
        return .json(String(decoding: try encoder.encode(branding), as: UTF8.self))
    }

    @Sendable func job(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        // Another tenant's job is "not found", exactly like one that does not exist.
        guard let id = UUID(uuidString: try call.parameter("id")),
            let job = try await TenantJobQueue(pool: pool).job(id), job.tenantID == call.tenant.id
        else { throw HTTPProblem.notFound("no job with this id") }
        struct View: Encodable {
            var id: String
            var kind: String
            var status: String
            var attempts: Int
            var progress: Int
            var result: String?
            var error: String?
        }
        return try .json(
            encoding: View(
                id: job.id.uuidString.lowercased(), kind: job.kind, status: job.status.rawValue,
                attempts: job.attempts, progress: job.progress, result: job.result?.text, error: job.error))
    }

    /// The tenant's branding with its display name, as one JSON object.
    struct Branding: Encodable {
        var displayName: String
        var branding: TenantBranding

        enum CodingKeys: String, CodingKey { case displayName }

        func encode(to encoder: any Encoder) throws {
            try branding.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(displayName, forKey: .displayName)
        }
    }
}
