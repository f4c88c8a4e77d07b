public import Foundation
import ScryptexCore
public import ScryptexCrypto
public import ScryptexPostgres
public import ScryptexTenancy

/// Tenant users, sessions, API keys and platform-admin keys; authentication of each request.
///
/// Everything about a tenant's principals lives in the tenant's own schema and is read and
/// written inside `TenantScope` transactions (the tenant's role and search path). Secrets are
/// stored only as hashes; e-mail addresses, names and MFA secrets only encrypted with the
/// tenant's data key (`Keyring`).
public struct IdentityService: Sendable {
    public struct Options: Sendable {
        public var sessionIdleTimeout: Duration = .seconds(30 * 60)
        public var sessionLifetime: Duration = .seconds(12 * 3600)
        public var backoff = LoginBackoff()
        public var hasher = PasswordHasher.interactive
        /// Failed-login and lockout attempts are audited; successful API-key use is not (too many).
        public init() {}
    }

    public let pool: PostgresConnectionPool
    public let keyring: Keyring
    public let options: Options
    /// Verified credentials for a few seconds; used only while it follows the change channel.
    public let credentials: CredentialCache

    public init(
        pool: PostgresConnectionPool, keyring: Keyring, options: Options = Options(),
        credentials: CredentialCache = CredentialCache()
    ) {
        self.pool = pool
        self.keyring = keyring
        self.options = options
        self.credentials = credentials
    }

    static let unauthenticated = ServiceError(.unauthenticated, "the credentials are not valid")

    // MARK: - Roles

    /// The permissions of role names in a tenant: built-in roles, then the tenant's custom roles.
    func permissions(of roleNames: [String], in transaction: PostgresTransaction) async throws -> Set<Permission> {
        var permissions = Set<Permission>()
        var custom: [String] = []
        for name in roleNames {
            if let role = Role.builtIn(named: name) {
                permissions.formUnion(role.permissions)
            } else {
                custom.append(name)
            }
        }
        if !custom.isEmpty {
            let rows = try await transaction.query(
                "SELECT permissions FROM custom_roles WHERE name = ANY(\(custom))")
            for row in rows {
                for raw in try row.decode("permissions", as: [String].self) {
                    if let permission = Permission(rawValue: raw) { permissions.insert(permission) }
                }
            }
        }
        return permissions
    }

    /// Checks that every role name exists (built in, or custom in this tenant).
    public func validateRoles(_ roleNames: [String], in transaction: PostgresTransaction) async throws {
        guard !roleNames.isEmpty else {
            throw ServiceError(.invalidInput, "field 'roles': at least one role is needed")
        }
        let custom = roleNames.filter { Role.builtIn(named: $0) == nil }
        guard !custom.isEmpty else { return }
        let rows = try await transaction.query("SELECT name FROM custom_roles WHERE name = ANY(\(custom))")
        let known = Set(try rows.map { try $0.decode("name", as: String.self) })
        if let unknown = custom.first(where: { !known.contains($0) }) {
            throw ServiceError(
                .invalidInput,
                "field 'roles': unknown role '\(unknown)'; built in: \(Role.builtIn.map(\.name).joined(separator: ", "))"
            )
        }
    }

    /// Refuses to hand out `roleNames` unless the grantor may: each role must exist, the owner
    /// role only from an owner, and every permission the roles carry must be the grantor's own.
    public func checkGrant(
        of roleNames: [String], by grantor: Grantor, in transaction: PostgresTransaction
    ) async throws {
        try await validateRoles(roleNames, in: transaction)
        if roleNames.contains(Role.owner.name), !grantor.isOwner {
            throw ServiceError(.forbidden, "only an owner can grant the owner role")
        }
        try grantor.checkHolds(
            try await permissions(of: roleNames, in: transaction),
            granting: "the roles \(roleNames.joined(separator: ", "))")
    }

    /// Defines (or redefines) a custom role from permissions, which the grantor must hold.
    public func defineRole(
        name: String, permissions: [String], definedBy grantor: Grantor, in transaction: PostgresTransaction
    ) async throws {
        guard Role.isValidName(name) else {
            throw ServiceError(.invalidInput, "field 'name': a role name is \(Role.nameRule)")
        }
        guard Role.builtIn(named: name) == nil else {
            throw ServiceError(.conflict, "field 'name': '\(name)' is a built-in role and cannot be redefined")
        }
        guard !permissions.isEmpty else {
            throw ServiceError(.invalidInput, "field 'permissions': a role needs at least one permission")
        }
        for permission in permissions where Permission(rawValue: permission) == nil {
            throw ServiceError(.invalidInput, "field 'permissions': unknown permission '\(permission)'")
        }
        try grantor.checkHolds(Set(permissions.compactMap(Permission.init(rawValue:))), granting: "the role '\(name)'")
        // Redefining a role changes what everyone holding it may do: only what the grantor could
        // also grant outright.
        let existing = try await self.permissions(of: [name], in: transaction)
        try grantor.checkHolds(existing, granting: "changing the role '\(name)'")
        try await transaction.execute(
            """
            INSERT INTO custom_roles (name, permissions) VALUES (\(name), \(permissions.sorted()))
            ON CONFLICT (name) DO UPDATE SET permissions = EXCLUDED.permissions
            """
        )
    }

