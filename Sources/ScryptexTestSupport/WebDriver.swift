public import Foundation
import Glibc

/// A real browser under test: Debian's Chromium driven by its `chromedriver` through the W3C
/// WebDriver protocol (JSON over HTTP on loopback), headless, with a profile of its own.
///
/// The host's development certificates are accepted (`--ignore-certificate-errors`); TLS itself
/// is checked elsewhere with curl and `openssl s_client`.
public final class WebDriver: Sendable {
    public static let driverExecutable = "/usr/bin/chromedriver"
    public static let browserExecutable = "/usr/bin/chromium"

    private let driver: ChildProcess
    private let port: Int
    private let session: String
    private let profile: String

    public struct Failure: Error, CustomStringConvertible {
        public var description: String

        public init(description: String) {
            self.description = description
        }
    }

    /// Starts chromedriver and a browser session.
    public init(windowWidth: Int = 1280, windowHeight: Int = 900) async throws {
        port = try FreePort.tcp()
        profile = NSTemporaryDirectory() + "scryptex-webdriver-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        driver = try ChildProcess(Self.driverExecutable, ["--port=\(port)", "--allowed-ips=127.0.0.1"])
        var started = false
        for _ in 0..<100 where !started {
            started = (try? RawClient(port: port)) != nil
            if !started { try await Task.sleep(for: .milliseconds(100)) }
        }
        guard started else {
            driver.send(SIGKILL)
            throw Failure(description: "chromedriver did not start: \(driver.output.suffix(2000))")
        }
        let capabilities: [String: Any] = [
            "capabilities": [
                "alwaysMatch": [
                    "browserName": "chrome", "acceptInsecureCerts": true,
                    "goog:chromeOptions": [
                        "binary": Self.browserExecutable,
                        "args": [
                            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                            "--ignore-certificate-errors", "--user-data-dir=\(profile)",
                            "--window-size=\(windowWidth),\(windowHeight)",
                        ],
                    ],
                ]
            ]
        ]
        do {
            let answer = try Self.command(port: port, "POST", "/session", capabilities)
            guard let value = answer as? [String: Any], let id = value["sessionId"] as? String else {
                throw Failure(description: "no session in \(String(describing: answer))")
            }
            session = id
            // Elements are looked for during up to 3 s, as a page may still be loading.
            _ = try Self.command(port: port, "POST", "/session/\(id)/timeouts", ["implicit": 3000])
        } catch {
            driver.send(SIGKILL)
            throw error
        }
    }

    /// Ends the session and the driver.
    public func quit() {
        _ = try? Self.command(port: port, "DELETE", "/session/\(session)", nil)
        driver.send(SIGTERM)
        try? FileManager.default.removeItem(atPath: profile)
    }

    // MARK: Navigation and the page

    public func open(_ url: String) throws { _ = try command("POST", "url", ["url": url]) }

    public var currentURL: String { get throws { try command("GET", "url", nil) as? String ?? "" } }

