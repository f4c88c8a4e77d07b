import Foundation
import ScryptexCore
import ScryptexPostgres
import ScryptexTenancy
import ScryptexTestSupport
import Testing

@Suite("Declarative tenants")
struct TenantSyncTests {
    static func folder(_ files: [String: String]) throws -> String {
        let path = "/tmp/scryptex-tenants-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        for (name, text) in files { try text.write(toFile: path + "/" + name, atomically: true, encoding: .utf8) }
        return path
    }

    static let acme = #"""
        {"slug":"acme","displayName":"Acme Capital","domains":["trade.acme.example"],
         "branding":{"productName":"Acme Prime","colors":{"primary":"#0B3D91"}},"features":{"market_making":false}}
        """#

    @Test func syncCreatesUpdatesAndReportsWithoutDeleting() async throws {
        try await withControlPlane { pool, provisioner in
            try await provisioner.create(.init(slug: "legacy", displayName: "Legacy Partner"), on: pool)
            let path = try Self.folder(["acme.json": Self.acme])
            defer { try? FileManager.default.removeItem(atPath: path) }
            let sync = TenantSync(provisioner: provisioner, logger: TestDatabase.logger)
            let first = try await sync.apply(folder: path, on: pool)
            #expect(first == TenantSync.Report(created: ["acme"], updated: [], notInFolder: ["legacy"]))
            let flag = try await pool.query(
                "SELECT enabled FROM platform.tenant_features f JOIN platform.tenants t ON t.id = f.tenant_id WHERE t.slug = 'acme' AND f.feature = 'market_making'"
            )
            #expect(try flag.first?.decode("enabled", as: Bool.self) == false)

            // A changed file is applied on the next sync; the legacy tenant is still there.
            try Self.acme.replacingOccurrences(of: "Acme Prime", with: "Acme Prime 2").write(
                toFile: path + "/acme.json", atomically: true, encoding: .utf8)
            let second = try await sync.apply(folder: path, on: pool)
            #expect(second.updated == ["acme"])
            let branding = try await pool.query(
                "SELECT product_name FROM platform.tenant_branding b JOIN platform.tenants t ON t.id = b.tenant_id WHERE t.slug = 'acme'"
            )
            #expect(try branding.first?.decode("product_name", as: String.self) == "Acme Prime 2")
            #expect(try await provisioner.list(on: pool).map(\.slug.value) == ["acme", "legacy"])
        }
    }

    /// Issue 18: `CUSTOM_DOMAIN_SUPPORT=false` was enforced on one of five ways to add a domain;
    /// the provisioner now refuses one whichever way it comes (files and direct creation here).
    @Test func customDomainsSwitchedOffAreRefusedFromFilesAndOnCreation() async throws {
        try await withControlPlane { pool, provisioner in
            var closed = provisioner
            closed.allowsCustomDomains = false
            do {
                try await closed.create(
                    .init(slug: "vega", displayName: "Vega", domains: ["trade.vega.example"]), on: pool)
                Issue.record("a custom domain was added with custom domains switched off")
            } catch let error as ServiceError {
                #expect(error.code == .forbidden && error.message.contains("CUSTOM_DOMAIN_SUPPORT=false"))
            }
            // The platform subdomain is not a custom domain.
            try await closed.create(.init(slug: "vega", displayName: "Vega"), on: pool)
            let path = try Self.folder(["acme.json": Self.acme])
            defer { try? FileManager.default.removeItem(atPath: path) }
            do {
                _ = try await TenantSync(provisioner: closed, logger: TestDatabase.logger).apply(folder: path, on: pool)
                Issue.record("tenant files added a custom domain with custom domains switched off")
            } catch let error as ServiceError {
                #expect(error.message.contains("CUSTOM_DOMAIN_SUPPORT=false"), "\(error.message)")
            }
            let domains = try await pool.query("SELECT hostname FROM platform.tenant_domains WHERE kind = 'custom'")
            #expect(domains.isEmpty)
        }
    }

    @Test(arguments: [
        (
            #"{"slug":"acme","displayName":"Acme","branding":{"productName":"A","colors":{"primary":"blue"}}}"#,
            "acme.json: field 'branding.colors.primary': 'blue' is not a colour like #0B3D91"
        ),
        (#"{"slug":"acme"}"#, "acme.json: the field 'displayName' is required"),
        (
            #"{"slug":"other","displayName":"X"}"#,
            "acme.json: field 'slug' is 'other' but the file must be named other.json"
        ),
        (
            #"{"slug":"acme","displayName":"X","domains":["not a host"]}"#,
            "acme.json: field 'domains[0]': 'not a host' is not a valid host name"
        ),
        (
            #"{"slug":"acme","displayName":"X","features":{"teleport":true}}"#,
            "acme.json: field 'features.teleport' is not a known feature"
        ),
        (#"{"slug":"acme","displayName":7}"#, "acme.json: the field 'displayName' must be a string"),
        ("{not json", "acme.json: the request body is not valid JSON"),
    ])
    func malformedFilesNameFileFieldAndProblem(text: String, message: String) throws {
        let path = try Self.folder(["acme.json": text])
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = #expect(throws: ServiceError.self) { try TenantManifest.load(path: path + "/acme.json") }
        #expect(error?.code == .invalidInput)
        #expect(error?.message.hasPrefix(String(message.prefix(10))) == true)
        #expect(error?.message.contains(message.dropFirst(11)) == true, "\(String(describing: error?.message))")
    }

    @Test func aMalformedFileStopsTheSyncBeforeAnythingIsApplied() async throws {
        try await withControlPlane { pool, provisioner in
            let path = try Self.folder(["acme.json": Self.acme, "zenith.json": #"{"slug":"zenith"}"#])
            defer { try? FileManager.default.removeItem(atPath: path) }
            await #expect(throws: ServiceError.self) {
                try await TenantSync(provisioner: provisioner, logger: TestDatabase.logger).apply(
                    folder: path, on: pool)
            }
            #expect(try await provisioner.list(on: pool).isEmpty)
        }
    }
}
