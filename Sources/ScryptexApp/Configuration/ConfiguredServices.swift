import Foundation
import Glibc
package import ScryptexACME
import ScryptexAPI
import ScryptexCompliance
package import ScryptexCore
import ScryptexCrypto
import ScryptexHTTP
package import ScryptexIdentity
package import ScryptexTenancy
import ScryptexWhiteLabel

/// Finds the master key: `SCRYPTEX_MASTER_KEY`, else the file `SCRYPTEX_MASTER_KEY_FILE`, else
/// `<data folder>/master.key`, which is created (mode 0600) on first use. The key never goes into
/// the database or the logs.
package enum MasterKeySource {
    package static func keyring(for configuration: Configuration, logger: Logger) throws -> Keyring {
        let previous = try configuration.previousMasterKey.map { [try MasterKey(text: $0)] } ?? []
        if let text = configuration.masterKey {
            return Keyring(master: try MasterKey(text: text), previous: previous)
        }
        let path = configuration.masterKeyFile ?? configuration.dataDirectory + "/master.key"
        let text = try SecretFile.read(
            path, what: "the master key", variable: configuration.masterKeyFile.map { _ in "SCRYPTEX_MASTER_KEY_FILE" },
            dataDirectory: configuration.dataDirectory, logger: logger,
            creating: { MasterKey.generateText() + "\n" },
            notice: "created a master key for encryption at rest; back it up apart from the database")
        do {
            return Keyring(master: try MasterKey(text: text), previous: previous)
        } catch let error as ServiceError {
            throw ServiceError(error.code, "\(path): \(error.message)")
        }
    }

    /// The key that signs audit seals: `SCRYPTEX_AUDIT_SIGNING_KEY_FILE`, else
    /// `<data folder>/audit-signing-key.pem`, created (mode 0600) on first use.
    static func auditSigningKey(for configuration: Configuration, logger: Logger) throws -> P256SigningKey {
        let path = configuration.auditSigningKeyFile ?? configuration.dataDirectory + "/audit-signing-key.pem"
        let text = try SecretFile.read(
            path, what: "the audit signing key",
            variable: configuration.auditSigningKeyFile.map { _ in "SCRYPTEX_AUDIT_SIGNING_KEY_FILE" },
            dataDirectory: configuration.dataDirectory, logger: logger,
            creating: { try P256SigningKey.generate().privateKeyPEM },
            notice: "created the key that signs audit seals; back it up apart from the database")
        do {
            return try P256SigningKey(privateKeyPEM: text)
        } catch {
            throw ServiceError(.invalidInput, "\(path): \(error)")
        }
    }
}

extension Configuration {
    /// Where the audit seals are appended.
    var auditSealLogPath: String { auditSealLog ?? dataDirectory + "/audit-seals.jsonl" }
}

/// A secret kept in a file of its own, outside the database.
enum SecretFile {
    /// The file's text. A missing file named by `variable` is an error; a missing default file
    /// is created with `creating()` (mode 0600, never overwriting) and announced with `notice`.
    static func read(
        _ path: String, what: String, variable: String?, dataDirectory: String, logger: Logger,
        creating: () throws -> String, notice: String
    ) throws -> String {
        if !FileManager.default.fileExists(atPath: path) {
            if let variable {
                throw ServiceError(.notFound, "\(variable)=\(path): the file does not exist")
            }
            try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
            let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            guard descriptor >= 0 else {
                throw ServiceError(.invalidInput, "cannot create the file of \(what) \(path): errno \(errno)")
            }
            let text = try creating()
            let written = text.withCString { write(descriptor, $0, strlen($0)) }
            close(descriptor)
            guard written == text.utf8.count else {
                throw ServiceError(.invalidInput, "cannot write the file of \(what) \(path)")
            }
            logger.notice(notice, ["path": path])
        }
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ServiceError(.invalidInput, "cannot read the file of \(what) \(path): \(error.localizedDescription)")
        }
    }
}

extension AuditSealing {
    /// Seals signed with the configured audit signing key, appended to `AUDIT_SEAL_LOG`.
    package init(configuration: Configuration, logger: Logger) throws {
        self.init(
            key: try MasterKeySource.auditSigningKey(for: configuration, logger: logger),
            log: AuditSealLog(path: configuration.auditSealLogPath), logger: logger)
    }
}

extension TenantIdentitySetUp {
    /// The host's provisioner: its platform domain, the modules' tenant schema, data keys.
    package static func provisioner(
        _ configuration: Configuration, keyring: Keyring, logger: Logger
    ) -> TenantProvisioner {
        var provisioner = provisioner(
            platformDomain: configuration.platformDomain, tenantSchema: SchemaPlans.tenant, keyring: keyring,
            logger: logger)
        provisioner.allowsCustomDomains = configuration.customDomainSupport
        provisioner.placement = configuration.placementPolicy
        return provisioner
    }
}

extension ACMECertificates {
    /// The ACME settings from the host's configuration.
    package init(configuration: Configuration, logger: Logger) {
        self.init(options: configuration.acmeOptions, logger: logger)
    }
}

/// The configuration, read once, as each module's options.
extension Configuration {
    var apiOptions: APIOptions {
        APIOptions(
            platformDomain: platformDomain, tenantRateLimit: tenantRateLimit, userRateLimit: userRateLimit,
            apiKeyRateLimit: apiKeyRateLimit, loginRateLimit: loginRateLimit)
    }

    var adminOptions: AdminRoutes.Options {
        var options = AdminRoutes.Options(
            platformDomain: platformDomain, tenantSchema: SchemaPlans.tenant, dataDirectory: dataDirectory,
            customDomainSupport: customDomainSupport, domainLookup: DNSResolver.system(dnsResolver))
        options.placement = placementPolicy
        return options
    }

    /// `TENANT_PLACEMENT` as the provisioner's policy.
    var placementPolicy: TenantProvisioner.Placement {
        switch tenantPlacement {
        case TenantClusters.primary: .primary
        case "least-loaded": .leastLoaded(among: [TenantClusters.primary] + tenantClusters.keys.sorted())
        default: .cluster(tenantPlacement)
        }
    }

    var whiteLabelOptions: WhiteLabelInstances.Options {
        var options = WhiteLabelInstances.Options(
            platformDomain: platformDomain, tenantSchema: SchemaPlans.tenant,
            defaultRevenueSharePercent: partnerRevenueShareDefault, customDomainSupport: customDomainSupport)
        options.placement = placementPolicy
        return options
    }

    var tradeCheckRules: TradeCheckRules {
        var rules = TradeCheckRules()
        rules.referencePriceMaxAgeSeconds = referencePriceMaxAgeSeconds
        rules.fxRateMaxAgeSeconds = fxRateMaxAgeSeconds
        return rules
    }

    var acmeOptions: ACMECertificates.Options {
        ACMECertificates.Options(
            directoryURL: acmeDirectoryURL, email: acmeEmail, trustedCertificatesFile: acmeTrustedCertificatesFile,
            renewDays: acmeRenewDays, checkInterval: .seconds(acmeCheckSeconds), dataDirectory: dataDirectory)
    }
}