    /// Waits up to `timeout` for the browser's address to satisfy `condition` (a navigation a
    /// form post started may still be under way).
    public func waitForURL(timeout: Duration = .seconds(5), _ condition: (String) -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition(try currentURL) { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return condition(try currentURL)
    }

    public var title: String { get throws { try command("GET", "title", nil) as? String ?? "" } }

    /// The page's document as the browser holds it now.
    public var pageSource: String { get throws { try command("GET", "source", nil) as? String ?? "" } }

    /// The visible text of the whole page.
    public var text: String { get throws { try self.text(of: try element("body")) } }

    /// A PNG of the viewport.
    public func screenshot() throws -> Data {
        guard let encoded = try command("GET", "screenshot", nil) as? String, let data = Data(base64Encoded: encoded)
        else { throw Failure(description: "the screenshot was not base64 PNG") }
        return data
    }

    // MARK: Elements

    /// The first element `selector` (CSS) matches; throws when none does.
    public func element(_ selector: String) throws -> String {
        let found = try command("POST", "element", ["using": "css selector", "value": selector])
        guard let object = found as? [String: Any], let id = object.values.first as? String else {
            throw Failure(description: "no element matches \(selector)")
        }
        return id
    }

    public func elements(_ selector: String) throws -> [String] {
        let found = try command("POST", "elements", ["using": "css selector", "value": selector])
        return (found as? [[String: Any]] ?? []).compactMap { $0.values.first as? String }
    }

    /// Types `text` into the field `selector`, after clearing it.
    public func type(_ text: String, into selector: String) throws {
        let id = try element(selector)
        _ = try command("POST", "element/\(id)/clear", [:])
        _ = try command("POST", "element/\(id)/value", ["text": text])
    }

    /// Chooses the option of the `<select>` `selector` whose value is `value`.
    public func choose(_ value: String, in selector: String) throws {
        try click("\(selector) option[value=\"\(value)\"]")
    }

    public func click(_ selector: String) throws {
        _ = try command("POST", "element/\(try element(selector))/click", [:])
    }

    /// Clicks a link or a form's button and waits (up to 10 s) for the page it leads to: the
    /// document the click left must be gone and the new one loaded.
    public func follow(_ selector: String) async throws {
        let target = try element(selector)
        let old = try element("html")
        _ = try command("POST", "element/\(target)/click", [:])
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            do {
                _ = try command("GET", "element/\(old)/name", nil)
            } catch let failure as Failure
                where failure.description.contains("stale element")
                || failure.description.contains("does not belong to the document")
            {
                // The document the click left is gone (Chromium says so either way).
                if try execute("return document.readyState") as? String == "complete" { return }
            }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw Failure(description: "clicking \(selector) led to no new page within 10 s")
    }

    public func text(of element: String) throws -> String {
        try command("GET", "element/\(element)/text", nil) as? String ?? ""
    }

    public func attribute(_ name: String, of selector: String) throws -> String? {
        try command("GET", "element/\(try element(selector))/attribute/\(name)", nil) as? String
    }

    /// The value of a CSS property as the browser computed it (`rgb(11, 61, 145)` for a colour).
    public func cssValue(_ property: String, of selector: String) throws -> String {
        try command("GET", "element/\(try element(selector))/css/\(property)", nil) as? String ?? ""
    }

    /// Runs `script` in the page (WebDriver's own channel, not the page's scripts).
    @discardableResult
    public func execute(_ script: String) throws -> Any? {
        try command("POST", "execute/sync", ["script": script, "args": [Any]()])
    }

    /// The browser's cookies for the current page, HttpOnly ones included.
    public func cookies() throws -> [String: String] {
        var cookies: [String: String] = [:]
        for cookie in try command("GET", "cookie", nil) as? [[String: Any]] ?? [] {
            if let name = cookie["name"] as? String, let value = cookie["value"] as? String { cookies[name] = value }
        }
        return cookies
    }

    // MARK: Protocol

    private func command(_ method: String, _ path: String, _ body: [String: Any]?) throws -> Any? {
        try Self.command(port: port, method, "/session/\(session)/\(path)", body)
    }

    private static func headEnd(in bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 3..<bytes.count
        where bytes[index - 3] == 13 && bytes[index - 2] == 10 && bytes[index - 1] == 13 && bytes[index] == 10 {
            return index + 1
        }
        return nil
    }

    private static func command(port: Int, _ method: String, _ path: String, _ body: [String: Any]?) throws -> Any? {
        let payload = try body.map { try JSONSerialization.data(withJSONObject: $0) } ?? Data()
        let client = try RawClient(port: port, timeoutSeconds: 60)
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        if body != nil {
            head += "Content-Type: application/json; charset=utf-8\r\nContent-Length: \(payload.count)\r\n"
        }
        client.send(Array((head + "\r\n").utf8) + Array(payload))
        // chromedriver keeps the connection open whatever the request says: read the head, then
        // exactly Content-Length bytes.
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var bodyStart: Int?
        var length: Int?
        while bodyStart == nil || received.count < bodyStart! + (length ?? 0) {
            let count = buffer.withUnsafeMutableBytes { recv(client.descriptor, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { break }
            received.append(contentsOf: buffer[0..<count])
            if bodyStart == nil, let end = Self.headEnd(in: received) {
                bodyStart = end
                let headText = String(decoding: received[..<end], as: UTF8.self).lowercased()
                guard let line = headText.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
                    let value = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces))
                else {
                    throw Failure(description: "\(method) \(path): chromedriver sent no Content-Length")
                }
                length = value
            }
        }
        guard let bodyStart, let length, received.count >= bodyStart + length else {
            throw Failure(description: "\(method) \(path): no whole answer from chromedriver")
        }
        let text = String(decoding: received[bodyStart..<(bodyStart + length)], as: UTF8.self)
        guard let json = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]),
            let object = json as? [String: Any]
        else { throw Failure(description: "\(method) \(path): not JSON: \(text.prefix(500))") }
        let value = object["value"]
        if let failure = value as? [String: Any], let error = failure["error"] as? String {
            throw Failure(description: "\(method) \(path): \(error): \(failure["message"] as? String ?? "")")
        }
        return value is NSNull ? nil : value
    }
}
