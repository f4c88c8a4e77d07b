/// The release of this build, as `scryptex version` and the host's ready line report it.
public enum ScryptexVersion {
    public static let current = "0.1.0"
}