    // MARK: - Users

    public struct NewUser: Sendable {
        public var email: String
        public var name: String?
        public var password: String
        public var role: String

        public init(email: String, name: String?, password: String, role: String) {
            self.email = email
            self.name = name
            self.password = password
            self.role = role
        }
    }

    public struct User: Sendable, Equatable {
        public var id: UUID
        public var email: String
        public var name: String?
        public var role: String
        public var status: String
        public var mfaEnabled: Bool
    }

    public static func normalizedEmail(_ email: String) throws -> String {
        let trimmed = email.trimmingCharacters(in: .whitespaces).lowercased()
        let parts = trimmed.split(separator: "@", omittingEmptySubsequences: false)
        guard trimmed.utf8.count <= 254, parts.count == 2, !parts[0].isEmpty, parts[1].contains("."),
            !parts[1].hasPrefix("."), !parts[1].hasSuffix("."), !trimmed.contains(where: { $0.isWhitespace })
        else {
            throw ServiceError(.invalidInput, "field 'email': not an e-mail address like name@example.com")
        }
        return trimmed
    }

    /// A first password for a new member, to hand over once: 20 characters from an alphabet
    /// without look-alikes (about 115 bits), drawn without bias.
    public static func newPassword() -> String {
        let alphabet = Array("abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        let unbiased = 256 - 256 % alphabet.count
        var password = ""
        while password.count < 20 {
            for byte in SecureRandom.bytes(count: 32) where Int(byte) < unbiased && password.count < 20 {
                password.append(alphabet[Int(byte) % alphabet.count])
            }
        }
        return password
    }

    public static func checkPassword(_ password: String) throws {
        guard (12...1024).contains(password.count) else {
            throw ServiceError(.invalidInput, "field 'password': a password needs 12 to 1024 characters")
        }
    }

    /// Creates a user in the tenant (inside `transaction`, which runs as the tenant), with a role
    /// the grantor may hand out.
    public func createUser(
        _ new: NewUser, keys: Keyring.TenantKeys, grantedBy grantor: Grantor, in transaction: PostgresTransaction
    ) async throws
        -> User
    {
        let email = try Self.normalizedEmail(new.email)
        try Self.checkPassword(new.password)
        if let name = new.name, !(1...200).contains(name.count) {
            throw ServiceError(.invalidInput, "field 'name': a name needs 1 to 200 characters")
        }
        try await checkGrant(of: [new.role], by: grantor, in: transaction)
        let hash = await options.hasher.hash(new.password)
        let rows: PostgresRows
        do {
            rows = try await transaction.query(
                """
                INSERT INTO users (email_lookup, email_encrypted, name_encrypted, password_hash, role)
                VALUES (\(keys.lookupHash(email, purpose: "email")), \(Data(keys.seal(email, field: "users.email"))),
                        \(keys.seal(new.name, field: "users.name").map { Data($0) }), \(hash), \(new.role))
                RETURNING id
                """
            )
        } catch let error as PostgresError where error.sqlState == .uniqueViolation {
            throw ServiceError(.conflict, "field 'email': a user with this e-mail address already exists")
        }
        return User(
            id: try rows.firstRow.decode("id", as: UUID.self), email: email, name: new.name, role: new.role,
            status: "active", mfaEnabled: false)
    }

    public func users(keys: Keyring.TenantKeys, in transaction: PostgresTransaction) async throws -> [User] {
        let rows = try await transaction.query(
            "SELECT id, email_encrypted, name_encrypted, role, status, mfa_enabled FROM users ORDER BY created_at")
        return try rows.map { try user(from: $0, keys: keys) }
    }

    func user(from row: PostgresRow, keys: Keyring.TenantKeys) throws -> User {
        User(
            id: try row.decode("id", as: UUID.self),
            email: try keys.open(Array(try row.decode("email_encrypted", as: Data.self)), field: "users.email"),
            name: try row.decode("name_encrypted", as: Data?.self).map {
                try keys.open(Array($0), field: "users.name")
            },
            role: try row.decode("role", as: String.self), status: try row.decode("status", as: String.self),
            mfaEnabled: try row.decode("mfa_enabled", as: Bool.self)
        )
    }

    // MARK: - Login and sessions

    public struct LoginOutcome: Sendable {
        public var token: SecretToken
        public var user: User
        public var expiresAt: Date
    }

    /// Signs a user in. Every failure throws the same `unauthenticated` error, whatever was
    /// wrong (unknown address, wrong password, missing or replayed code, locked account), and is
    /// audited inside the same transaction that records the failure count.
    public func logIn(
        email: String, password: String, code: String?, tenant: Tenant, requestID: String?, now: Date = Date()
    ) async throws -> LoginOutcome {
        guard password.utf8.count <= 4096, email.utf8.count <= 254, (code?.utf8.count ?? 0) <= 64 else {
            throw Self.unauthenticated
        }
        let keys = try await keyring.keys(for: tenant.id, on: pool)
        let normalized = (try? Self.normalizedEmail(email)) ?? email.lowercased()
        let lookup = keys.lookupHash(normalized, purpose: "email")
        let scope = TenantScope(tenant: tenant, pool: pool)
        let trail = AuditTrail(schema: tenant.schema)
        let found = try await scope.withTransaction { transaction in
            try await transaction.query(
                """
                SELECT id, email_encrypted, name_encrypted, role, status, mfa_enabled, password_hash,
                       mfa_secret_encrypted, mfa_last_step, failed_logins, locked_until > now() AS locked
                FROM users WHERE email_lookup = \(lookup)
                """
            ).first
        }
        guard let row = found else {
            await options.hasher.spendEquivalentTime(for: password)
            try await scope.withTransaction { transaction in
                try await trail.append(
                    AuditEvent(
                        actor: "anonymous", action: "login.failed", objectType: "user", requestID: requestID,
                        details: ["reason": "unknown_user"]), in: transaction)
            }
            throw Self.unauthenticated
        }
        let user = try user(from: row, keys: keys)
        let locked = try row.decode("locked", as: Bool?.self) ?? false
        let passwordMatches = await options.hasher.verify(
            password, against: try row.decode("password_hash", as: String.self))
        var reason: String?
        var matchedStep: Int64?
        var usedRecoveryCode: String?
        if locked {
            reason = "locked"
        } else if !passwordMatches {
            reason = "wrong_password"
        } else if user.status != "active" {
            reason = "disabled"
        } else if user.mfaEnabled {
            if let code, code.utf8.count == 6 || code.utf8.count == 8,
                let sealed = try row.decode("mfa_secret_encrypted", as: Data?.self)
            {
                let secret = try keys.open(Array(sealed), field: "users.mfa_secret")
                let totp = TimeBasedOneTimePassword(secret: Base32.decode(secret) ?? [])
                matchedStep = totp.matchingStep(
                    for: code, at: Int64(now.timeIntervalSince1970),
                    lastUsedStep: try row.decode("mfa_last_step", as: Int64?.self))
                if matchedStep == nil { reason = "wrong_or_replayed_code" }
            } else if let code, code.contains("-") {
                usedRecoveryCode = RecoveryCodes.hash(code)
            } else {
                reason = "code_required"
            }
        }
        let failures = try row.decode("failed_logins", as: Int32.self)
        let expires = now.addingTimeInterval(options.sessionLifetime.secondsValue)
        let token = SecretToken.generate(.session)
        let succeeded: Bool = try await scope.withTransaction { transaction in
            if reason == nil, let recovery = usedRecoveryCode {
                let used = try await transaction.execute(
                    """
                    UPDATE user_recovery_codes SET used_at = now()
                    WHERE user_id = \(user.id) AND code_hash = \(recovery) AND used_at IS NULL
                    """
                )
                if used == 0 { reason = "wrong_recovery_code" }
            }
            if let reason {
                let newFailures = Int(failures) + (reason == "locked" ? 0 : 1)
                let lock = options.backoff.lockout(afterFailures: newFailures)
                try await transaction.execute(
                    """
                    UPDATE users SET failed_logins = \(Int32(newFailures)),
                        locked_until = CASE WHEN \(lock.map { $0.secondsValue })::float8 IS NULL THEN locked_until
                                            ELSE now() + make_interval(secs => \(lock.map { $0.secondsValue })) END
                    WHERE id = \(user.id)
                    """
                )
                try await trail.append(
                    AuditEvent(
                        actor: "user:\(user.id.uuidString.lowercased())", action: "login.failed", objectType: "user",
                        objectID: user.id.uuidString.lowercased(), requestID: requestID,
                        details: ["reason": reason, "failures": String(newFailures)].merging(
                            lock.map { ["lockedForSeconds": String($0.components.seconds)] } ?? [:],
                            uniquingKeysWith: { $1 })
                    ),
                    in: transaction
                )
                return false
            }
            // The step is taken only if no concurrent login took it (or a later one) first: the
            // row lock makes the second of two simultaneous logins with one code re-read the
            // step the first wrote, and fail.
            let updated = try await transaction.execute(
                """
                UPDATE users SET failed_logins = 0, locked_until = NULL,
                    mfa_last_step = coalesce(\(matchedStep), mfa_last_step), updated_at = now()
                WHERE id = \(user.id)
                  AND (\(matchedStep)::bigint IS NULL OR mfa_last_step IS NULL OR mfa_last_step < \(matchedStep))
                """
            )
            if updated == 0 {
                try await trail.append(
                    AuditEvent(
                        actor: "user:\(user.id.uuidString.lowercased())", action: "login.failed", objectType: "user",
                        objectID: user.id.uuidString.lowercased(), requestID: requestID,
                        details: ["reason": "replayed_code"]),
                    in: transaction)
                return false
            }
            try await transaction.execute(
                """
                INSERT INTO sessions (token_prefix, secret_hash, user_id, mfa_verified, expires_at)
                VALUES (\(token.prefix), \(token.secretHash), \(user.id), \(user.mfaEnabled), \(expires))
                """
            )
            try await trail.append(
                AuditEvent(
                    actor: "user:\(user.id.uuidString.lowercased())", action: "login.succeeded", objectType: "session",
                    objectID: token.prefix, requestID: requestID,
                    details: ["mfa": user.mfaEnabled ? (usedRecoveryCode != nil ? "recovery_code" : "totp") : "none"]
                ),
                in: transaction
            )
            return true
        }
        guard succeeded else { throw Self.unauthenticated }
        return LoginOutcome(token: token, user: user, expiresAt: expires)
    }

    /// Ends a session.
    public func logOut(_ principal: Principal, tenant: Tenant, requestID: String?) async throws {
        guard let prefix = principal.sessionPrefix else { return }
        try await TenantScope(tenant: tenant, pool: pool).withTransaction { transaction in
            try await transaction.execute(
                "UPDATE sessions SET revoked_at = now() WHERE token_prefix = \(prefix) AND revoked_at IS NULL")
            try await AuditTrail(schema: tenant.schema).append(
                AuditEvent(
                    actor: principal.actor, action: "logout", objectType: "session", objectID: prefix,
                    requestID: requestID), in: transaction)
        }
        // Other hosts hear of it from the trigger's notification; this one forgets at once.
        credentials.invalidate(schema: tenant.schema.name)
    }

    // MARK: - MFA

    public struct Enrollment: Sendable {
        public var secret: String
        public var provisioningURI: String
    }

    /// Starts TOTP enrolment: a new secret, stored encrypted beside the current one, which stays
    /// in force until a code from the new one is confirmed.
    ///
    /// A user whose MFA is on must prove both factors again: the account's password and a current
    /// code from the authenticator in use (or an unused recovery code, which this spends).
    /// Otherwise a stolen session could replace the second factor.
    public func beginEnrollment(
        for principal: Principal, password: String?, code: String?, tenant: Tenant, requestID: String?,
        now: Date = Date()
    ) async throws -> Enrollment {
        guard principal.kind == .user else {
            throw ServiceError(.invalidInput, "an authenticator belongs to a signed-in user; API keys have none")
        }
        let keys = try await keyring.keys(for: tenant.id, on: pool)
        let scope = TenantScope(tenant: tenant, pool: pool)
        let current = try await scope.withTransaction { transaction in
            try await transaction.query(
                "SELECT mfa_enabled, password_hash, email_encrypted FROM users WHERE id = \(principal.id)"
            ).first
        }
        guard let current else { throw Self.unauthenticated }
        let email = try keys.open(Array(try current.decode("email_encrypted", as: Data.self)), field: "users.email")
        let reenrolling = try current.decode("mfa_enabled", as: Bool.self)
        if reenrolling {
            guard let password, password.utf8.count <= 4096, let code, code.utf8.count <= 64 else {
                throw ServiceError(
                    .invalidInput,
                    "fields 'password' and 'code': replacing an authenticator needs the password and a current code"
                        + " (or a recovery code)")
            }
            guard
                await options.hasher.verify(password, against: try current.decode("password_hash", as: String.self))
            else {
                try await auditRefusedEnrollment(
                    principal, reason: "wrong_password", tenant: tenant, requestID: requestID)
                throw ServiceError(.forbidden, "the password or the code is not valid")
            }
        }
        let secret = Base32.encode(TimeBasedOneTimePassword.generateSecret())
        let refused: String? = try await scope.withTransaction { transaction in
            if reenrolling, let code {
                if let reason = try await spendSecondFactor(
                    code, of: principal.id, keys: keys, now: now, in: transaction)
                {
                    return reason
                }
            }
            try await transaction.execute(
                """
                UPDATE users SET mfa_pending_secret_encrypted = \(Data(keys.seal(secret, field: "users.mfa_secret"))),
                    updated_at = now()
                WHERE id = \(principal.id)
                """
            )
            try await AuditTrail(schema: tenant.schema).append(
                AuditEvent(
                    actor: principal.actor, action: "mfa.enrollment_started", objectType: "user",
                    objectID: principal.id.uuidString.lowercased(), requestID: requestID,
                    details: ["replacing": reenrolling ? "true" : "false"]), in: transaction)
            return nil
        }
        if let refused {
            try await auditRefusedEnrollment(principal, reason: refused, tenant: tenant, requestID: requestID)
            throw ServiceError(.forbidden, "the password or the code is not valid")
        }
        let uri = TimeBasedOneTimePassword(secret: Base32.decode(secret)!).provisioningURI(
            issuer: tenant.displayName, account: email)
        return Enrollment(secret: secret, provisioningURI: uri)
    }

    /// Checks `code` against the user's authenticator in force, or as a recovery code, and spends
    /// it (the step, or the recovery code) in `transaction`; returns why it was refused, or nil.
    private func spendSecondFactor(
        _ code: String, of userID: UUID, keys: Keyring.TenantKeys, now: Date, in transaction: PostgresTransaction
    ) async throws -> String? {
        if code.contains("-") {
            let used = try await transaction.execute(
                """
                UPDATE user_recovery_codes SET used_at = now()
                WHERE user_id = \(userID) AND code_hash = \(RecoveryCodes.hash(code)) AND used_at IS NULL
                """
            )
            return used == 1 ? nil : "wrong_recovery_code"
        }
        let rows = try await transaction.query(
            "SELECT mfa_secret_encrypted, mfa_last_step FROM users WHERE id = \(userID) FOR UPDATE")
        guard let row = rows.first, let sealed = try row.decode("mfa_secret_encrypted", as: Data?.self) else {
            return "no_authenticator"
        }
        let secret = try keys.open(Array(sealed), field: "users.mfa_secret")
        guard
            let step = TimeBasedOneTimePassword(secret: Base32.decode(secret) ?? []).matchingStep(
                for: code, at: Int64(now.timeIntervalSince1970),
                lastUsedStep: try row.decode("mfa_last_step", as: Int64?.self))
        else { return "wrong_or_replayed_code" }
        try await transaction.execute("UPDATE users SET mfa_last_step = \(step) WHERE id = \(userID)")
        return nil
    }

    private func auditRefusedEnrollment(
        _ principal: Principal, reason: String, tenant: Tenant, requestID: String?
    ) async throws {
        try await TenantScope(tenant: tenant, pool: pool).withTransaction { transaction in
            try await AuditTrail(schema: tenant.schema).append(
                AuditEvent(
                    actor: principal.actor, action: "mfa.enrollment_refused", objectType: "user",
                    objectID: principal.id.uuidString.lowercased(), requestID: requestID, details: ["reason": reason]),
                in: transaction)
        }
    }

    /// Confirms enrolment with a current code from the new authenticator: it replaces the one in
    /// force (if any), MFA is on, and ten new recovery codes are returned, once.
    public func confirmEnrollment(
        code: String, for principal: Principal, tenant: Tenant, requestID: String?, now: Date = Date()
    )
        async throws -> [String]
    {
        let keys = try await keyring.keys(for: tenant.id, on: pool)
        return try await TenantScope(tenant: tenant, pool: pool).withTransaction { transaction in
            let rows = try await transaction.query(
                "SELECT mfa_pending_secret_encrypted FROM users WHERE id = \(principal.id) FOR UPDATE")
            guard let sealed = try rows.first?.decode("mfa_pending_secret_encrypted", as: Data?.self) else {
                throw ServiceError(.invalidInput, "no authenticator enrolment is in progress; start one first")
            }
            let secret = try keys.open(Array(sealed), field: "users.mfa_secret")
            let totp = TimeBasedOneTimePassword(secret: Base32.decode(secret) ?? [])
            guard let step = totp.matchingStep(for: code, at: Int64(now.timeIntervalSince1970), lastUsedStep: nil)
            else {
                throw ServiceError(.invalidInput, "field 'code': the code is not valid for this authenticator now")
            }
            let codes = RecoveryCodes.generate()
            try await transaction.execute(
                """
                UPDATE users SET mfa_secret_encrypted = mfa_pending_secret_encrypted,
                    mfa_pending_secret_encrypted = NULL, mfa_enabled = true, mfa_last_step = \(step),
                    updated_at = now()
                WHERE id = \(principal.id)
                """
            )
            try await transaction.execute("DELETE FROM user_recovery_codes WHERE user_id = \(principal.id)")
            for code in codes {
                try await transaction.execute(
                    "INSERT INTO user_recovery_codes (user_id, code_hash) VALUES (\(principal.id), \(RecoveryCodes.hash(code)))"
                )
            }
            try await transaction.execute(
                "UPDATE sessions SET mfa_verified = true WHERE token_prefix = \(principal.sessionPrefix ?? "")")
            try await AuditTrail(schema: tenant.schema).append(
                AuditEvent(
                    actor: principal.actor, action: "mfa.enabled", objectType: "user",
                    objectID: principal.id.uuidString.lowercased(), requestID: requestID), in: transaction)
            return codes
        }
    }

    // MARK: - API keys

    public struct APIKey: Sendable, Equatable {
        public var id: UUID
        public var prefix: String
        public var name: String
        public var roles: [String]
        public var createdBy: String
        public var createdAt: Date
        public var expiresAt: Date?
        public var revokedAt: Date?
        public var lastUsedAt: Date?
    }

    /// Creates an API key in the tenant (inside `transaction`) with roles the grantor may hand
    /// out; the token is returned only here.
    public func createAPIKey(
        name: String, roles: [String], expiresAt: Date?, grantedBy grantor: Grantor, requestID: String?,
        tenant: Tenant, in transaction: PostgresTransaction, now: Date = Date()
    ) async throws -> (SecretToken, APIKey) {
        let createdBy = grantor.actor
        guard (1...100).contains(name.count) else {
            throw ServiceError(.invalidInput, "field 'name': a key name needs 1 to 100 characters")
        }
        if let expiresAt, expiresAt <= now {
            throw ServiceError(.invalidInput, "field 'expiresAt': the expiry must be in the future")
        }
        try await checkGrant(of: roles, by: grantor, in: transaction)
        let token = SecretToken.generate(.apiKey)
        let rows = try await transaction.query(
            """
            INSERT INTO api_keys (prefix, secret_hash, name, roles, created_by, expires_at)
            VALUES (\(token.prefix), \(token.secretHash), \(name), \(roles), \(createdBy), \(expiresAt))
            RETURNING id, created_at
            """
        )
        try await AuditTrail(schema: tenant.schema).append(
            AuditEvent(
                actor: createdBy, action: "api_key.created", objectType: "api_key", objectID: token.prefix,
                requestID: requestID, details: ["roles": roles.joined(separator: ","), "name": name]),
            in: transaction)
        let key = APIKey(
            id: try rows.firstRow.decode("id", as: UUID.self), prefix: token.prefix, name: name, roles: roles,
            createdBy: createdBy, createdAt: try rows.firstRow.decode("created_at", as: Date.self), expiresAt: expiresAt
        )
        return (token, key)
    }

    public func apiKeys(in transaction: PostgresTransaction) async throws -> [APIKey] {
        let rows = try await transaction.query(
            """
            SELECT id, prefix, name, roles, created_by, created_at, expires_at, revoked_at, last_used_at
            FROM api_keys ORDER BY created_at
            """
        )
        return try rows.map { row in
            APIKey(
                id: try row.decode("id", as: UUID.self), prefix: try row.decode("prefix", as: String.self),
                name: try row.decode("name", as: String.self), roles: try row.decode("roles", as: [String].self),
                createdBy: try row.decode("created_by", as: String.self),
                createdAt: try row.decode("created_at", as: Date.self),
                expiresAt: try row.decode("expires_at", as: Date?.self),
                revokedAt: try row.decode("revoked_at", as: Date?.self),
                lastUsedAt: try row.decode("last_used_at", as: Date?.self))
        }
    }

    /// Revokes an API key by prefix; an owner's key only by an owner.
    public func revokeAPIKey(
        prefix: String, by grantor: Grantor, requestID: String?, tenant: Tenant, in transaction: PostgresTransaction
    )
        async throws
    {
        let actor = grantor.actor
        let rows = try await transaction.query(
            "SELECT roles FROM api_keys WHERE prefix = \(prefix) AND revoked_at IS NULL FOR UPDATE")
        guard let row = rows.first else { throw ServiceError(.notFound, "no active API key with prefix '\(prefix)'") }
        if try row.decode("roles", as: [String].self).contains(Role.owner.name), !grantor.isOwner {
            throw ServiceError(.forbidden, "only an owner can revoke an owner's key")
        }
        try await transaction.execute(
            "UPDATE api_keys SET revoked_at = now() WHERE prefix = \(prefix) AND revoked_at IS NULL")
        try await AuditTrail(schema: tenant.schema).append(
            AuditEvent(
                actor: actor, action: "api_key.revoked", objectType: "api_key", objectID: prefix, requestID: requestID),
            in: transaction)
    }

    // MARK: - Authentication

    /// The principal behind a bearer token or session token presented to a tenant's domain, or
    /// throws `unauthenticated` (the same answer whatever was wrong).
    public func authenticate(
        bearer: String?, sessionToken: String?, tenant: Tenant, now: Date = Date()
    ) async throws
        -> Principal
    {
        if let bearer {
            if let token = SecretToken(parsing: bearer, as: .apiKey) {
                return try await authenticateAPIKey(token, tenant: tenant)
            }
            if let token = SecretToken(parsing: bearer, as: .adminKey) {
                return try await authenticateBreakGlass(token, tenant: tenant)
            }
            throw Self.unauthenticated
        }
        if let sessionToken, let token = SecretToken(parsing: sessionToken, as: .session) {
            return try await authenticateSession(token, tenant: tenant)
        }
        throw Self.unauthenticated
    }

    private func authenticateAPIKey(_ token: SecretToken, tenant: Tenant) async throws -> Principal {
        if let known = credentials.principal(for: token.text, schema: tenant.schema.name) { return known }
        let generation = credentials.beginLookup()
        let (principal, expiresAt) = try await TenantScope(tenant: tenant, pool: pool).withTransaction {
            transaction in
            let rows = try await transaction.query(
                """
                SELECT id, secret_hash, roles, expires_at,
                       (revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())) AS usable,
                       (last_used_at IS NULL OR last_used_at < now() - interval '60 seconds') AS stale
                FROM api_keys WHERE prefix = \(token.prefix)
                """
            )
            guard let row = rows.first, token.matches(storedHash: try row.decode("secret_hash", as: String.self)),
                try row.decode("usable", as: Bool.self)
            else { throw Self.unauthenticated }
            let id = try row.decode("id", as: UUID.self)
            // Last use is kept to the minute: one write a minute per key, not one per request.
            if try row.decode("stale", as: Bool.self) {
                try await transaction.execute("UPDATE api_keys SET last_used_at = now() WHERE id = \(id)")
            }
            let roles = try row.decode("roles", as: [String].self)
            let principal = Principal(
                kind: .apiKey, id: id, tenantID: tenant.id, roleNames: roles,
                permissions: try await permissions(of: roles, in: transaction), actor: "api-key:" + token.prefix)
            return (principal, try row.decode("expires_at", as: Date?.self))
        }
        credentials.store(
            principal, for: token.text, schema: tenant.schema.name, generation: generation, validUntil: expiresAt)
        return principal
    }

    private func authenticateSession(_ token: SecretToken, tenant: Tenant) async throws -> Principal {
        if let known = credentials.principal(for: token.text, schema: tenant.schema.name) { return known }
        let generation = credentials.beginLookup()
        let (principal, expiresAt) = try await TenantScope(tenant: tenant, pool: pool).withTransaction {
            transaction in
            let rows = try await transaction.query(
                """
                SELECT s.secret_hash, s.user_id, s.mfa_verified, s.expires_at, u.role, u.mfa_enabled, u.status,
                       (s.revoked_at IS NULL AND s.expires_at > now()
                        AND s.last_seen_at > now() - make_interval(secs => \(options.sessionIdleTimeout.secondsValue))) AS usable
                FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_prefix = \(token.prefix)
                """
            )
            guard let row = rows.first, token.matches(storedHash: try row.decode("secret_hash", as: String.self)),
                try row.decode("usable", as: Bool.self), try row.decode("status", as: String.self) == "active"
            else { throw Self.unauthenticated }
            try await transaction.execute(
                "UPDATE sessions SET last_seen_at = now() WHERE token_prefix = \(token.prefix)")
            let userID = try row.decode("user_id", as: UUID.self)
            let role = try row.decode("role", as: String.self)
            let principal = Principal(
                kind: .user, id: userID, tenantID: tenant.id, roleNames: [role],
                permissions: try await permissions(of: [role], in: transaction),
                actor: "user:" + userID.uuidString.lowercased(), sessionPrefix: token.prefix)
            return (principal, try row.decode("expires_at", as: Date.self))
        }
        credentials.store(
            principal, for: token.text, schema: tenant.schema.name, generation: generation, validUntil: expiresAt)
        return principal
    }

    /// A platform admin on a tenant's domain: allowed only under an active break-glass grant for
    /// this tenant, and then read-only (`viewer` and audit permissions); each use is audited.
    private func authenticateBreakGlass(_ token: SecretToken, tenant: Tenant) async throws -> Principal {
        let admin = try await authenticateAdmin(token)
        let rows = try await pool.query(
            """
            SELECT id FROM platform.break_glass_grants
            WHERE admin_key_id = \(admin.id) AND tenant_id = \(tenant.id) AND expires_at > now()
            ORDER BY expires_at DESC LIMIT 1
            """
        )
        guard let grant = try rows.first?.decode("id", as: UUID.self) else {
            throw ServiceError(
                .forbidden, "platform admins have no access to a tenant's data without a break-glass grant")
        }
        var principal = admin
        principal.tenantID = tenant.id
        principal.roleNames = ["viewer"]
        principal.permissions = Role.viewer.permissions.union([
            .auditRead, .accountsRead, .complianceRead, .reportsRead,
        ])
        principal.actor += "+break-glass:" + grant.uuidString.lowercased()
        return principal
    }

    /// A platform-admin key presented on the platform domain.
    public func authenticateAdmin(bearer: String?) async throws -> Principal {
        guard let bearer, let token = SecretToken(parsing: bearer, as: .adminKey) else { throw Self.unauthenticated }
        return try await authenticateAdmin(token)
    }

    /// A platform admin by their key (`Authorization: Bearer sxa_…`) or, without one, by a
    /// console session cookie.
    public func authenticateAdmin(bearer: String?, consoleSession: String?) async throws -> Principal {
        if bearer == nil, let consoleSession { return try await authenticateAdminSession(consoleSession) }
        return try await authenticateAdmin(bearer: bearer)
    }

    private func authenticateAdmin(_ token: SecretToken) async throws -> Principal {
        let rows = try await pool.query(
            """
            SELECT id, secret_hash, (revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())) AS usable
            FROM platform.admin_api_keys WHERE prefix = \(token.prefix)
            """
        )
        guard let row = rows.first, token.matches(storedHash: try row.decode("secret_hash", as: String.self)),
            try row.decode("usable", as: Bool.self)
        else { throw Self.unauthenticated }
        return Principal(
            kind: .platformAdmin, id: try row.decode("id", as: UUID.self), tenantID: nil, roleNames: ["platform_admin"],
            permissions: [], actor: "platform-admin:" + token.prefix)
    }

    /// Creates a platform-admin key (CLI only); audited in the control plane's trail.
    public func createAdminKey(name: String, expiresAt: Date?) async throws -> SecretToken {
        guard (1...100).contains(name.count) else {
            throw ServiceError(.invalidInput, "the key name needs 1 to 100 characters")
        }
        let token = SecretToken.generate(.adminKey)
        try await pool.withTransaction { transaction in
            try await transaction.execute(
                """
                INSERT INTO platform.admin_api_keys (prefix, secret_hash, name, expires_at)
                VALUES (\(token.prefix), \(token.secretHash), \(name), \(expiresAt))
                """
            )
            try await AuditTrail(schema: SQLIdentifier(static: "platform")).append(
                AuditEvent(
                    actor: "operator", action: "admin_key.created", objectType: "admin_api_key", objectID: token.prefix,
                    details: ["name": name]),
                in: transaction)
        }
        return token
    }

    /// Grants a platform admin temporary read access to one tenant, recorded in both trails.
    public func grantBreakGlass(
        adminPrefix: String, tenant: Tenant, reason: String, duration: Duration, requestID: String?
    ) async throws -> UUID {
        guard reason.trimmingCharacters(in: .whitespaces).count >= 10 else {
            throw ServiceError(.invalidInput, "field 'reason': say why, in at least 10 characters")
        }
        guard duration > .zero, duration <= .seconds(8 * 3600) else {
            throw ServiceError(.invalidInput, "field 'minutes': a grant lasts 1 minute to 8 hours")
        }
        return try await pool.withTransaction { transaction in
            let rows = try await transaction.query(
                """
                INSERT INTO platform.break_glass_grants (admin_key_id, tenant_id, reason, expires_at)
                SELECT id, \(tenant.id), \(reason), now() + make_interval(secs => \(duration.secondsValue))
                FROM platform.admin_api_keys WHERE prefix = \(adminPrefix) AND revoked_at IS NULL
                RETURNING id
                """
            )
            guard let id = try rows.first?.decode("id", as: UUID.self) else {
                throw ServiceError(.notFound, "no active platform-admin key with prefix '\(adminPrefix)'")
            }
            let event = AuditEvent(
                actor: "platform-admin:" + adminPrefix, action: "break_glass.granted", objectType: "tenant",
                objectID: tenant.slug.value, requestID: requestID,
                details: [
                    "grant": id.uuidString.lowercased(), "reason": reason,
                    "seconds": String(duration.components.seconds),
                ])
            try await AuditTrail(schema: SQLIdentifier(static: "platform")).append(event, in: transaction)
            try await AuditTrail(schema: tenant.schema).append(event, in: transaction)
            return id
        }
    }
}

extension IdentityService {
    /// Whether `role` names a built-in role or one of this tenant's custom roles.
    public func roleExists(_ role: String, in transaction: PostgresTransaction) async throws -> Bool {
        do {
            try await validateRoles([role], in: transaction)
            return true
        } catch is ServiceError {
            return false
        }
    }
}

extension IdentityService {
    /// A role and what it permits.
    public struct RoleDefinition: Encodable, Sendable {
        public var name: String
        public var builtIn: Bool
        public var permissions: [String]
    }

    /// The built-in roles, then the tenant's custom roles by name.
    public func roles(in transaction: PostgresTransaction) async throws -> [RoleDefinition] {
        var roles = Role.builtIn.map {
            RoleDefinition(name: $0.name, builtIn: true, permissions: $0.permissions.sorted().map(\.rawValue))
        }
        for row in try await transaction.query("SELECT name, permissions FROM custom_roles ORDER BY name") {
            roles.append(
                RoleDefinition(
                    name: try row.decode("name", as: String.self), builtIn: false,
                    permissions: try row.decode("permissions", as: [String].self)))
        }
        return roles
    }

    /// People and keys active in the last 30 days: distinct users with a session seen, plus API
    /// keys used.
    public func activeUserCount(in transaction: PostgresTransaction) async throws -> Int {
        try await transaction.query(
            """
            SELECT (SELECT count(DISTINCT user_id) FROM sessions WHERE last_seen_at > now() - interval '30 days')
                 + (SELECT count(*) FROM api_keys WHERE last_used_at > now() - interval '30 days') AS n
            """
        ).firstRow.decode("n", as: Int.self)
    }
}
