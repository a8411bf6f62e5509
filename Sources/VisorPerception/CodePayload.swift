/// What a code's payload is, so the assistant can say something useful about it.
public enum CodePayloadKind: String, Sendable, Equatable {
    case url
    case wifi
    case contact
    case email
    case phone
    case geo
    case text

    /// Classifies by the payload's scheme, as phones' camera apps do.
    public init(payload: String) {
        let lower = payload.lowercased()
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") { self = .url }
        else if lower.hasPrefix("wifi:") { self = .wifi }
        else if lower.hasPrefix("begin:vcard") || lower.hasPrefix("mecard:") { self = .contact }
        else if lower.hasPrefix("mailto:") || lower.hasPrefix("matmsg:") { self = .email }
        else if lower.hasPrefix("tel:") || lower.hasPrefix("sms:") || lower.hasPrefix("smsto:") { self = .phone }
        else if lower.hasPrefix("geo:") { self = .geo }
        else if lower.hasPrefix("www.") && !lower.contains(" ") { self = .url }
        else { self = .text }
    }
}

/// The fields of a Wi-Fi QR payload (`WIFI:T:WPA;S:name;P:secret;;`), with `\` escapes undone.
public struct WiFiCredentials: Equatable, Sendable {
    public var ssid: String
    public var security: String
    public var password: String?
    public var hidden: Bool

    public init?(payload: String) {
        guard payload.lowercased().hasPrefix("wifi:") else { return nil }
        var fields: [String: String] = [:]
        var key = "", value = "", inValue = false, escaped = false
        for ch in payload.dropFirst(5) {
            if escaped { if inValue { value.append(ch) } else { key.append(ch) }; escaped = false; continue }
            switch ch {
            case "\\": escaped = true
            case ":" where !inValue: inValue = true
            case ";":
                if !key.isEmpty { fields[key.uppercased()] = value }
                key = ""; value = ""; inValue = false
            default: if inValue { value.append(ch) } else { key.append(ch) }
            }
        }
        guard let ssid = fields["S"] else { return nil }
        self.ssid = ssid
        security = fields["T"] ?? "nopass"
        password = fields["P"]
        hidden = fields["H"]?.lowercased() == "true"
    }
}
